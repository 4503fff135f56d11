"""The offsets of past cycles, kept in one place for every collector that reads them over time.

Two rules need offsets from earlier polls: lag in seconds (`lag_time`: each partition's log-end
offsets and the times they were read) and lag status (`lag_status`: each group partition's window
of (committed, log end) points). Both come from the same Admin API answers, so one object holds
both: the poller owns one `OffsetHistory` for the life of the process, feeds it once per cycle
with the cycle's view (`observe`), and hands it to the collectors in `CycleData.history`.

Each part is advanced from the observed view the first time it is read in a cycle, and never a
second time: a part that no enabled collector reads keeps nothing (with `collectors.lag_status:
false`, no windows; with `collectors.consumer_lag: false`, no log-end points), and the collectors
keep no memory of offsets of their own. The parts keep their own rules: which partitions a
history forgets, when a window restarts (see `lag_time.LagClock` and
`lag_status.LagStatusTracker`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from exporter.domain.lag_status import Key, LagStatusTracker, Status, Window
from exporter.domain.lag_time import LagClock
from exporter.sources.admin_model import ClusterView, TopicPartition

if TYPE_CHECKING:
    from exporter.config import Config


class OffsetHistory:
    """Log-end points per partition and (committed, log end) windows per group partition, fed
    with one `ClusterView` per cycle."""

    __slots__ = ("_clock", "_clock_seen", "_seen", "_tracker", "_tracker_seen", "_view")

    def __init__(self, points: int, max_extrapolation: float, window: int) -> None:
        """`points`: log-end points kept per partition; `max_extrapolation`: seconds lag in seconds
        may reach back beyond the oldest point; `window`: polls per lag status window (one poll
        shows no trend: a window below 2 counts as 2, else every lagging partition is stuck)."""
        self._clock = LagClock(points, max_extrapolation)
        self._tracker = LagStatusTracker(size=max(2, window))
        self._view: ClusterView | None = None
        self._seen = 0
        """Views observed so far; a part is up to date when its count equals it."""
        self._clock_seen = 0
        self._tracker_seen = 0

    @classmethod
    def of(cls, config: Config) -> OffsetHistory:
        return cls(
            config.poll.lag_history_points,
            config.poll.lag_max_extrapolation_seconds,
            config.lessons.lag_status_window,
        )

    def observe(self, view: ClusterView) -> None:
        """This cycle's Admin API view: the one feed of every part."""
        self._view = view
        self._seen += 1

    def log_ends(self) -> LagClock:
        """Every partition's log-end history, with this cycle's log-end offsets recorded (at the
        time the view was taken). Partitions missing from the answer are forgotten, except those
        the metadata still lists (their offsets could not be read this cycle)."""
        view = self._view
        if self._clock_seen != self._seen and view is not None:
            self._clock_seen = self._seen
            if view.offsets is not None:
                topics = (view.topics or {}).values()
                known = [(t.name, p.partition) for t in topics for p in t.partitions]
                ends = {tp: o.end for tp, o in view.offsets.items()}
                self._clock.observe(ends, view.taken_at, keep=known)
        return self._clock

    def lag_statuses(
        self, owners: Mapping[str, frozenset[TopicPartition]] | None
    ) -> dict[Key, Status]:
        """This cycle's (committed, log end) point added to every group partition's window, and
        each judged, in (group, topic, partition) order; `owners`: the partitions each settled
        group's members own (None: not known). Empty when the view lacks committed or log-end
        offsets. A partial committed answer (stage `committed` failed) forgets no window. Read
        once per cycle: a second read in the same cycle is refused."""
        view = self._view
        if view is None or self._tracker_seen == self._seen:
            if view is not None:
                raise RuntimeError("lag statuses already read this cycle")
            return {}
        self._tracker_seen = self._seen
        if view.committed is None or view.offsets is None:
            return {}
        complete = "committed" not in view.failed_stages
        return self._tracker.update(view.committed, view.offsets, owners, complete)

    @property
    def windows(self) -> Mapping[Key, Window]:
        """The lag status windows as they stand (for tests and memory checks)."""
        return self._tracker.windows
