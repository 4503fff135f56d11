"""The poller: one poll cycle on a fixed interval in a background thread, one snapshot per cycle.

Polling runs in the background on purpose: lag in seconds needs a history of polls, each JMX query
starts a JVM, and two Prometheus replicas scraping must not double the load on the cluster. A
scrape only reads the last complete snapshot.

One cycle:

1. The Admin API stages run in a supervised child process (`exporter.sources.supervised`: a
   librdkafka abort, crash or hang costs that cycle, never the process), driven from the poller
   thread (`exporter.sources.admin`), each with its own deadline and able to fail alone.
2. Every additional source runner (see below) starts in its own worker thread when the Admin
   API's log-end offsets stage begins (or at once when the cluster is unreachable). On a large
   cluster the stages before it keep the client and the broker busy, and a JMX query JVM starting
   beside them slows them and itself down; from then on the broker is idle and the collectors
   below overlap with the JVM. When the stages before take much longer than in the last cycle
   (requests timing out while a broker is down), the runners start anyway, after
   `RUNNERS_LATEST_BASE + RUNNERS_LATEST_FACTOR x` the last cycle's time to its offsets stage.
3. The view is added to the poller's one `OffsetHistory` (the offsets of past cycles, for lag in
   seconds and lag status). Every enabled collector of `exporter.collectors.REGISTRY` (switch:
   `collectors.<name>`) whose declared `reads` is the Admin API view only gets the cycle's
   `CycleData` (the view and the history) and a fresh `SnapshotBuilder` with the series cap
   (`poll.series_cap` per family); the builders are merged. A collector that raises fails alone
   (stage `collector:<name>`). In `broker` and `shard` scope each builder keeps only the series
   this instance owns (`exporter.ownership`) before it is merged; the partitions collector,
   whose series are most of a cluster's, skips the other instances' partitions before it builds
   them.
4. The runners are awaited until `poll.stage_timeout_seconds` (plus a short grace) have passed
   since they started. A runner still busy then fails this cycle with "timed out", and is not
   started again until its earlier call returns. Then the collectors that read their readings
   (`reads` names `jmx` or `schema_registry`) run.
5. The health phase: the collectors that read `health` (`own`) run last, with the cycle's
   `PollHealth`, which holds every other collector's success and wall time; never capped.
6. The snapshot is built, swapped in with one reference assignment, and handed to `on_snapshot`.

A failed stage drops its own series; nothing from an earlier cycle is carried over, so a series
that could not be read this cycle is absent, never frozen.

The source runners (what one is, which ones run, how their readings are filed into the cycle's
`CycleData` by the kind each declares) are in `exporter.poller.runners`.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace

from exporter import collectors as _collectors  # noqa: F401  (registers every collector)
from exporter.collectors.base import (
    REGISTRY,
    Collector,
    CollectorRun,
    CycleData,
    PollHealth,
    admin_data,
    phase,
)
from exporter.config import Config
from exporter.domain import dead_letters as dl
from exporter.domain.offset_history import OffsetHistory
from exporter.memory import release_free_memory
from exporter.poller.runners import (
    Pending,
    Runners,
    SourceRunner,
    default_runners,
    file_readings,
)
from exporter.snapshot import Snapshot, SnapshotBuilder
from exporter.sources.admin import STAGES, AdminSource
from exporter.sources.admin_model import ClusterView
from exporter.sources.stages import StageOutcome, describe_error
from exporter.sources.supervised import SupervisedAdmin

log = logging.getLogger(__name__)

__all__ = ["DeadLetterTest", "Poller", "SourceRunner", "default_runners", "file_readings"]

RUNNER_GRACE_SECONDS = 10.0
"""How long after its deadline a runner may still hand in its readings."""
RUNNERS_START_STAGE = "offsets"
"""The Admin API stage at whose start the runners start (see the module docstring)."""
RUNNERS_LATEST_BASE = 1.0
RUNNERS_LATEST_FACTOR = 1.5
"""The runners start at the latest BASE + FACTOR x (seconds from the start of the last cycle to
its offsets stage) after the cycle started, when this cycle's stages before the offsets stage
take that much longer (requests timing out)."""
_BEFORE_RUNNERS = frozenset(STAGES[: STAGES.index(RUNNERS_START_STAGE)])


@dataclass(frozen=True, slots=True)
class DeadLetterTest:
    """Whether a topic is a dead-letter or retry topic (its series read all its offsets); plain
    data, so that it reaches the Admin API client's process."""

    dead_letter: tuple[str, ...]
    retry: tuple[str, ...]

    @classmethod
    def of(cls, config: Config) -> DeadLetterTest:
        return cls(config.lessons.dead_letter_patterns, config.lessons.retry_topic_patterns)

    def __call__(self, topic: str) -> bool:
        return dl.classify(topic, _dead_letter_patterns(self.dead_letter, self.retry)) is not None


@functools.cache
def _dead_letter_patterns(dead_letter: tuple[str, ...], retry: tuple[str, ...]) -> list[dl.Pattern]:
    return dl.compile_patterns(dead_letter, retry)


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for one cycle, then one young-generation pass.

    A cycle on a large cluster allocates millions of objects that outlive it (answers, samples,
    labels, histories); with the collector on, that triggers full collections over everything
    the process holds, again and again: 1.2-1.4 s of a 4 s cycle (10,000 groups x 10
    partitions). The data is freed by reference counting; the young pass at the end collects
    whatever cycles the poll made (and the occasional full collection still happens as usual).
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect(1)


def enabled_collectors(config: Config) -> list[Collector]:
    """One instance of every registered collector not switched off, in name order."""
    return [factory(config) for name, factory in sorted(REGISTRY.items())
            if config.collectors.get(name, True)]  # fmt: skip


class Poller:
    """Polls in the background and keeps the latest complete snapshot."""

    def __init__(
        self,
        config: Config,
        *,
        on_snapshot: Callable[[Snapshot], None] | None = None,
        runners: Sequence[SourceRunner] | None = None,
        admin: AdminSource | SupervisedAdmin | None = None,
    ) -> None:
        self._config = config
        self._on_snapshot = on_snapshot
        self._admin = (
            admin
            if admin is not None
            else SupervisedAdmin(config, whole_topic=DeadLetterTest.of(config))
        )
        self._runners = Runners(runners if runners is not None else default_runners(config))
        collectors = enabled_collectors(config)
        self._admin_collectors = [c for c in collectors if phase(c.reads) == "admin"]
        self._runner_collectors = [c for c in collectors if phase(c.reads) == "runners"]
        self._health_collectors = [c for c in collectors if phase(c.reads) == "health"]
        self._collectors = self._admin_collectors + self._runner_collectors
        self._history = OffsetHistory.of(config)
        """The offsets of past cycles, one for every collector (fed at each cycle's start)."""
        self._runners_after = 0.0
        """Seconds from the start of the last cycle without failed stages to its offsets stage."""
        self._snapshot: Snapshot | None = None
        self._ready = False
        self._last_stages: tuple[StageOutcome, ...] = ()
        self._last_cluster: ClusterView | None = None
        self._cycle_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = False

    # ---- public API ------------------------------------------------------------------------

    @property
    def snapshot(self) -> Snapshot | None:
        """The latest complete snapshot, or None before the first cycle finished."""
        return self._snapshot

    @property
    def ready(self) -> bool:
        """True once a cycle with the Admin API answering has completed (and, with committed offsets
        from the offsets log, once that log was read up to its end as of start)."""
        return self._ready

    @property
    def last_stages(self) -> tuple[StageOutcome, ...]:
        """How every stage of the last cycle went (failed ones with a one-line error)."""
        return self._last_stages

    def start(self) -> None:
        """Start polling in a daemon thread: the first cycle at once, then every interval."""
        if self._closed:
            raise RuntimeError("poller is stopped")
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._loop, name="poller", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the thread and close the sources; safe to call more than once."""
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("poller still busy at stop timeout=%.1f", timeout)
        self._runners.close()
        self._admin.close()

    def poll_once(self) -> Snapshot:
        """Run one full cycle now, swap its snapshot in, and return it."""
        if self._closed:
            raise RuntimeError("poller is stopped")
        with self._cycle_lock, gc_paused():
            return self._cycle()

    # ---- the cycle ---------------------------------------------------------------------------

    def _loop(self) -> None:
        interval = max(0.1, self._config.poll.interval_seconds)
        next_at = time.monotonic()
        while not self._stop.is_set():
            try:
                with self._cycle_lock, gc_paused():
                    if self._stop.is_set():
                        break
                    self._cycle()
            except Exception:  # never let the thread die; the next cycle tries again
                log.exception("poll cycle failed")
            release_free_memory()  # after the old snapshot is gone, outside the cycle lock
            next_at += interval
            now = time.monotonic()
            if next_at < now:
                log.warning("poll cycle longer than the interval interval=%.1f late=%.1f",
                            interval, now - next_at)  # fmt: skip
                next_at = now
            self._stop.wait(next_at - now)

    def _cycle(self) -> Snapshot:
        started = time.time()
        t0 = time.monotonic()
        timeout = self._config.poll.stage_timeout_seconds
        pending: Pending | None = None
        runners_at = t0
        lock = threading.Lock()

        def start_runners() -> None:
            nonlocal pending, runners_at
            with lock:
                if pending is None:
                    runners_at, pending = (
                        time.monotonic(),
                        self._runners.start(self._last_cluster, timeout),
                    )

        reached: list[float] = []

        def on_stage(stage: str) -> None:
            if stage == RUNNERS_START_STAGE:
                reached.append(time.monotonic() - t0)
                start_runners()

        # at the latest when the stages before take much longer than last time (timeouts: the
        # client waits, it does not compete with a JVM)
        latest = threading.Timer(RUNNERS_LATEST_BASE + RUNNERS_LATEST_FACTOR * self._runners_after,
                                 start_runners)  # fmt: skip
        latest.daemon = True
        if self._runners.runners:
            latest.start()
        try:
            admin = self._admin.fetch(on_stage)
        finally:
            latest.cancel()
        start_runners()  # the cluster was unreachable: no stage got that far
        assert pending is not None
        if reached and all(o.ok for o in admin.stages if o.stage in _BEFORE_RUNNERS):
            self._runners_after = reached[0]  # learnt from cycles without failed stages only
        data = admin_data(started, admin.view, self._history)
        cap = self._config.poll.series_cap
        merged = SnapshotBuilder()  # the cap applies per collector; own health is never capped
        stages = list(admin.stages)
        runs: dict[str, CollectorRun] = {}
        for collector in self._admin_collectors:
            runs[collector.name] = self._collect(collector, data, cap, merged, stages)
        deadline = runners_at + timeout + RUNNER_GRACE_SECONDS
        readings, runner_stages = self._runners.finish(pending, runners_at, deadline)
        stages += runner_stages
        data = file_readings(data, readings)
        for collector in self._runner_collectors:
            runs[collector.name] = self._collect(collector, data, cap, merged, stages)
        if self._health_collectors:  # the health phase: last, uncapped
            health = PollHealth(
                started_at=started,
                seconds=time.monotonic() - t0,
                stages=tuple(stages),
                admin_up=admin.up,
                series=merged.counts(),
                dropped=dict(merged.dropped),
                collectors=runs,
                restarts=self._restarts(),
            )
            data = replace(data, health=health)
            for collector in self._health_collectors:
                out = SnapshotBuilder()
                collector.collect(data, out)
                merged.merge(out)
        snapshot = merged.build(taken_at=started)
        # the previous snapshot and view (millions of objects on a large cluster) are freed only
        # after the new snapshot is published, off the path of the cycle
        retired = (self._snapshot, self._last_cluster)
        self._snapshot = snapshot
        self._last_stages = tuple(stages)
        if admin.view is not None:
            self._last_cluster = admin.view
            # with committed offsets from the offsets log: ready once it was read to its end
            self._ready = self._ready or admin.view.committed_ready
        log.debug("poll cycle done seconds=%.3f series=%d failed=%s", time.monotonic() - t0,
                  snapshot.series_count, [s.stage for s in stages if not s.ok])  # fmt: skip
        if self._on_snapshot is not None:
            try:
                self._on_snapshot(snapshot)
            except Exception:
                log.exception("on_snapshot failed")
        del retired
        return snapshot

    def _restarts(self) -> dict[str, int]:
        """Client process replacements of the supervised sources, by stage name."""
        out = {"admin": self._admin.restarts} if hasattr(self._admin, "restarts") else {}
        return {**out, **self._runners.restarts()}

    @staticmethod
    def _collect(
        collector: Collector,
        data: CycleData,
        cap: int,
        merged: SnapshotBuilder,
        stages: list[StageOutcome],
    ) -> CollectorRun:
        out = SnapshotBuilder(series_cap=cap)
        c0 = time.monotonic()
        try:
            collector.collect(data, out)
        except Exception as exc:
            log.exception("collector failed collector=%s", collector.name)
            seconds = time.monotonic() - c0
            stages.append(StageOutcome(f"collector:{collector.name}", seconds,
                                       describe_error(exc)))  # fmt: skip
            return CollectorRun(ok=False, seconds=seconds)
        share = data.cluster.share if data.cluster is not None else None
        if share is not None and not share.everything:
            out.retain(share.series_filter)  # only the series this instance owns
        seconds = time.monotonic() - c0
        merged.merge(out)
        return CollectorRun(ok=True, seconds=seconds)
