"""The one offset history: fed once per cycle by the poller, read by the lag-in-seconds and the
lag status collectors; each part equal to its rule's own state fed directly, advanced once per
cycle, and kept only when read (no broker: hand-built views, a scripted Admin API source)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exporter.catalog import admin as admin_cat
from exporter.catalog import lessons as lessons_cat
from exporter.config import Config, LessonsConfig, PollConfig
from exporter.domain.lag_status import LagStatusTracker, Point
from exporter.domain.lag_time import LagClock
from exporter.domain.offset_history import OffsetHistory
from exporter.poller import Poller
from exporter.snapshot import Snapshot
from exporter.sources.admin import STAGES, AdminResult
from exporter.sources.admin_model import ClusterView, Offsets, PartitionMeta, TopicMeta
from exporter.sources.stages import StageOutcome

PARTITIONS = 3


def view(at: float, ends: list[int], committed: list[int] | None = None) -> ClusterView:
    """Topic `t` with log ends `ends`; group `g` committed on every partition (if given)."""
    parts = tuple(PartitionMeta("t", p, 1, (1,), (1,)) for p in range(len(ends)))
    return ClusterView(
        taken_at=at,
        topics={"t": TopicMeta("t", parts)},
        offsets={("t", p): Offsets(0, e) for p, e in enumerate(ends)},
        committed=None
        if committed is None
        else {"g": {("t", p): c for p, c in enumerate(committed)}},
    )


def test_one_observed_view_feeds_both_parts() -> None:
    history = OffsetHistory(points=10, max_extrapolation=600.0, window=2)
    history.observe(view(100.0, [10, 20, 30], [5, 20, 30]))
    clock = history.log_ends()
    assert [len(clock.history(("t", p))) for p in range(3)] == [1, 1, 1]
    assert history.lag_statuses(None) == {
        ("g", "t", 0): "UNKNOWN",
        ("g", "t", 1): "OK",
        ("g", "t", 2): "OK",
    }
    history.observe(view(130.0, [10, 25, 30], [5, 25, 30]))
    assert history.log_ends().lag_seconds(("t", 0), 5, 130.0) == 30.0
    assert history.lag_statuses(None)[("g", "t", 0)] == "STALL"
    assert len(history.windows) == 3  # one window per group partition


def test_a_part_is_advanced_once_per_cycle_however_often_it_is_read() -> None:
    history = OffsetHistory(points=10, max_extrapolation=600.0, window=3)
    history.observe(view(100.0, [10], [5]))
    for _ in range(3):
        assert history.log_ends().history(("t", 0)) == history.log_ends().history(("t", 0))
    history.lag_statuses(None)
    with pytest.raises(RuntimeError, match="already read this cycle"):
        history.lag_statuses(None)
    history.observe(view(110.0, [12], [5]))
    assert len(history.log_ends().history(("t", 0))) == 2
    assert history.windows[("g", "t", 0)] == (Point(5, 10),)  # not advanced before it is read
    history.lag_statuses(None)
    assert dict(history.windows) == {("g", "t", 0): (Point(5, 10), Point(5, 12))}


def test_a_part_nobody_reads_keeps_nothing() -> None:
    history = OffsetHistory(points=10, max_extrapolation=600.0, window=3)
    for i in range(5):
        history.observe(view(100.0 + i, [10 + i] * PARTITIONS, [5] * PARTITIONS))
        history.log_ends()
    assert not history.windows
    history = OffsetHistory(points=10, max_extrapolation=600.0, window=3)
    for i in range(5):
        history.observe(view(100.0 + i, [10 + i] * PARTITIONS, [5] * PARTITIONS))
        history.lag_statuses(None)
    assert len(history.windows) == PARTITIONS
    # read at last: this cycle's log ends only, none of the cycles nobody read
    assert all(len(history.log_ends().history(("t", p))) == 1 for p in range(PARTITIONS))


def test_nothing_observed_nothing_judged() -> None:
    history = OffsetHistory(points=10, max_extrapolation=600.0, window=3)
    assert history.lag_statuses(None) == {}
    assert not list(history.log_ends().partitions())
    history.observe(view(100.0, [10]))  # no committed offsets: the windows wait
    assert history.lag_statuses(None) == {}
    assert not history.windows


ends_of_poll = st.lists(st.integers(-1, 60), min_size=PARTITIONS, max_size=PARTITIONS)
committed_of_poll = st.lists(st.integers(0, 60), min_size=PARTITIONS, max_size=PARTITIONS)


@settings(max_examples=200, deadline=None)
@given(
    polls=st.lists(
        st.tuples(
            st.floats(0.5, 60, allow_nan=False),
            ends_of_poll,
            st.one_of(
                st.none(), st.lists(st.integers(0, 60), min_size=PARTITIONS, max_size=PARTITIONS)
            ),
            st.booleans(),
        ),
        min_size=1,
        max_size=8,
    ),
    points=st.integers(2, 6),
    window=st.integers(1, 5),
)
def test_each_part_equals_its_rule_fed_directly(
    polls: list[tuple[float, list[int], list[int] | None, bool]], points: int, window: int
) -> None:
    """The history holds what `LagClock` and `LagStatusTracker` hold when each is fed the same
    views as the collectors fed them before: no point more, none less."""
    history = OffsetHistory(points=points, max_extrapolation=600.0, window=window)
    clock = LagClock(points, 600.0)
    tracker = LagStatusTracker(size=max(2, window))
    at = 1_000.0
    for step, ends, committed, partial in polls:
        at += step
        v = view(at, ends, committed)
        if partial:  # the committed stage failed: a partial answer forgets no window
            v = replace(v, failed_stages=("committed",))
        history.observe(v)
        clock.observe({("t", p): e for p, e in enumerate(ends)}, at,
                      keep=[("t", p) for p in range(PARTITIONS)])  # fmt: skip
        got = history.lag_statuses(None)
        want = (
            tracker.update(v.committed, v.offsets or {}, None, forget=not partial)
            if v.committed is not None
            else {}
        )
        assert got == want
        assert dict(history.log_ends().histories) == dict(clock.histories)
        assert dict(history.windows) == tracker.windows


class ScriptedAdmin:
    """An Admin API source that answers each fetch with the next view of a script."""

    def __init__(self, views: list[ClusterView]) -> None:
        self.views = views

    def fetch(self, on_stage: Callable[[str], None] | None = None) -> AdminResult:
        return AdminResult(self.views.pop(0), tuple(StageOutcome(s, 0.0) for s in STAGES))

    def close(self) -> None:
        pass


def _poll(config: Config, views: list[ClusterView]) -> tuple[Poller, list[Snapshot]]:
    poller = Poller(config, runners=[], admin=ScriptedAdmin(views))  # type: ignore[arg-type]
    try:
        return poller, [poller.poll_once() for _ in range(len(views))]
    finally:
        poller.stop()


def test_the_poller_feeds_one_history_both_collectors_read() -> None:
    config = Config(
        poll=PollConfig(lag_history_points=5), lessons=LessonsConfig(lag_status_window=3)
    )
    committed = (10, 12, 15)  # lag 5, 8, 10 on partition 0: committing, falling behind
    views = [view(100.0 + 30 * i, [15 + 5 * i, 20], [committed[i], 20]) for i in range(3)]
    poller, snaps = _poll(config, views)
    last = snaps[-1]
    # the log end was at 15 at t=100 (the first view): 60 s at t=160
    assert last.value(admin_cat.GROUP_LAG_SECONDS, "g", "t", "0") == 60.0
    assert last.value(lessons_cat.GROUP_STATUS, "g", "WARN") == 1.0
    history = poller._history
    assert len(history.windows) == 2  # one window per group partition
    assert [len(history.log_ends().history(("t", p))) for p in range(2)] == [3, 2]


def test_switched_off_lag_status_keeps_no_windows() -> None:
    config = Config(collectors={"lag_status": False})
    views = [view(100.0 + 30 * i, [10 + 5 * i], [10]) for i in range(3)]
    poller, snaps = _poll(config, views)
    assert not poller._history.windows
    assert snaps[-1].value(admin_cat.GROUP_LAG_SECONDS, "g", "t", "0") == 60.0
