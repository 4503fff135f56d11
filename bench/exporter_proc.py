"""The real `kafka-vitals serve` as a subprocess, and the cycles it completes, seen from outside.

A cycle is seen when the exposition changes (a HEAD request's gzip Content-Length, polled every
few tens of milliseconds); the new exposition then gives the cycle's start time
(`kafka_vitals_last_poll_timestamp_seconds`) and its stage durations
(`kafka_vitals_poll_duration_seconds{stage}`). Publication time minus start time is the full
cycle, rendering and compression included.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import probe
from harness import procs

POLL_DURATION = "kafka_vitals_poll_duration_seconds"
LAST_POLL = "kafka_vitals_last_poll_timestamp_seconds"
SERIES = "kafka_vitals_series"
LAG_FAMILY = "kafka_consumergroup_lag"


def console_script() -> str:
    path = shutil.which("kafka-vitals", path=str(Path(sys.executable).parent))
    if path is None:
        raise RuntimeError(
            "the kafka-vitals console script is not installed next to this Python: run "
            "`make setup` (or .venv/bin/pip install -e '.[test]')"
        )
    return path


@dataclass(frozen=True, slots=True)
class Cycle:
    started_at: float
    published_at: float
    stages: dict[str, float]
    series: int
    plain_bytes: int
    gzip_bytes: int
    cpu_seconds: float
    """Exporter CPU since the previous publication (None-like 0.0 for the first)."""
    rss_mib: float
    load: tuple[float, float, float]
    lag_series: int = 0
    """Series of `kafka_consumergroup_lag` in the publication (`kafka_vitals_series`)."""

    @property
    def full_seconds(self) -> float:
        return self.published_at - self.started_at


class Exporter:
    """One `kafka-vitals serve` process on a free loopback port."""

    def __init__(self, work: Path, config: dict[str, Any], source: Path | None = None) -> None:
        """`source`: run the exporter package from this source tree instead (A/B comparisons)."""
        (self.port,) = procs.free_ports(1)
        config = {**config, "web": {"listen_address": f"127.0.0.1:{self.port}"}}
        work.mkdir(parents=True, exist_ok=True)
        self.config_path = work / "kafka-vitals.yaml"
        self.config_path.write_text(json.dumps(config, indent=2) + "\n")
        self.log_path = work / "kafka-vitals.log"
        self.log_path.unlink(missing_ok=True)
        self.interval = float(config["poll"]["interval_seconds"])
        self.proc = procs.spawn(
            "kafka-vitals",
            [console_script(), "serve", "--config", str(self.config_path)],
            log_path=self.log_path,
            ports=[self.port],
            env={**os.environ, "PYTHONPATH": str(source)} if source is not None else None,
        )
        self._log_offset = 0
        self._last_started = 0.0
        self._last_cpu = 0.0

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait_serving(self, timeout: float = 60.0) -> None:
        procs.wait_for(
            lambda: probe.head_length(self.port) > 0,
            timeout,
            "kafka-vitals to serve /metrics",
            interval=0.2,
            check=self._check_alive,
        )

    def _check_alive(self) -> None:
        if not self.proc.alive():
            raise RuntimeError(f"kafka-vitals exited; last output:\n{self.proc.log_tail(20)}")

    def next_cycle(self, timeout: float) -> Cycle:
        """Wait for the next published exposition that comes from a new cycle."""
        try:
            cycle = self._next_cycle(time.monotonic() + timeout)
        except OSError:
            self._check_alive()  # a crash explains the error better than the socket does
            raise
        if cycle is None:
            raise RuntimeError(f"no new poll cycle within {timeout:.0f}s; log: {self.log_path}")
        return cycle

    def _next_cycle(self, deadline: float) -> Cycle | None:
        while time.monotonic() < deadline:
            self._check_alive()
            published = self._published()
            if published is None:
                time.sleep(0.02)
                continue
            taken_at, published_at = published
            cpu = probe.cpu_seconds(self.pid)
            rss, _ = probe.memory_mib(self.pid)
            exposition = probe.fetch(self.port)
            started = exposition.value(LAST_POLL)
            if started is None or started == self._last_started or taken_at == 0.0:
                continue  # the start-up exposition, or the same cycle
            self._last_started = started
            cpu_delta = cpu - self._last_cpu if self._last_cpu else 0.0
            self._last_cpu = cpu
            return Cycle(
                started_at=started,
                published_at=published_at,
                stages=exposition.by_label(POLL_DURATION, "stage"),
                series=exposition.series,
                plain_bytes=exposition.plain_bytes,
                gzip_bytes=exposition.gzip_bytes,
                cpu_seconds=cpu_delta,
                rss_mib=rss,
                load=probe.load_average(),
                lag_series=int(exposition.value(SERIES, family=LAG_FAMILY) or 0),
            )
        return None

    def _published(self) -> tuple[float, float] | None:
        """(taken_at, published at) of the newest publication logged since the last call.

        Publications are read from the exporter's debug log line, not by probing /metrics: a
        probe every few milliseconds during the cycle would take the interpreter from the poller
        thread and slow the very cycle it times."""
        with self.log_path.open("rb") as f:
            f.seek(self._log_offset)
            chunk = f.read()
        end = chunk.rfind(b"\n") + 1
        self._log_offset += end
        newest = None
        for line in chunk[:end].splitlines():
            if b"exposition published" not in line:
                continue
            try:
                record = json.loads(line)
                newest = (float(record["taken_at"]), float(record["at"]))
            except (ValueError, KeyError):
                continue
        return newest

    def seconds_to_next_cycle(self) -> float:
        return self._last_started + self.interval - time.time()

    def stop(self) -> None:
        self.proc.stop(30.0)
