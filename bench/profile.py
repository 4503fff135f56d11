"""Profile poll cycles in-process: `python -m bench.profile --scenario large [--cycles 3]`.

Starts the scenario's broker (cached like `python -m bench`), runs the exporter's own `Poller`
and `Renderer` in this process for a warm-up cycle and then N cycles under cProfile, and prints
the wall time of each part (admin stages, collectors, snapshot build, render) and the functions
with the most cumulative and own time. The profile is saved for `python -m pstats`.
"""

from __future__ import annotations

import argparse
import cProfile
import logging
import pstats
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from bench import broker as broker_mod
from bench.scenarios import SCENARIOS
from exporter.config import Config, KafkaConfig, PollConfig
from exporter.poller import Poller
from exporter.render import Renderer
from exporter.snapshot import Snapshot

RESULTS = Path(__file__).resolve().parent / "results"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), default="large")
    parser.add_argument("--cycles", type=int, default=2)
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    s = SCENARIOS[args.scenario]
    b = broker_mod.start(s)
    try:
        config = Config(
            kafka=KafkaConfig(bootstrap_servers=b.bootstrap),
            poll=PollConfig(interval_seconds=3600.0, stage_timeout_seconds=120.0),
        )
        renderer = Renderer()
        rendered: list[float] = []

        def publish(snapshot: Snapshot) -> None:
            t0 = time.perf_counter()
            exposition = renderer.render(snapshot)
            exposition.body(openmetrics=False, gzipped=True)  # as a Prometheus scraping it asks
            rendered.append(time.perf_counter() - t0)

        poller = Poller(config, on_snapshot=publish, runners=[])
        try:
            _cycle(poller, rendered, "warm-up")
            profiler = cProfile.Profile()
            for i in range(args.cycles):
                profiler.enable()
                _cycle(poller, rendered, f"cycle {i + 1}")
                profiler.disable()
        finally:
            poller.stop()
    finally:
        b.stop()
    path = RESULTS / f"profile-{s.name}.prof"
    path.parent.mkdir(parents=True, exist_ok=True)
    profiler.dump_stats(str(path))
    stats = pstats.Stats(profiler, stream=sys.stdout)
    stats.sort_stats("cumulative").print_stats(args.top)
    stats.sort_stats("tottime").print_stats(args.top)
    print(f"profile: {path}")
    return 0


def _cycle(poller: Poller, rendered: list[float], label: str) -> None:
    t0 = time.perf_counter()
    snapshot = poller.poll_once()
    total = time.perf_counter() - t0
    stages = " ".join(f"{o.stage}={o.seconds:.2f}" for o in poller.last_stages)
    print(
        f"{label}: total={total:.2f}s render={rendered[-1]:.2f}s "
        f"series={snapshot.series_count} {stages}",
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(main())
