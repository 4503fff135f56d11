"""Burrow-style lag status: OK, WARN, STALL, STOP, REWIND, PAST_END or UNKNOWN, without a lag
threshold.

For every (group, topic, partition) with a committed offset we keep a bounded window of the last
N polls' (committed offset, log-end offset) points. Each rule below is a small named predicate
over that window; `status_by_rules` applies them in a fixed order (`partition_status` computes
the same in one pass) and `group_status` takes the worst partition. The window restarts when the
log-end offset goes backwards (the topic was recreated or truncated): that is not a consumer
rewinding.

Rules, in the order they are applied to a partition's window:
0. PAST_END the last poll shows the committed offset past the log end: the group's next fetch
           resets by `auto.offset.reset` (messages skipped or read twice). The worst status.
1. REWIND  the committed offset went back between two polls of the window.
2. OK      the last poll shows no lag.
3. UNKNOWN fewer polls than the window size: not enough evidence yet.
4. STOP    the committed offset did not move, lag > 0 at every poll, and no member of the group
           owns the partition (the consumers are gone).
5. STALL   the same, but a member owns the partition (or ownership is not known): the
           consumer is there and stuck.
6. WARN    the committed offset moved, lag > 0 at every poll, and lag never shrank and grew
           overall: the consumer commits but falls behind.
7. OK      anything else.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Literal, NamedTuple

from exporter.sources.admin_model import Offsets, TopicPartition

Status = Literal["OK", "UNKNOWN", "REWIND", "WARN", "STOP", "STALL", "PAST_END"]
SEVERITY: tuple[Status, ...] = ("OK", "UNKNOWN", "REWIND", "WARN", "STOP", "STALL", "PAST_END")
"""Statuses from best to worst; a group shows its worst partition's status."""


class Point(NamedTuple):
    """One poll's view of a partition for a group (a tuple: one is made per partition per poll)."""

    committed: int
    end: int

    @property
    def lag(self) -> int:
        return max(0, self.end - self.committed)


Window = tuple[Point, ...]


def append(window: Window, point: Point, size: int) -> Window:
    """The window with `point` added, at most `size` long; restarted if the log end went back."""
    if not window or point.end < window[-1].end:
        return (point,)
    if len(window) < size:
        return (*window, point)
    return (*window[len(window) - max(1, size) + 1 :], point)


# --- the rules: each a predicate over one partition's window --------------------------------


def past_end(window: Window) -> bool:
    """The latest poll shows the committed offset past the log end."""
    return bool(window) and window[-1].committed > window[-1].end


def rewound(window: Window) -> bool:
    """The committed offset went backwards between two consecutive polls."""
    return any(b.committed < a.committed for a, b in pairwise(window))


def caught_up(window: Window) -> bool:
    """The latest poll shows no lag."""
    return bool(window) and window[-1].lag == 0


def complete(window: Window, size: int) -> bool:
    """The window holds as many polls as it should to judge a trend."""
    return len(window) >= size


def committed_still(window: Window) -> bool:
    """The committed offset is the same at every poll of the window."""
    return all(p.committed == window[0].committed for p in window)


def always_lagging(window: Window) -> bool:
    """Every poll of the window shows lag > 0."""
    return bool(window) and all(p.lag > 0 for p in window)


def lag_growing(window: Window) -> bool:
    """Lag never shrank from one poll to the next, and is larger at the end than at the start."""
    steps_up = all(b.lag >= a.lag for a, b in pairwise(window))
    return steps_up and len(window) > 1 and window[-1].lag > window[0].lag


def stopped(window: Window, owned: bool | None) -> bool:
    """No progress while lagging, and no member owns the partition."""
    return owned is False and committed_still(window) and always_lagging(window)


def stalled(window: Window, owned: bool | None) -> bool:
    """No progress while lagging, with a member owning the partition (or ownership unknown)."""
    return owned is not False and committed_still(window) and always_lagging(window)


def falling_behind(window: Window) -> bool:
    """The group commits (the offset moves) but lag grows at every poll."""
    return not committed_still(window) and always_lagging(window) and lag_growing(window)


def status_by_rules(window: Window, owned: bool | None, size: int) -> Status:
    """The status of one partition, the rules above applied one by one in their order.

    The reference definition; `partition_status` computes the same in one pass over the window.
    """
    if not window:
        return "UNKNOWN"
    if past_end(window):
        return "PAST_END"
    if rewound(window):
        return "REWIND"
    if caught_up(window):
        return "OK"
    if not complete(window, size):
        return "UNKNOWN"
    if stopped(window, owned):
        return "STOP"
    if stalled(window, owned):
        return "STALL"
    if falling_behind(window):
        return "WARN"
    return "OK"


def partition_status(window: Window, owned: bool | None, size: int) -> Status:
    """The status of one partition; `owned`: does a member own it (None: not known).

    Equal to `status_by_rules` for every window (an exhaustive test checks it), in one pass: it
    runs for every committed partition at every poll.
    """
    if not window:
        return "UNKNOWN"
    last_committed, last_end = window[-1]
    if last_committed > last_end:
        return "PAST_END"
    first_committed, first_end = window[0]
    if window.count(window[0]) == len(window):  # nothing moved (idle topics, stopped groups)
        if first_end <= first_committed:
            return "OK"
        if len(window) < size:
            return "UNKNOWN"
        return "STOP" if owned is False else "STALL"
    prev_committed, prev_lag = first_committed, max(0, first_end - first_committed)
    still, always_lagging_, steps_up = True, prev_lag > 0, True
    for committed, end in window[1:]:
        if committed < prev_committed:
            return "REWIND"
        lag = end - committed if end > committed else 0
        still = still and committed == first_committed
        always_lagging_ = always_lagging_ and lag > 0
        steps_up = steps_up and lag >= prev_lag
        prev_committed, prev_lag = committed, lag
    if prev_lag == 0:
        return "OK"
    if len(window) < size:
        return "UNKNOWN"
    if still and always_lagging_:
        return "STOP" if owned is False else "STALL"
    first_lag = max(0, first_end - first_committed)
    if not still and always_lagging_ and steps_up and len(window) > 1 and prev_lag > first_lag:
        return "WARN"
    return "OK"


RANK: dict[Status, int] = {s: i for i, s in enumerate(SEVERITY)}


def group_status(statuses: Iterable[Status]) -> Status | None:
    """The worst of the partitions' statuses, or None for a group without partitions."""
    worst = max(map(RANK.__getitem__, statuses), default=-1)
    return SEVERITY[worst] if worst >= 0 else None


# --- history kept between polls ------------------------------------------------------------

Key = tuple[str, str, int]
"""(group, topic, partition)"""


@dataclass(slots=True)
class LagStatusTracker:
    """The windows of every (group, topic, partition), updated once per poll."""

    size: int
    windows: dict[Key, Window] = field(default_factory=dict)

    def update(
        self,
        committed: Mapping[str, Mapping[TopicPartition, int]],
        offsets: Mapping[TopicPartition, Offsets],
        owners: Mapping[str, frozenset[TopicPartition]] | None,
        forget: bool = True,
    ) -> dict[Key, Status]:
        """Add this poll's points and judge every partition that has a committed offset; the
        result is in (group, topic, partition) order.

        `owners`: the partitions each described group's members own; None when the groups could
        not be described this poll. With `forget`, keys no longer committed are dropped (pass
        False when the committed offsets are incomplete). A partition whose log-end offset is
        missing this poll keeps its window and gets no status.
        """
        size = self.size
        last = self.windows
        kept: dict[Key, Window] = {}
        result: dict[Key, Status] = {}
        status = partition_status
        for group in sorted(committed):
            owned_parts = None if owners is None else owners.get(group)
            for tp, offset in sorted(committed[group].items()):
                key = (group, tp[0], tp[1])
                window = last.get(key, ())
                off = offsets.get(tp)
                if off is None or off.end < 0 or offset < 0:
                    if window:
                        kept[key] = window
                    continue
                end = off.end
                # `append` written out: it runs for every committed partition at every poll; a
                # point is a plain (committed, end) tuple here (equal to a Point, cheaper to make)
                point: Point = (offset, end)  # type: ignore[assignment]
                if not window or end < window[-1][1]:
                    window = (point,)
                elif window[-1] == point:
                    # nothing moved since the last poll: the window refers to the same point
                    # again rather than to an equal one (an idle partition's window holds one
                    # point object however long it is)
                    if len(window) < size:
                        window = (*window, window[-1])
                    elif window.count(window[0]) != size:
                        window = (*window[len(window) - max(1, size) + 1 :], window[-1])
                    # else: a full window of one point stays as it is
                elif len(window) < size:
                    window = (*window, point)
                else:
                    window = (*window[len(window) - max(1, size) + 1 :], point)
                kept[key] = window
                result[key] = status(
                    window, None if owned_parts is None else tp in owned_parts, size
                )
        if forget:
            self.windows = kept
        else:
            last.update(kept)
        return result


def group_statuses(partitions: Mapping[Key, Status]) -> dict[str, Status]:
    """Each group's status from its partitions' statuses (the worst), in order of first sight."""
    worst: dict[str, int] = {}
    for (group, _topic, _partition), status in partitions.items():
        rank = RANK[status]
        if rank > worst.get(group, -1):
            worst[group] = rank
    return {group: SEVERITY[rank] for group, rank in worst.items()}
