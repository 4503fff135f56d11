"""A running `kafka-vitals serve` seen from outside: start it with a YAML config, scrape and parse
/metrics with a bounded timeout, and count its threads and open file descriptors."""

from __future__ import annotations

import http.client
import os
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from prometheus_client.parser import text_string_to_metric_families

from harness import procs
from harness.procs import wait_for
from tests import cli_run


@dataclass(frozen=True, slots=True)
class Sample:
    name: str
    labels: Mapping[str, str]
    value: float


class Scrape:
    """One parsed /metrics answer, and how long it took."""

    def __init__(self, text: str, seconds: float) -> None:
        self.text = text
        self.seconds = seconds
        self.samples = [
            Sample(s.name, dict(s.labels), float(s.value))
            for family in text_string_to_metric_families(text)
            for s in family.samples
        ]

    def values(self, name: str, **labels: str) -> list[float]:
        return [s.value for s in self.samples if s.name == name and _match(s.labels, labels)]

    def value(self, name: str, **labels: str) -> float | None:
        found = self.values(name, **labels)
        return found[0] if len(found) == 1 else None

    def names(self) -> set[str]:
        return {s.name for s in self.samples}

    def up(self, source: str = "admin", target: str = "") -> float | None:
        return self.value("kafka_vitals_up", source=source, target=target)

    def errors(self) -> dict[str, float]:
        """kafka_vitals_poll_errors_total by stage."""
        return {
            s.labels["stage"]: s.value
            for s in self.samples
            if s.name == "kafka_vitals_poll_errors_total"
        }


def _match(have: Mapping[str, str], want: Mapping[str, str]) -> bool:
    """Label match; the exposition leaves out empty labels, so a missing label equals ""."""
    return all(have.get(k, "") == v for k, v in want.items())


class Exporter:
    """`kafka-vitals serve --config FILE` in a subprocess on a free loopback port."""

    def __init__(
        self,
        tmp_path: Path,
        config: Mapping[str, Any],
        env: Mapping[str, str] | None = None,
        *,
        tls_ca: Path | None = None,
    ) -> None:
        """`tls_ca`: the web endpoint serves TLS with a certificate from this CA."""
        self.dir = tmp_path
        self.tls_ca = tls_ca
        self.config_path = tmp_path / "kafka-vitals.yml"
        self.config_path.write_text(yaml.safe_dump(dict(config), sort_keys=False))
        self.process, self.port = cli_run.spawn_serve(
            tmp_path, "--config", str(self.config_path), env=env
        )
        try:
            wait_for(
                lambda: self.get("/healthz", timeout=1.0)[0] == 200,
                60,
                "kafka-vitals serve to answer /healthz",
                check=self._check_alive,
            )
        except BaseException:
            self.stop()
            raise

    @property
    def log_path(self) -> Path:
        return self.dir / "serve.log"

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def _check_alive(self) -> None:
        if not self.process.alive():
            raise procs.HarnessError(f"kafka-vitals serve exited:\n{self.process.log_tail()}")

    def get(self, path: str, timeout: float = 1.0, **headers: str) -> tuple[int, bytes]:
        if self.tls_ca is None:
            return cli_run.get(self.port, path, timeout=timeout, **headers)
        ctx = ssl.create_default_context(cafile=str(self.tls_ca))
        conn = http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout, context=ctx)
        return cli_run.request(conn, path, headers)

    def scrape(self, timeout: float = 1.0) -> Scrape:
        """/metrics within `timeout` seconds (a slower answer raises)."""
        t0 = time.monotonic()
        status, body = self.get("/metrics", timeout=timeout)
        seconds = time.monotonic() - t0
        if status != 200:
            raise AssertionError(f"/metrics answered {status}")
        return Scrape(body.decode(), seconds)

    def wait_scrape(self, what: str, condition: Callable[[Scrape], bool], timeout: float) -> Scrape:
        """The first scrape for which `condition` holds; every scrape must answer within 1 s."""

        def attempt() -> Scrape | None:
            self._check_alive()
            got = self.scrape()
            return got if condition(got) else None

        return wait_for(attempt, timeout, what, interval=0.5)

    def threads(self) -> int:
        return len(os.listdir(f"/proc/{self.process.pid}/task"))

    def fds(self) -> int:
        return len(os.listdir(f"/proc/{self.process.pid}/fd"))

    def cmdline(self) -> str:
        return Path(f"/proc/{self.process.pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()

    def stop(self) -> None:
        self.process.stop(30.0)
