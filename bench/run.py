"""One benchmark run: broker, floor, the real exporter's cycles and scrapes, the synthetic case.

The order inside a run:
1. the scenario's broker starts (its data reused from the cache when it matches);
2. `kafka-vitals serve` starts; its first cycle is a warm-up (cold caches, topic configs read);
3. each measured cycle is followed, while the exporter is idle until its next cycle, by one run
   of the floor (the bare Admin API calls), so that both see the same machine load;
4. scrapes (1 and 10 concurrent scrapers, gzipped and plain) run right after a publication, each
   within the idle time before the next cycle;
5. RSS and peak RSS of the exporter are read, it is stopped, the broker is stopped gracefully
   (after the warm-up and after each cycle, every body a scraper can ask for is asked for once,
   so that every render makes all four and the memory is that of an exporter every kind of
   scraper reads: text and OpenMetrics, plain and gzip);
6. the synthetic case: the real renderer and web server serving N series without Kafka.
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from confluent_kafka import libversion
from confluent_kafka.admin import AdminClient

from bench import broker as broker_mod
from bench import floor, probe, scenarios
from bench.exporter_proc import Cycle, Exporter
from bench.scenarios import Scenario
from exporter.config import PollConfig
from exporter.sources.group_cache import DescribeCache
from harness import procs

COMBOS = ((1, True), (10, True), (1, False), (10, False))
"""(concurrent scrapers, gzip) timed in each case."""


@dataclass(frozen=True, slots=True)
class Options:
    scenario: Scenario
    cycles: int
    work: Path
    jmx: bool = True
    fresh: bool = False
    synthetic_series: int = 100_000
    scrape_seconds: float = 5.0
    scrape_requests: int = 300
    floor_runs: int = 3
    exporter_source: Path | None = None
    """Run the exporter from this source tree (e.g. a checkout of an older commit)."""
    poll: tuple[tuple[str, float], ...] = ()
    """Overrides of the exporter's `poll` settings (the floor follows the window and batch)."""
    lag_seconds_mode: str = "interpolated"
    """The exporter's `poll.lag_seconds_mode` (exact reads the messages at lagging offsets)."""
    lagging_fraction: float | None = None
    """Share of the groups (and committed partitions) behind the log end, the others at it; None:
    the scenario's own offsets, behind everywhere."""
    move_lagging: bool = False
    """Commit the lagging groups' offsets one further back or forward after every cycle, so that
    each cycle sees them move (as consumers running behind do) and exact mode reads them again."""

    def poll_setting(self, key: str, default: float) -> float:
        return dict(self.poll).get(key, default)


def summary(values: list[float]) -> dict[str, float]:
    if not values:
        return {"median": 0.0, "max": 0.0, "min": 0.0}
    return {
        "median": round(statistics.median(values), 4),
        "max": round(max(values), 4),
        "min": round(min(values), 4),
    }


def exporter_config(o: Options, b: broker_mod.Broker) -> dict[str, Any]:
    config: dict[str, Any] = {
        "kafka": {"bootstrap_servers": b.bootstrap},
        "poll": {
            "interval_seconds": o.scenario.interval_seconds,
            "stage_timeout_seconds": 60.0,
            "lag_seconds_mode": o.lag_seconds_mode,
            **dict(o.poll),
        },
        # debug: the bench reads each publication from the log (see `exporter_proc`)
        "log": {"level": "debug", "format": "json"},
    }
    if o.jmx:
        config["jmx"] = {"targets": [{"url": b.jmx_url, "role": "broker", "name": "broker-1"}]}
    return config


def _cycle_dict(c: Cycle) -> dict[str, Any]:
    d = asdict(c)
    d["full_seconds"] = round(c.full_seconds, 4)
    return d


def run_floor(o: Options, client: floor.FloorClient, cache: DescribeCache) -> dict[str, Any]:
    defaults = PollConfig()
    out: dict[str, Any] = floor.measure(
        client,
        cache,
        describe_batch=int(o.poll_setting("describe_batch_size", defaults.describe_batch_size)),
        in_flight=int(o.poll_setting("offsets_in_flight", defaults.offsets_in_flight)),
    )
    out["load"] = probe.load_average()
    return out


def measure_cycles(
    o: Options,
    exporter: Exporter,
    floor_client: floor.FloorClient,
    floor_cache: DescribeCache,
    moves: list[float],
) -> tuple[Cycle, list[Cycle], list[dict[str, Any]]]:
    wait = o.scenario.interval_seconds + 900.0
    warmup = exporter.next_cycle(wait)
    probe.ask_every_body(exporter.port)
    move = _mover(o, floor_client, moves)
    move(1)
    cycles: list[Cycle] = []
    floors: list[dict[str, Any]] = []
    for i in range(o.cycles):
        cycle = exporter.next_cycle(wait)
        probe.ask_every_body(exporter.port)
        cycles.append(cycle)
        move(i % 2)
        estimate = floors[-1]["total"] if floors else cycle.stages.get("cycle", 1.0)
        if len(floors) < o.floor_runs and exporter.seconds_to_next_cycle() > 1.5 * estimate + 1:
            floors.append(run_floor(o, floor_client, floor_cache))
    return warmup, cycles, floors


def _mover(o: Options, client: AdminClient, moves: list[float]) -> Callable[[int], None]:
    """`move(back)`: commits the lagging groups' offsets `back` further behind (with
    `--move-lagging`), its seconds appended to `moves`; else nothing."""
    if not o.move_lagging:
        return lambda _back: None
    groups = scenarios.lagging_groups(o.scenario, o.lagging_fraction)

    def move(back: int) -> None:
        t0 = time.monotonic()
        scenarios.commit_offsets(client, o.scenario, o.lagging_fraction, groups=groups, back=back)
        moves.append(time.monotonic() - t0)

    return move


def measure_scrapes(o: Options, exporter: Exporter | None, port: int) -> list[dict[str, Any]]:
    runs: list[dict[str, Any]] = []
    for concurrency, gzipped in COMBOS:
        budget = o.scrape_seconds
        if exporter is not None:
            if exporter.seconds_to_next_cycle() < min(budget, 1.0) + 1.0:
                exporter.next_cycle(exporter.interval + 900.0)
            budget = min(budget, exporter.seconds_to_next_cycle() - 1.0)
        run = probe.scrape(
            port,
            concurrency=concurrency,
            gzipped=gzipped,
            max_requests=o.scrape_requests if concurrency == 1 else 2 * o.scrape_requests,
            max_seconds=max(0.5, budget),
        )
        runs.append(run.as_dict())
    return runs


def _header(scenario: dict[str, Any]) -> dict[str, Any]:
    return {
        "scenario": scenario,
        "command": "python -m bench " + " ".join(sys.argv[1:]),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "librdkafka": libversion()[0],
        },
        "load": {"start": probe.load_average()},
    }


def run_synthetic_only(o: Options) -> dict[str, Any]:
    """Only the synthetic case: no broker, no poll cycles."""
    result = _header({"name": "synthetic"})
    result["synthetic"] = run_synthetic(o)
    result["load"]["end"] = probe.load_average()
    return result


def run_scenario(o: Options) -> dict[str, Any]:
    s = o.scenario
    result = _header(asdict(s))
    result["exporter_source"] = str(o.exporter_source or "")
    t0 = time.monotonic()
    result["lagging"] = lagging_section(o)
    moves: list[float] = []
    b = broker_mod.start(s, fresh=o.fresh, lagging_fraction=o.lagging_fraction)
    result["setup"] = {
        "reused": b.reused,
        "seconds": {k: round(v, 2) for k, v in b.setup_seconds.items()},
        "total_seconds": round(time.monotonic() - t0, 2),
    }
    try:
        floor_client = floor.client(b.bootstrap)
        refresh = PollConfig().empty_group_describe_seconds
        floor_cache = DescribeCache(o.poll_setting("empty_group_describe_seconds", refresh))
        run_floor(o, floor_client, floor_cache)  # a warm-up, as the exporter's first cycle is
        exporter = Exporter(o.work / s.name, exporter_config(o, b), o.exporter_source)
        try:
            exporter.wait_serving()
            warmup, cycles, floors = measure_cycles(o, exporter, floor_client, floor_cache, moves)
            scrapes = measure_scrapes(o, exporter, exporter.port)
            rss, hwm = probe.memory_mib(exporter.pid)
        finally:
            exporter.stop()
        while len(floors) < o.floor_runs:
            floors.append(run_floor(o, floor_client, floor_cache))
    finally:
        b.stop()
    result["cycles"] = cycles_section(warmup, cycles)
    result["lagging"]["move_seconds"] = summary(moves) if moves else None
    result["floor"] = {
        "runs": floors,
        "total": summary([f["total"] for f in floors]),
        "cpu_seconds": summary([f["cpu_seconds"] for f in floors]),
        "steps": {k: summary([f[k] for f in floors]) for k in floor.STEPS},
    }
    full = result["cycles"]["full_seconds"]["median"]
    result["ratio_to_floor"] = round(full / result["floor"]["total"]["median"], 3)
    last = cycles[-1]
    result["series"] = last.series
    result["response_bytes"] = {"plain": last.plain_bytes, "gzip": last.gzip_bytes}
    result["scrape"] = scrapes
    result["memory_mib"] = {"rss": round(rss, 1), "hwm": round(hwm, 1)}
    jmx = [c.stages["jmx"] for c in cycles if "jmx" in c.stages]
    result["jmx_poll_seconds"] = summary(jmx) if jmx else None
    if o.synthetic_series > 0:
        result["synthetic"] = run_synthetic(o)
    result["load"]["end"] = probe.load_average()
    return result


def lagging_section(o: Options) -> dict[str, Any]:
    """The committed layout: the fraction asked for and the partitions it puts behind."""
    s, f = o.scenario, o.lagging_fraction
    behind = sum(
        1
        for g in range(s.groups)
        for p in range(s.partitions)
        if s.committed_offset(g, p, f) < s.messages
    )
    return {
        "fraction": f,
        "partitions": behind,
        "lag_seconds_mode": o.lag_seconds_mode,
        "moved": o.move_lagging,
    }


def cycles_section(warmup: Cycle, cycles: list[Cycle]) -> dict[str, Any]:
    stages = sorted({k for c in cycles for k in c.stages})
    return {
        "warmup": _cycle_dict(warmup),
        "measured": [_cycle_dict(c) for c in cycles],
        "full_seconds": summary([c.full_seconds for c in cycles]),
        "stages": {k: summary([c.stages[k] for c in cycles if k in c.stages]) for k in stages},
        "after_cycle_stage_seconds": summary(
            [c.full_seconds - c.stages.get("cycle", 0.0) for c in cycles]
        ),
        "cpu_seconds_per_cycle": summary([c.cpu_seconds for c in cycles]),
        "rss_mib": summary([c.rss_mib for c in cycles]),
    }


def run_synthetic(o: Options) -> dict[str, Any]:
    """Serve N synthetic series from a separate process and time scrapes of it."""
    (port,) = procs.free_ports(1)
    log_path = o.work / "synthetic.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_path.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "bench.synthetic", "--series", str(o.synthetic_series),
           "--port", str(port)]  # fmt: skip
    t0 = time.monotonic()
    proc = procs.spawn("bench-synthetic", cmd, log_path=log_path, ports=[port],
                       cwd=Path(__file__).resolve().parents[1])  # fmt: skip
    try:
        line = procs.wait_for(
            lambda: next((x for x in log_path.read_text().splitlines() if "serving" in x), None),
            600.0,
            "the synthetic exporter to serve",
            interval=0.2,
            check=lambda: _alive(proc, log_path),
        )
        ready_seconds = time.monotonic() - t0
        facts = dict(kv.split("=", 1) for kv in line.split()[1:])
        exposition = probe.fetch(port)
        scrapes = measure_scrapes(o, None, port)
        rss, hwm = probe.memory_mib(proc.pid)
    finally:
        proc.stop(30.0)
    return {
        "series": int(facts["series"]),
        "ready_seconds": round(ready_seconds, 2),
        "first_render_seconds": float(facts["first_render_seconds"]),
        "render_seconds": float(facts["render_seconds"]),
        "response_bytes": {"plain": exposition.plain_bytes, "gzip": exposition.gzip_bytes},
        "scrape": scrapes,
        "memory_mib": {"rss": round(rss, 1), "hwm": round(hwm, 1)},
    }


def _alive(proc: procs.Managed, log_path: Path) -> None:
    if not proc.alive():
        raise RuntimeError(f"the synthetic exporter exited:\n{procs.tail(log_path, 20)}")


def git_commit() -> str:
    try:
        done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, timeout=10, check=False)  # fmt: skip
    except OSError:
        return ""
    return done.stdout.strip()
