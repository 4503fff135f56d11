"""`python -m bench.isolation [--scenario medium] [--rounds 3] [--cycles 4]`: what the Admin API
client's child process costs.

Against the scenario's real broker, the same poll cycles run with the AdminSource in the
exporter's process and in its supervised child (`exporter.sources.supervised`), alternating
round by round so a loaded machine weighs on both alike, each run in a fresh process. Per
variant: cycle wall time (median, max) and the memory after the cycles: the polling process's
RSS, and the child's. Writes
bench/results/isolation-<scenario>.json and prints a table.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench import broker as broker_mod
from bench.probe import memory_mib
from bench.scenarios import SCENARIOS
from exporter.config import Config, KafkaConfig, PollConfig
from exporter.poller import Poller
from exporter.sources.admin import AdminSource
from exporter.sources.supervised import SupervisedAdmin

RESULTS = Path(__file__).resolve().parent / "results"


def _variant(config: Config, isolated: bool, cycles: int) -> dict[str, Any]:
    admin: AdminSource | SupervisedAdmin = (
        SupervisedAdmin(config) if isolated else AdminSource(config)
    )
    poller = Poller(config, admin=admin)
    try:
        poller.poll_once()  # warm-up: describe cache, interned labels
        times = []
        for _ in range(cycles):
            t0 = time.monotonic()
            snapshot = poller.poll_once()
            times.append(time.monotonic() - t0)
            assert all(s.ok for s in poller.last_stages), poller.last_stages
        child = admin.client.pid if isinstance(admin, SupervisedAdmin) else None
        return {
            "cycle_median_s": statistics.median(times),
            "cycle_max_s": max(times),
            "series": snapshot.series_count,
            "rss_mib": memory_mib(os.getpid())[0],
            "child_rss_mib": memory_mib(child)[0] if child else 0.0,
        }
    finally:
        poller.stop()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.isolation", description=__doc__)
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), default="medium")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cycles", type=int, default=4)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--one", choices=("in-process", "child"), help=argparse.SUPPRESS)
    parser.add_argument("--bootstrap", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if args.one:  # one variant in this fresh process; the result as the last line
        config = Config(
            kafka=KafkaConfig(bootstrap_servers=args.bootstrap),
            poll=PollConfig(stage_timeout_seconds=120),
        )
        print(json.dumps(_variant(config, args.one == "child", args.cycles)))
        return 0
    scenario = SCENARIOS[args.scenario]
    b = broker_mod.start(scenario)
    try:
        rounds: list[dict[str, Any]] = []
        for r in range(args.rounds):
            for variant in ("in-process", "child") if r % 2 == 0 else ("child", "in-process"):
                run = subprocess.run(
                    [sys.executable, "-m", "bench.isolation", "--one", variant, "--bootstrap",
                     b.bootstrap, "--cycles", str(args.cycles)],
                    capture_output=True, text=True, timeout=1800, check=True,
                )  # fmt: skip
                got = json.loads(run.stdout.strip().splitlines()[-1])
                got.update(round=r, variant=variant)
                rounds.append(got)
                print(json.dumps(got))
    finally:
        b.stop()
    result: dict[str, Any] = {"scenario": scenario.name, "load": os.getloadavg(), "runs": rounds}
    for name in ("in-process", "child"):
        runs = [r for r in rounds if r["variant"] == name]
        result[name] = {
            key: statistics.median(r[key] for r in runs)
            for key in ("cycle_median_s", "cycle_max_s", "rss_mib", "child_rss_mib")
        }
    inproc, child = result["in-process"], result["child"]
    result["cycle_ratio"] = child["cycle_median_s"] / inproc["cycle_median_s"]
    print(f"\n{'variant':<12} {'cycle median':>13} {'cycle max':>10} {'RSS':>9} {'child RSS':>10}")
    for name in ("in-process", "child"):
        v = result[name]
        print(f"{name:<12} {v['cycle_median_s']:>12.3f}s {v['cycle_max_s']:>9.3f}s "
              f"{v['rss_mib']:>7.0f}Mi {v['child_rss_mib']:>8.0f}Mi")  # fmt: skip
    print(f"cycle time ratio child / in-process: {result['cycle_ratio']:.2f}")
    out = args.json or RESULTS / f"isolation-{scenario.name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
