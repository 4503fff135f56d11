"""`python -m bench.committed --scenario medium|large [--cycles N]`: committed offsets from the
`__consumer_offsets` log against the Admin API, in the same run, on the scenario's broker.

For each mode (`committed_offsets.source: admin`, then `log`) one `kafka-vitals serve` runs
without JMX against the same broker and data: start-up (process start to the first publication
with data; with the log, the log's own load time too), then N measured cycles: full cycle time
(start to publication) after the warm-up cycles (`warm_up`: each mode measured from its third
cycle with lag series), the `committed` stage, the exporter's CPU and RSS (every body a scraper
can ask for asked for after each cycle, so each render makes all four), and the broker
process's CPU time between two publications (one poll interval: the cycle plus the idle time
after it, the log reader's fetches included). Prints a table and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench import broker as broker_mod
from bench import probe
from bench.exporter_proc import Cycle, Exporter
from bench.run import Options, exporter_config
from bench.scenarios import SCENARIOS, Scenario
from harness.procs import HarnessError

RESULTS = Path(__file__).resolve().parent / "results"
MODES = ("admin", "log")


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 4) if values else 0.0


WARMUP_MAX = 5
"""Warm-up cycles at most, after the first publication (see `warm_up`)."""


def warm_up(exporter: Exporter, first: Cycle, wait: float) -> list[float]:
    """Cycles run before the measured ones, until two publications with lag series have been
    made (the first publication counts; at most `WARMUP_MAX`); their full-cycle seconds.

    So both modes are measured from their third cycle with lag series: with the Admin API the
    first publication has them, and the cycle after it is the warm-up; with the log, the first
    publication usually comes before the log is read to its end and has none (readiness), the
    next is the first with them, which builds every lag series, status window and rendered line
    for the first time (a start-up cost), and the one after it is the warm-up."""
    out: list[float] = []
    with_lag = 1 if first.lag_series else 0
    while with_lag < 2 and len(out) < WARMUP_MAX:
        cycle = exporter.next_cycle(wait)
        probe.ask_every_body(exporter.port)
        out.append(round(cycle.full_seconds, 4))
        with_lag += 1 if cycle.lag_series else 0
    return out


def measure_mode(
    s: Scenario, b: broker_mod.Broker, mode: str, cycles: int, work: Path
) -> dict[str, Any]:
    config = exporter_config(Options(scenario=s, cycles=cycles, work=work, jmx=False), b)
    config["committed_offsets"] = {"source": mode}
    proc = b.cluster.nodes[0].process
    assert proc is not None
    t0 = time.monotonic()
    exporter = Exporter(work / f"{s.name}-{mode}", config)
    wait = s.interval_seconds + 900.0
    try:
        exporter.wait_serving()
        first = exporter.next_cycle(wait)
        startup = time.monotonic() - t0
        load = probe.fetch(exporter.port).value("kafka_vitals_offsets_log_load_seconds")
        probe.ask_every_body(exporter.port)  # every render makes all four bodies from now on
        warmup = warm_up(exporter, first, wait)
        measured = []
        broker_cpu = []
        last_cpu = probe.cpu_seconds(proc.pid)
        for _ in range(cycles):
            cycle = exporter.next_cycle(wait)
            cpu = probe.cpu_seconds(proc.pid)
            broker_cpu.append(cpu - last_cpu)
            last_cpu = cpu
            probe.ask_every_body(exporter.port)
            measured.append(cycle)
        rss, hwm = probe.memory_mib(exporter.pid)
    finally:
        exporter.stop()
    return {
        "mode": mode,
        "startup_seconds": round(startup, 2),
        "first_cycle_series": first.series,
        "warmup_seconds": warmup,
        "offsets_log_load_seconds": load,
        "full_seconds": [round(c.full_seconds, 4) for c in measured],
        "full_seconds_median": _median([c.full_seconds for c in measured]),
        "committed_stage_median": _median([c.stages.get("committed", 0.0) for c in measured]),
        "cycle_stage_median": _median([c.stages.get("cycle", 0.0) for c in measured]),
        "exporter_cpu_per_interval": _median([c.cpu_seconds for c in measured]),
        "broker_cpu_per_interval": _median(broker_cpu),
        "series": measured[-1].series,
        "rss_mib": round(rss, 1),
        "hwm_mib": round(hwm, 1),
        "load": probe.load_average(),
    }


def run(s: Scenario, cycles: int, work: Path) -> dict[str, Any]:
    t0 = time.monotonic()
    b = broker_mod.start(s)
    result: dict[str, Any] = {
        "scenario": s.name,
        "command": "python -m bench.committed " + " ".join(sys.argv[1:]),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "broker_setup_seconds": round(time.monotonic() - t0, 1),
        "load_start": probe.load_average(),
    }
    try:
        result["modes"] = {m: measure_mode(s, b, m, cycles, work) for m in MODES}
    finally:
        b.stop()
    admin, log_ = result["modes"]["admin"], result["modes"]["log"]
    if admin["full_seconds_median"]:
        result["log_to_admin_ratio"] = round(
            log_["full_seconds_median"] / admin["full_seconds_median"], 3
        )
    return result


def table(result: dict[str, Any]) -> str:
    rows = [
        ("start-up to first data (s)", "startup_seconds"),
        ("offsets log read at start (s)", "offsets_log_load_seconds"),
        ("warm-up cycles (s)", "warmup_seconds"),
        ("full cycle, median (s)", "full_seconds_median"),
        ("committed stage, median (s)", "committed_stage_median"),
        ("exporter CPU per interval (s)", "exporter_cpu_per_interval"),
        ("broker CPU per interval (s)", "broker_cpu_per_interval"),
        ("series", "series"),
        ("RSS / peak (MiB)", "rss_mib"),
    ]
    modes = result["modes"]
    lines = [f"scenario {result['scenario']}: " + " | ".join(MODES)]
    for title, key in rows:
        cells = []
        for m in MODES:
            v = modes[m].get(key)
            cells.append(f"{v} / {modes[m]['hwm_mib']}" if key == "rss_mib" else str(v))
        lines.append(f"{title:32} " + " | ".join(cells))
    lines.append(f"log / admin full cycle: {result.get('log_to_admin_ratio')}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.committed", description=__doc__)
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), default="medium")
    parser.add_argument("--cycles", type=int, default=4)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    s = SCENARIOS[args.scenario]
    work = RESULTS / "work"
    try:
        result = run(s, max(1, args.cycles), work)
    except (HarnessError, RuntimeError) as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    print(table(result))
    path = args.json or RESULTS / f"committed-{s.name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
