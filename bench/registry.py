"""`python -m bench.registry [--subjects 5000] [--cycles 10] [--interval 30]`: the Schema Registry
part of a cycle.

Starts Apicurio Registry (the test harness's, in memory on loopback), registers `--subjects`
Avro subjects (every tenth with a second version, every twentieth with compatibility NONE), then
times the registry source and the registry collectors with the default settings (budget
`refresh_budget_seconds` 0.5 s, deadline `timeout_seconds` 10 s, `cold_read_concurrency` 4
unless `--cold-read-concurrency` says otherwise), the source told the exporter's interval
(`--interval`): the cold polls of a fresh source, one every `--interval` seconds as the
exporter's cycle, until no listed subject is unread; then `--cycles` warm polls, each after two
registrations (a new version, a new subject) and one compatibility change, so the new-id probe,
the reads in the poll and the refresh between polls do real work. Before each poll the bench
waits `--interval` seconds from the poll before, ending the wait early once the reader between
polls is idle (the cold read, then the refresh of `refresh_per_cycle` subjects: the next poll is
the one that finds its work). Prints every poll (its time, requests, subjects read in the poll
and between polls before it, subjects still unread) and writes JSON
(`bench/results/registry.json` by default).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.run import git_commit
from exporter.collectors.base import CycleData
from exporter.collectors.registry_health import RegistryHealthCollector
from exporter.collectors.registry_subjects import RegistrySubjectsCollector
from exporter.config import Config, SchemaRegistryConfig
from exporter.snapshot import SnapshotBuilder
from exporter.sources.registry import SchemaRegistrySource
from exporter.sources.registry_model import RegistryError
from harness.procs import HarnessError
from harness.registry import SchemaRegistry, fetch

RESULTS = Path(__file__).resolve().parent / "results"
COLD_POLLS_MAX = 2000


def schema(i: int, extra: bool = False) -> dict[str, object]:
    fields: list[dict[str, object]] = [{"name": "id", "type": "long"}]
    if extra:
        fields.append({"name": "note", "type": "string", "default": ""})
    return {"type": "record", "name": f"R{i}", "namespace": "bench", "fields": fields}


@dataclass(frozen=True, slots=True)
class Poll:
    kind: str
    seconds: float
    source_seconds: float
    collect_seconds: float
    requests: int
    refreshed: int
    read_between: int
    """Subjects read between the poll before and this one (never read, or read again)."""
    subjects: int
    """Subjects listed."""
    unread: int
    """Subjects listed whose details were not read yet."""


def again(call: Callable[[], object], tries: int = 3) -> None:
    """`call`, tried again after a second when the registry drops the request (it does, now and
    then, under load); registering the same schema again is harmless."""
    for attempt in range(1, tries + 1):
        try:
            call()
            return
        except HarnessError:
            if attempt == tries:
                raise
            time.sleep(1.0)


def populate(registry: SchemaRegistry, n: int, workers: int = 4) -> float:
    t0 = time.monotonic()

    def one(i: int) -> None:
        subject = f"bench-{i:05d}-value"
        again(lambda: registry.register(subject, schema(i)))
        if i % 10 == 0:
            again(lambda: registry.register(subject, schema(i, extra=True)))
        if i % 20 == 0:
            again(lambda: registry.set_compatibility("NONE", subject))

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, range(n)))
    return time.monotonic() - t0


def poll(source: SchemaRegistrySource, collectors: list[object], kind: str) -> Poll:
    t0 = time.monotonic()
    reading = source.read()
    t1 = time.monotonic()
    data = CycleData(now=time.time(), schema_registry=reading)
    for c in collectors:
        c.collect(data, SnapshotBuilder())  # type: ignore[attr-defined]
    t2 = time.monotonic()
    return Poll(kind, t2 - t0, t1 - t0, t2 - t1, reading.requests, reading.refreshed,
                reading.read_between, len(reading.listed), reading.unread)  # fmt: skip


def wait_between(source: SchemaRegistrySource, since: float, interval: float) -> float:
    """Waits until `interval` seconds after `since`, or less once the reader between polls is
    idle; returns the time waited ends (monotonic)."""
    end = since + interval
    while source.reading_between_polls and time.monotonic() < end:
        time.sleep(0.02)
    return time.monotonic()


def cold_polls(
    source: SchemaRegistrySource, collectors: list[object], n: int, interval: float
) -> list[Poll]:
    """Polls until every listed subject is read, as the exporter's first cycles after a start do:
    one every `interval` seconds, sooner once the reader between polls is idle (at most
    COLD_POLLS_MAX polls; a failed poll is recorded and the next one goes on)."""
    polls: list[Poll] = []
    t0 = time.monotonic()
    while len(polls) < COLD_POLLS_MAX:
        if polls:
            wait_between(source, t0, interval)
        t0 = time.monotonic()
        try:
            polls.append(poll(source, collectors, "cold"))
        except RegistryError as exc:
            print(f"cold poll {len(polls) + 1}: {exc}", file=sys.stderr)
            took = time.monotonic() - t0
            polls.append(Poll("failed", took, took, 0.0, 0, 0, 0, 0, -1))
            continue
        if polls[-1].subjects == n and polls[-1].unread == 0:
            break
    return polls


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.registry", description=__doc__)
    parser.add_argument("--subjects", type=int, default=5000)
    parser.add_argument("--cycles", type=int, default=10)
    parser.add_argument(
        "--interval",
        type=float,
        default=30.0,
        help="seconds from one cold poll to the next (poll.interval_seconds)",
    )
    parser.add_argument("--cold-read-concurrency", type=int,
                        default=SchemaRegistryConfig().cold_read_concurrency)  # fmt: skip
    parser.add_argument("--json", type=Path, default=RESULTS / "registry.json")
    args = parser.parse_args(argv)
    try:
        fetch()
        registry = SchemaRegistry().start()
        registry.request_timeout = 120.0
    except HarnessError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    try:
        try:
            populate_seconds = populate(registry, args.subjects)
        except HarnessError as exc:
            print(f"error: registering the subjects: {exc}", file=sys.stderr)
            return 1
        load_start = os.getloadavg()[0]
        cfg = SchemaRegistryConfig(url=registry.url,
                                   cold_read_concurrency=args.cold_read_concurrency)  # fmt: skip
        config = Config(schema_registry=cfg)
        source = SchemaRegistrySource(cfg, interval=args.interval)
        collectors: list[object] = [RegistryHealthCollector(config),
                                    RegistrySubjectsCollector(config)]  # fmt: skip
        cold_t0 = time.monotonic()
        polls = cold_polls(source, collectors, args.subjects, args.interval)
        cold_wall = time.monotonic() - cold_t0
        load_cold = os.getloadavg()[0]
        if polls[-1].subjects != args.subjects or polls[-1].unread != 0:
            print(f"error: {polls[-1].unread} of {polls[-1].subjects} listed subjects unread "
                  f"({args.subjects} registered) after {len(polls)} polls",
                  file=sys.stderr)  # fmt: skip
            return 1
        t0 = time.monotonic()
        for c in range(args.cycles):
            t0 = wait_between(source, t0, args.interval)
            registry.register(f"bench-{c:05d}-value", schema(c, extra=c % 10 != 0))
            registry.register(f"bench-new-{c}", schema(c))
            registry.set_compatibility("FULL", f"bench-{c + 1:05d}-value")
            polls.append(poll(source, collectors, "warm"))
        source.close()
    finally:
        registry.stop()
    warm = [p.seconds for p in polls if p.kind == "warm"]
    cold = [p.seconds for p in polls if p.kind != "warm"]
    result = {
        "subjects": args.subjects,
        "commit": git_commit(),
        "registry_start_seconds": round(registry.start_seconds, 2),
        "populate_seconds": round(populate_seconds, 1),
        "polls": [asdict(p) for p in polls],
        "cold_polls": len(cold),
        "cold_failed": sum(p.kind == "failed" for p in polls),
        "cold_median_seconds": statistics.median(cold),
        "cold_max_seconds": max(cold),
        "cold_total_seconds": sum(cold),
        "cold_wall_seconds": round(cold_wall, 1),
        "interval_seconds": args.interval,
        "cold_read_concurrency": args.cold_read_concurrency,
        "load1_cold_end": round(load_cold, 1),
        "warm_median_seconds": statistics.median(warm) if warm else None,
        "warm_max_seconds": max(warm) if warm else None,
        "load1_start": round(load_start, 1),
        "load1": round(os.getloadavg()[0], 1),
    }
    print(f"registry start {registry.start_seconds:.1f} s, {args.subjects} subjects registered "
          f"in {populate_seconds:.1f} s")  # fmt: skip
    print(f"{'poll':<6}{'total s':>9}{'source s':>10}{'collect s':>11}{'requests':>10}"
          f"{'in poll':>9}{'between':>9}{'subjects':>10}{'unread':>8}")  # fmt: skip
    for p in polls:
        print(f"{p.kind:<6}{p.seconds:>9.3f}{p.source_seconds:>10.3f}{p.collect_seconds:>11.3f}"
              f"{p.requests:>10}{p.refreshed:>9}{p.read_between:>9}{p.subjects:>10}"
              f"{p.unread:>8}")  # fmt: skip
    print(f"cold polls: {len(cold)} until none unread ({result['cold_failed']} failed), "
          f"median {statistics.median(cold):.3f} s, max {max(cold):.3f} s, "
          f"{sum(cold):.1f} s in all; {cold_wall:.1f} s of wall time at --interval "
          f"{args.interval:g}, cold_read_concurrency {args.cold_read_concurrency}")  # fmt: skip
    if warm:
        print(f"warm polls: median {statistics.median(warm):.3f} s, max {max(warm):.3f} s")
    print(
        f"load average (1 min): {result['load1_start']} before the polls, "
        f"{result['load1_cold_end']} after the cold read, {result['load1']} at the end"
    )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
