"""`python -m bench --scenario small|medium|large [--cycles N] [--json PATH]`: run, print, save.

See `--help` for the rest (poll settings, lag-in-seconds mode, lagging fraction, A/B source)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from bench import report
from bench.run import Options, git_commit, run_scenario, run_synthetic_only
from bench.scenarios import SCENARIOS
from harness.procs import HarnessError

RESULTS = Path(__file__).resolve().parent / "results"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmark kafka-vitals against a real local broker (see docs/benchmarks.md).",
    )
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), default="small")
    parser.add_argument("--cycles", type=int, help="poll cycles to measure after the warm-up")
    parser.add_argument("--json", type=Path, help="where to write the result (default: "
                        "bench/results/<scenario>.json)")  # fmt: skip
    parser.add_argument("--no-jmx", action="store_true", help="do not poll the broker's JMX")
    parser.add_argument("--fresh", action="store_true", help="lay the scenario out anew")
    parser.add_argument("--synthetic-series", type=int, default=100_000,
                        help="series of the synthetic case (0: skip it)")  # fmt: skip
    parser.add_argument("--synthetic-only", action="store_true",
                        help="only the synthetic case (no broker)")  # fmt: skip
    parser.add_argument("--scrape-seconds", type=float, default=5.0,
                        help="time limit of each scrape measurement")  # fmt: skip
    parser.add_argument("--poll", action="append", default=[], metavar="KEY=VALUE",
                        help="set a `poll` setting of the exporter, e.g. offsets_in_flight=64 "
                        "(the floor uses the same window and batch size)")  # fmt: skip
    parser.add_argument("--lag-seconds-mode", choices=("interpolated", "exact", "auto"),
                        default="interpolated",
                        help="the exporter's poll.lag_seconds_mode")  # fmt: skip
    parser.add_argument("--lagging-fraction", type=float, metavar="F",
                        help="commit only this share (0 to 1) of the groups behind the log "
                        "end (all their partitions), the others at it (default: all)")  # fmt: skip
    parser.add_argument("--move-lagging", action="store_true",
                        help="move the lagging groups' offsets by one after every cycle (with "
                        "--lagging-fraction), so each cycle sees them move")  # fmt: skip
    parser.add_argument("--exporter-source", type=Path, metavar="DIR",
                        help="run the exporter from this source tree (A/B runs)")  # fmt: skip
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    scenario = SCENARIOS[args.scenario]
    cycles = args.cycles if args.cycles is not None else scenario.cycles
    if cycles < 1 or args.synthetic_series < 0 or args.scrape_seconds <= 0:
        parser.error("--cycles must be >= 1, --synthetic-series >= 0, --scrape-seconds > 0")
    if args.lagging_fraction is not None and not 0.0 <= args.lagging_fraction <= 1.0:
        parser.error(f"--lagging-fraction {args.lagging_fraction}: expected 0 to 1")
    if args.move_lagging and args.lagging_fraction is None:
        parser.error("--move-lagging needs --lagging-fraction")
    poll: list[tuple[str, float]] = []
    for item in args.poll:
        key, sep, value = item.partition("=")
        try:
            number = float(value)
            poll.append((key.strip(), int(number) if number.is_integer() else number))
        except ValueError:
            sep = ""
        if not sep or not key.strip():
            parser.error(f"--poll {item!r}: expected KEY=NUMBER")
    options = Options(
        poll=tuple(poll),
        lag_seconds_mode=args.lag_seconds_mode,
        lagging_fraction=args.lagging_fraction,
        move_lagging=args.move_lagging,
        exporter_source=args.exporter_source.resolve() if args.exporter_source else None,
        scenario=scenario,
        cycles=cycles,
        work=RESULTS / "work",
        jmx=not args.no_jmx,
        fresh=args.fresh,
        synthetic_series=args.synthetic_series,
        scrape_seconds=args.scrape_seconds,
    )
    try:
        result = run_synthetic_only(options) if args.synthetic_only else run_scenario(options)
    except (HarnessError, RuntimeError, OSError) as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
        return 130
    result["commit"] = git_commit()
    result["targets"] = report.evaluate(result)
    name = "synthetic" if args.synthetic_only else scenario.name
    path = args.json or RESULTS / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    print(report.render(result))
    print(f"\nresult: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
