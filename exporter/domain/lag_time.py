"""Lag in seconds: when was a partition's log end at the group's committed offset?

Kafka keeps no clock for offsets, so kafka-vitals keeps one: at every poll it records the
partition's log-end offset and the time it was read, in a short history per partition. The lag in
seconds of a group on a partition is `now - T(committed)`, where `T(c)` is the time at which the
log end was at offset `c`: the oldest message the group has not consumed has been waiting about
that long.

The method, point by point:

- **Caught up** (committed >= newest log end): 0, whatever the history says. An idle topic with a
  caught-up group is 0, never a spike.
- **Inside the history**: find the newest pair of points with `o_i <= c < o_(i+1)` and interpolate
  linearly between their times. Using the newest pair means that on a plateau (an idle stretch)
  the latest time the log end was still at `c` is used, so lag is never overstated by idleness.
- **Older than the history** (committed below the oldest point): the log end has been past `c`
  at least since the oldest point. Go back further at the producers' rate while they produced
  (offsets gained over the history's time with the log end moving: idle stretches left out, so
  the estimate does not drift as the topic stays idle), but never more than `max_extrapolation`
  seconds. If the log end did not move during the whole history (an idle
  topic), no extrapolation is done: lag is the time since the oldest point, and keeps growing while
  the topic stays idle and the group does not move. With a single point there is nothing to go
  on: no value (the series is absent for that poll).
- **Plateaus are compressed**: consecutive polls that see the same log end keep only the first
  and the last point of the run, so an idle stretch costs two points and its start is remembered
  however long it lasts.
- **Reset**: a log end that goes backwards (topic deleted and recreated, or truncated) or a clock
  that goes backwards clears the partition's history.
- **Bounded**: at most `max_points` points per partition (the oldest are dropped), and the result
  is never negative.

Everything here is pure; `LagClock` only holds the per-partition histories between polls.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import pairwise

from exporter.sources.admin_model import TopicPartition


@dataclass(frozen=True, slots=True)
class Point:
    """The log end was at `offset` at unix time `time`."""

    offset: int
    time: float


History = tuple[Point, ...]
"""Points in time order; offsets never decrease along it."""


def record(history: History, offset: int, time: float, max_points: int) -> History:
    """The history after observing the log end at `offset` at `time`."""
    if offset < 0:
        return history
    point = Point(offset, time)
    if not history:
        return (point,)
    last = history[-1]
    if offset < last.offset or time < last.time:
        return (point,)
    if offset == last.offset:
        if time == last.time:
            return history
        if len(history) >= 2 and history[-2].offset == offset:
            # extend the plateau: keep its first point, move its last point forward
            return (*history[:-1], point)
    elif time == last.time:
        # two readings at the same instant: the newer offset replaces the older one
        return (*history[:-1], point)
    out = (*history, point)
    keep = max(2, max_points)
    return out[-keep:] if len(out) > keep else out


def time_at_offset(history: History, committed: int, max_extrapolation: float) -> float | None:
    """Estimated unix time at which the log end was at `committed`, or None if unknown.

    For a committed offset at or beyond the newest point, the newest point's time.
    """
    if not history:
        return None
    newest = history[-1]
    if committed >= newest.offset:
        return newest.time
    oldest = history[0]
    if committed >= oldest.offset:
        for i in range(len(history) - 2, -1, -1):
            a, b = history[i], history[i + 1]
            if a.offset <= committed < b.offset:
                return a.time + (committed - a.offset) / (b.offset - a.offset) * (b.time - a.time)
        return oldest.time  # not reached: offsets never decrease along a history
    if len(history) < 2:
        return None
    span_offsets = newest.offset - oldest.offset
    if span_offsets <= 0:  # an idle topic: no rate to go back at (and no plateaus to sum)
        return oldest.time
    span_time = moving_time(history)
    if span_time <= 0:
        return oldest.time
    back = (oldest.offset - committed) * span_time / span_offsets
    return oldest.time - min(back, max(0.0, max_extrapolation))


def lag_messages(log_end: int, committed: int) -> tuple[int, bool]:
    """Lag in messages of a committed offset, and whether it was clamped: a committed offset above
    the log end read after it counts as caught up, 0 (it is no race: the distance past the end
    is a signal of its own, `kafka_consumergroup_offset_past_log_end`)."""
    lag = log_end - committed
    return (0, True) if lag < 0 else (lag, False)


def moving_time(history: History) -> float:
    """Seconds of the history during which the log end moved: the plateaus (idle stretches,
    two points of one offset) left out, so that the rate used to extrapolate is the producers'
    rate while they produced, and does not fall as an idle stretch grows."""
    return sum(b.time - a.time for a, b in pairwise(history) if b.offset > a.offset)


def lag_seconds(
    history: History, committed: int, now: float, max_extrapolation: float
) -> float | None:
    """Seconds since the log end was at `committed`: 0 when caught up, None when unknown."""
    if history and committed >= history[-1].offset:
        return 0.0
    at = time_at_offset(history, committed, max_extrapolation)
    if at is None:
        return None
    return max(0.0, now - at)


class LagClock:
    """The log-end histories of every partition, updated once per poll."""

    __slots__ = ("_histories", "max_extrapolation", "max_points")

    def __init__(self, max_points: int, max_extrapolation: float) -> None:
        self.max_points = max_points
        self.max_extrapolation = max_extrapolation
        self._histories: dict[TopicPartition, History] = {}

    def observe(
        self,
        log_ends: Mapping[TopicPartition, int],
        at: float,
        keep: Iterable[TopicPartition] = (),
    ) -> None:
        """Record one poll's log-end offsets.

        Partitions missing from `log_ends` are forgotten, except those in `keep` (partitions that
        still exist but whose offset could not be read this time), whose history stays as it was.
        """
        old = self._histories
        new = {
            tp: record(old.get(tp, ()), end, at, self.max_points)
            for tp, end in log_ends.items()
            if end >= 0
        }
        for tp in keep:
            if tp not in new and tp in old:
                new[tp] = old[tp]
        self._histories = new

    def lag_seconds(self, tp: TopicPartition, committed: int, now: float) -> float | None:
        return lag_seconds(self._histories.get(tp, ()), committed, now, self.max_extrapolation)

    @property
    def histories(self) -> Mapping[TopicPartition, History]:
        """Every partition's history, read-only (for loops that inline `lag_seconds`)."""
        return self._histories

    def history(self, tp: TopicPartition) -> History:
        return self._histories.get(tp, ())

    def partitions(self) -> Iterable[TopicPartition]:
        return self._histories.keys()
