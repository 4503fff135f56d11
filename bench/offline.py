"""CPU of a cycle's in-process work, without Kafka: `python -m bench.offline --scenario large`.

Builds a `ClusterView` of the scenario's shape (topics, partitions, Empty groups with committed
offsets; log-end and committed offsets moving from cycle to cycle, or with `--still` staying as
they are, as in the Kafka scenarios where no client runs), then runs the exporter's `Poller` on
it with a stand-in admin source, for a warm-up and N cycles, and prints the CPU seconds of every
collector, of the snapshot build and of the render. This isolates what the exporter adds on top
of the Admin API calls, and is steady enough to compare code changes on a loaded machine.

Every cycle asks for every body a scraper can ask for (text and OpenMetrics, plain and gzip, as
the web server does: `--bodies one` asks only for gzipped text, as one Prometheus does), the
process's free heap is given back after it as the exporter's poller does, and the RSS and peak
RSS of the process after the last cycle are printed with the bytes per series they make.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import os
import pickle
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from multiprocessing.reduction import ForkingPickler
from typing import Any

from bench.probe import memory_mib
from bench.scenarios import SCENARIOS, Scenario
from exporter.config import Config, KafkaConfig, PollConfig
from exporter.memory import release_free_memory
from exporter.poller import Poller
from exporter.render import Exposition, Renderer
from exporter.snapshot import Snapshot
from exporter.sources.admin import AdminResult
from exporter.sources.admin_model import (
    Broker,
    ClusterView,
    GroupDescription,
    Offsets,
    OffsetsLogStatus,
    PartitionMeta,
    TopicMeta,
)
from exporter.sources.stages import StageOutcome


def view(
    s: Scenario, cycle: int, now: float, *, still: bool = False, from_log: bool = False
) -> ClusterView:
    topics = {}
    for t in range(s.topics):
        name = s.topic(t)
        parts = tuple(PartitionMeta(name, p, 1, (1,), (1,)) for p in range(s.partitions))
        topics[name] = TopicMeta(name, parts, False, 1)
    groups: dict[str, GroupDescription] = {}
    committed: dict[str, dict[tuple[str, int], int]] = {}
    commit_times: dict[str, dict[tuple[str, int], float]] = {}
    grow = 0 if still else 10 * cycle
    for g in range(s.groups):
        gid = s.group(g)
        groups[gid] = GroupDescription(gid, "Empty", "classic", "", 1, True, ())
        topic = s.topic(g % s.topics)
        committed[gid] = {
            (topic, p): s.committed_offset(g, p) + grow // 2 for p in range(s.partitions)
        }
        if from_log:  # each commit's time comes with it; a moving offset was committed anew
            commit_times[gid] = {tp: _LOG_START + grow for tp in committed[gid]}
    offsets = {
        (name, p.partition): Offsets(0, s.messages + grow)
        for name, meta in topics.items()
        for p in meta.partitions
    }
    return ClusterView(
        taken_at=now,
        brokers=(Broker(1, "127.0.0.1", 9092),),
        controller_id=1,
        topics=topics,
        groups=groups,
        committed=committed,
        offsets=offsets,
        committed_source="log" if from_log else "admin",
        commit_times=commit_times if from_log else None,
        offsets_log=OffsetsLogStatus(True, False, 0, {}, 0, 50) if from_log else None,
    )


_LOG_START = 1.7e9
"""The commit time of the first cycle's committed offsets (`--log`)."""


class _StandInAdmin:
    """Hands the poller prepared views, one per cycle."""

    def __init__(self, s: Scenario, *, still: bool = False, from_log: bool = False) -> None:
        self._s = s
        self._still = still
        self._from_log = from_log
        self.cycle = 0
        self.times: dict[str, list[float]] | None = None
        """Where the view's trip from the child process is timed (`--transfer`)."""
        self.next_view: ClusterView | None = None
        self._sent = b""

    def prepare(self) -> None:
        self.next_view = view(
            self._s, self.cycle, time.time(), still=self._still, from_log=self._from_log
        )
        self.cycle += 1
        if self.times is not None:  # the child's end of the trip, outside the cycle's CPU
            c0 = time.process_time()
            result = AdminResult(self.next_view, (StageOutcome("metadata", 0.0),))
            self._sent = bytes(ForkingPickler.dumps(result))
            self.times["transfer: pickled in the child"].append(time.process_time() - c0)

    def fetch(self, on_stage: Any = None) -> AdminResult:
        assert self.next_view is not None
        if self.times is None:
            return AdminResult(self.next_view, (StageOutcome("metadata", 0.0),))
        c0 = time.process_time()  # the trip from the Admin API's child, as its pipe makes it
        received: AdminResult = pickle.loads(self._sent)
        self.times["transfer: unpickled (in the cycle)"].append(time.process_time() - c0)
        return received

    def close(self) -> None:
        pass


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.offline", description=__doc__)
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), default="large")
    parser.add_argument("--cycles", type=int, default=3)
    parser.add_argument("--profile", help="write a cProfile of the measured cycles here")
    parser.add_argument(
        "--still",
        action="store_true",
        help="offsets stay as they are from cycle to cycle (default: all move)",
    )
    parser.add_argument(
        "--log",
        action="store_true",
        help="committed offsets as from the offsets log: with each commit's time (default: as "
        "from the Admin API)",
    )
    parser.add_argument(
        "--bodies",
        choices=sorted(BODIES),
        default="all",
        help="the bodies asked for after each render (default: all four)",
    )
    parser.add_argument(
        "--transfer",
        action="store_true",
        help="send each cycle's view through pickle as from the Admin API's child process, "
        "and time both ends (the child's end is outside the cycle's CPU)",
    )
    args = parser.parse_args(argv)
    s = SCENARIOS[args.scenario]
    admin = _StandInAdmin(s, still=args.still, from_log=args.log)
    config = Config(kafka=KafkaConfig(bootstrap_servers="127.0.0.1:9"),
                    poll=PollConfig(interval_seconds=30.0))  # fmt: skip
    renderer = Renderer()
    times: dict[str, list[float]] = defaultdict(list)
    if args.transfer:
        admin.times = times
    served: list[Exposition] = []

    def publish(snapshot: Snapshot) -> None:  # as the exporter's App does, in the poller thread
        c0 = time.process_time()
        exposition = renderer.render(snapshot)
        for openmetrics, gzipped in BODIES[args.bodies]:  # as scrapers ask
            exposition.body(openmetrics=openmetrics, gzipped=gzipped)
        served[:] = [exposition]  # held until the next one, as the web server holds it
        times[f"render ({args.bodies} bodies)"].append(time.process_time() - c0)

    poller = Poller(config, runners=[], admin=admin, on_snapshot=publish)  # type: ignore[arg-type]
    for collector in poller._collectors:
        _time_collect(collector, times)
    profiler = cProfile.Profile() if args.profile else None
    warm_up = 2  # lag in seconds needs two log-end readings: its series appear in the second
    for cycle in range(args.cycles + warm_up):
        admin.prepare()
        if profiler is not None and cycle >= warm_up:
            profiler.enable()
        gc0 = _gc_seconds[0]
        c0 = time.process_time()
        snapshot = poller.poll_once()
        c1 = time.process_time()
        if profiler is not None:
            profiler.disable()
        if cycle >= warm_up:
            times["cycle (render included)"].append(c1 - c0)
            times["garbage collector (in the cycle)"].append(_gc_seconds[0] - gc0)
        else:
            times.clear()
        release_free_memory()  # as the poller does after each cycle
        _print_cycle(cycle, snapshot)
    series = snapshot.series_count
    del snapshot
    rss, peak = memory_mib(os.getpid())
    poller.stop()
    if profiler is not None:
        profiler.dump_stats(args.profile)
    moving = "offsets still" if args.still else "offsets moving"
    if args.log:
        moving += ", committed offsets from the log"
    print(f"CPU seconds, median of {args.cycles} cycles after {warm_up} of warm-up "
          f"({s.name}, {moving}):")  # fmt: skip
    for name, values in sorted(times.items(), key=lambda kv: -statistics.median(kv[1])):
        print(f"  {name:<36} {statistics.median(values):7.3f}  (max {max(values):.3f})")
    print(f"memory after the last cycle ({args.bodies} bodies, {series:,} series): "
          f"RSS {rss:.0f} MiB ({rss * 2**20 / series:.0f} bytes per series), "
          f"peak {peak:.0f} MiB")  # fmt: skip
    return 0


BODIES = {
    "all": ((False, False), (False, True), (True, False), (True, True)),
    "one": ((False, True),),
}
"""(openmetrics, gzipped) of the bodies asked for after each render."""


_gc_seconds = [0.0, 0.0]
"""CPU seconds in the garbage collector so far, and when the running collection started."""


def _gc_callback(phase: str, info: dict[str, Any]) -> None:
    if phase == "start":
        _gc_seconds[1] = time.process_time()
    else:
        _gc_seconds[0] += time.process_time() - _gc_seconds[1]


gc.callbacks.append(_gc_callback)


def _time_collect(collector: Any, times: dict[str, list[float]]) -> None:
    collect = collector.collect

    def timed(data: Any, out: Any) -> None:
        c0 = time.process_time()
        collect(data, out)
        times[f"collector {collector.name}"].append(time.process_time() - c0)

    collector.collect = timed


def _print_cycle(cycle: int, snapshot: Snapshot) -> None:
    label = f"cycle {cycle}"
    print(f"{label}: series={snapshot.series_count}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
