"""Lag status rules: each predicate alone, the status order, and every small window exhaustively."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exporter.domain import lag_status as ls
from exporter.domain.lag_status import LagStatusTracker, Point, partition_status
from exporter.sources.admin_model import Offsets

SIZE = 4


def w(*pairs: tuple[int, int]) -> ls.Window:
    """A window from (committed, end) pairs."""
    return tuple(Point(c, e) for c, e in pairs)


# --- single predicates ----------------------------------------------------------------------


def test_point_lag_is_clamped_at_zero() -> None:
    assert Point(5, 10).lag == 5
    assert Point(10, 10).lag == 0
    assert Point(12, 10).lag == 0


def test_append_keeps_the_last_size_points() -> None:
    window: ls.Window = ()
    for i in range(10):
        window = ls.append(window, Point(i, i + 1), 3)
    assert window == w((7, 8), (8, 9), (9, 10))


def test_append_restarts_when_log_end_goes_back() -> None:
    window = w((5, 10), (6, 12))
    assert ls.append(window, Point(0, 3), 4) == w((0, 3))


def test_append_size_below_one_keeps_one_point() -> None:
    assert ls.append(w((1, 2)), Point(2, 3), 0) == w((2, 3))


def test_rewound() -> None:
    assert ls.rewound(w((5, 10), (3, 10)))
    assert ls.rewound(w((5, 10), (6, 10), (2, 10), (4, 10)))
    assert not ls.rewound(w((5, 10), (5, 10), (7, 10)))
    assert not ls.rewound(w((5, 10)))
    assert not ls.rewound(())


def test_caught_up() -> None:
    assert ls.caught_up(w((5, 10), (10, 10)))
    assert not ls.caught_up(w((10, 10), (10, 11)))
    assert not ls.caught_up(())


def test_complete() -> None:
    assert ls.complete(w((1, 1), (1, 1)), 2)
    assert not ls.complete(w((1, 1)), 2)


def test_committed_still() -> None:
    assert ls.committed_still(w((3, 5), (3, 9), (3, 12)))
    assert not ls.committed_still(w((3, 5), (4, 9)))


def test_always_lagging() -> None:
    assert ls.always_lagging(w((3, 5), (3, 9)))
    assert not ls.always_lagging(w((3, 5), (9, 9)))
    assert not ls.always_lagging(())


def test_lag_growing() -> None:
    assert ls.lag_growing(w((0, 5), (1, 7), (2, 9)))
    assert ls.lag_growing(w((0, 5), (1, 6), (2, 9)))  # flat step, then up
    assert not ls.lag_growing(w((0, 5), (1, 6)))  # flat overall
    assert not ls.lag_growing(w((0, 5), (4, 7), (5, 9)))  # a dip
    assert not ls.lag_growing(w((0, 5)))


def test_stopped_needs_no_owner() -> None:
    window = w((3, 5), (3, 8))
    assert ls.stopped(window, owned=False)
    assert not ls.stopped(window, owned=True)
    assert not ls.stopped(window, owned=None)


def test_stalled_with_owner_or_unknown_ownership() -> None:
    window = w((3, 5), (3, 5))
    assert ls.stalled(window, owned=True)
    assert ls.stalled(window, owned=None)
    assert not ls.stalled(window, owned=False)
    assert not ls.stalled(w((3, 5), (4, 5)), owned=True)


def test_falling_behind() -> None:
    assert ls.falling_behind(w((0, 5), (2, 9), (4, 14)))
    assert not ls.falling_behind(w((0, 5), (0, 9)))  # no commit: that is stall/stop
    assert not ls.falling_behind(w((0, 5), (4, 9), (8, 12)))  # keeps up


# --- the status, case by case ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("window", "owned", "expected"),
    [
        ((), True, "UNKNOWN"),
        (w((10, 10)), True, "OK"),
        (w((5, 10)), True, "UNKNOWN"),
        (w((5, 10), (3, 10)), True, "REWIND"),
        (w((5, 10), (3, 3)), True, "REWIND"),  # rewound to the end: still a rewind
        (w((5, 10), (5, 10), (5, 10), (5, 10)), True, "STALL"),
        (w((5, 10), (5, 10), (5, 10), (5, 10)), None, "STALL"),
        (w((5, 10), (5, 10), (5, 10), (5, 10)), False, "STOP"),
        (w((5, 10), (5, 12), (5, 13), (5, 20)), False, "STOP"),
        (w((0, 10), (2, 13), (4, 16), (6, 19)), True, "WARN"),
        (w((0, 10), (2, 13), (4, 16), (6, 19)), False, "WARN"),
        (w((0, 10), (5, 13), (9, 16), (12, 19)), True, "OK"),  # lag shrinks
        (w((0, 10), (2, 12), (4, 14), (6, 16)), True, "OK"),  # lag steady
        (w((5, 5), (5, 5), (5, 5), (5, 6)), True, "OK"),  # lagging only since the last poll
        (w((0, 10), (10, 10), (10, 12), (10, 14)), True, "OK"),  # lag 0 inside the window
    ],
)
def test_partition_status_cases(window: ls.Window, owned: bool | None, expected: str) -> None:
    assert partition_status(window, owned, SIZE) == expected


def test_rewind_outranks_lag_zero_and_stop() -> None:
    assert partition_status(w((5, 10), (5, 10), (3, 10), (3, 10)), False, SIZE) == "REWIND"
    assert partition_status(w((9, 10), (2, 10), (10, 10)), True, SIZE) == "REWIND"


def test_rewind_leaves_the_window_after_size_polls() -> None:
    window: ls.Window = ()
    window = ls.append(window, Point(8, 10), SIZE)
    window = ls.append(window, Point(2, 10), SIZE)
    assert partition_status(window, False, SIZE) == "REWIND"
    for _ in range(SIZE - 1):
        window = ls.append(window, Point(2, 10), SIZE)
    assert partition_status(window, False, SIZE) == "STOP"


# --- exhaustive: every window of up to SIZE points over small offsets ----------------------

OFFSETS = range(4)


def all_windows() -> list[ls.Window]:
    points = [Point(c, e) for c in OFFSETS for e in OFFSETS]
    result: list[ls.Window] = []
    for n in range(1, SIZE + 1):
        for combo in itertools.product(points, repeat=n):
            window: ls.Window = ()
            for p in combo:
                window = ls.append(window, p, SIZE)
            if len(window) == n:  # only windows that append can really build
                result.append(window)
    return result


WINDOWS = all_windows()


def test_exhaustive_windows_cover_every_status() -> None:
    seen = {partition_status(win, owned, SIZE) for win in WINDOWS for owned in (True, False, None)}
    assert seen == set(ls.SEVERITY)


@pytest.mark.parametrize("owned", [True, False, None])
def test_exhaustive_status_definitions(owned: bool | None) -> None:
    """Each status holds exactly when its definition does, for every window."""
    for win in WINDOWS:
        status = partition_status(win, owned, SIZE)
        back = any(b.committed < a.committed for a, b in itertools.pairwise(win))
        last_lag = max(0, win[-1].end - win[-1].committed)
        lags = [max(0, p.end - p.committed) for p in win]
        still = len({p.committed for p in win}) == 1
        past = win[-1].committed > win[-1].end
        assert (status == "PAST_END") == past, win
        if past:
            continue
        assert (status == "REWIND") == back, win
        if back:
            continue
        assert (status == "OK" and last_lag == 0) or last_lag > 0, win
        if last_lag == 0:
            assert status == "OK", win
            continue
        if len(win) < SIZE:
            assert status == "UNKNOWN", win
            continue
        stuck = still and min(lags) > 0
        assert (status == "STOP") == (stuck and owned is False), win
        assert (status == "STALL") == (stuck and owned is not False), win
        growing = all(b >= a for a, b in itertools.pairwise(lags)) and lags[-1] > lags[0]
        assert (status == "WARN") == (not still and min(lags) > 0 and growing), win
        if status == "OK":
            assert not stuck and not (min(lags) > 0 and growing), win


def test_exhaustive_windows_never_see_the_log_end_go_back() -> None:
    for win in WINDOWS:
        assert all(b.end >= a.end for a, b in itertools.pairwise(win))


# --- groups ---------------------------------------------------------------------------------


def test_group_status_is_the_worst() -> None:
    assert ls.group_status(["OK", "OK"]) == "OK"
    assert ls.group_status(["OK", "UNKNOWN"]) == "UNKNOWN"
    assert ls.group_status(["REWIND", "WARN", "OK"]) == "WARN"
    assert ls.group_status(["STOP", "STALL", "WARN"]) == "STALL"
    assert ls.group_status(["STOP", "REWIND"]) == "STOP"
    assert ls.group_status([]) is None


def test_group_status_order_is_total() -> None:
    for a, b in itertools.combinations(ls.SEVERITY, 2):
        assert ls.group_status([a, b]) == b


def test_group_statuses_per_group() -> None:
    statuses: dict[ls.Key, ls.Status] = {
        ("g1", "t", 0): "OK",
        ("g1", "t", 1): "STALL",
        ("g2", "t", 0): "WARN",
    }
    assert ls.group_statuses(statuses) == {"g1": "STALL", "g2": "WARN"}


# --- the tracker across polls ---------------------------------------------------------------


def test_tracker_judges_each_partition_across_polls() -> None:
    tracker = LagStatusTracker(size=3)
    owners = {"g": frozenset({("t", 0)})}
    result = {}
    for i in range(3):
        result = tracker.update(
            {"g": {("t", 0): 5, ("t", 1): 10 + i}},
            {("t", 0): Offsets(0, 10 + i), ("t", 1): Offsets(0, 10 + i)},
            owners,
        )
    assert result == {("g", "t", 0): "STALL", ("g", "t", 1): "OK"}


def test_tracker_keeps_an_unchanged_point_once() -> None:
    """Polls that see the same offsets (fresh int objects each time, as from a new answer) add
    the same point object again, not an equal one: an idle partition's window costs one point."""
    tracker = LagStatusTracker(size=4)
    for i in range(6):
        end = int("1000") + (i // 3)  # moves once, after the third poll
        tracker.update({"g": {("t", 0): int("900")}}, {("t", 0): Offsets(0, end)}, None)
    window = tracker.windows[("g", "t", 0)]
    assert window == ((900, 1000), (900, 1001), (900, 1001), (900, 1001))
    assert len({id(point) for point in window}) == 2


def test_tracker_stop_when_no_member_owns_the_partition() -> None:
    tracker = LagStatusTracker(size=2)
    for _ in range(2):
        result = tracker.update(
            {"g": {("t", 0): 5}}, {("t", 0): Offsets(0, 10)}, {"g": frozenset()}
        )
    assert result == {("g", "t", 0): "STOP"}


def test_tracker_unknown_ownership_when_groups_not_described() -> None:
    tracker = LagStatusTracker(size=2)
    for _ in range(2):
        result = tracker.update({"g": {("t", 0): 5}}, {("t", 0): Offsets(0, 10)}, None)
    assert result == {("g", "t", 0): "STALL"}
    for _ in range(2):
        result = tracker.update({"g": {("t", 0): 5}}, {("t", 0): Offsets(0, 10)}, {})
    assert result == {("g", "t", 0): "STALL"}  # group not described: ownership unknown


def test_tracker_forgets_deleted_groups_and_partitions() -> None:
    tracker = LagStatusTracker(size=2)
    tracker.update({"g": {("t", 0): 1}, "h": {("t", 0): 1}}, {("t", 0): Offsets(0, 2)}, None)
    tracker.update({"g": {("t", 0): 1}}, {("t", 0): Offsets(0, 2)}, None)
    assert set(tracker.windows) == {("g", "t", 0)}


def test_tracker_keeps_window_but_no_status_without_log_end() -> None:
    tracker = LagStatusTracker(size=3)
    tracker.update({"g": {("t", 0): 1}}, {("t", 0): Offsets(0, 5)}, None)
    result = tracker.update({"g": {("t", 0): 1}}, {}, None)
    assert result == {}
    assert tracker.windows[("g", "t", 0)] == w((1, 5))
    result = tracker.update({"g": {("t", 0): 1}}, {("t", 0): Offsets(0, -1)}, None)
    assert result == {}


def test_tracker_rewind_from_reset_offsets() -> None:
    tracker = LagStatusTracker(size=5)
    tracker.update({"g": {("t", 0): 100}}, {("t", 0): Offsets(0, 100)}, {"g": frozenset()})
    result = tracker.update({"g": {("t", 0): 0}}, {("t", 0): Offsets(0, 100)}, {"g": frozenset()})
    assert result == {("g", "t", 0): "REWIND"}


def test_tracker_topic_recreated_is_not_a_rewind() -> None:
    tracker = LagStatusTracker(size=5)
    tracker.update({"g": {("t", 0): 100}}, {("t", 0): Offsets(0, 100)}, None)
    result = tracker.update({"g": {("t", 0): 0}}, {("t", 0): Offsets(0, 3)}, None)
    assert result == {("g", "t", 0): "UNKNOWN"}


def test_tracker_offset_past_the_log_end_is_past_end_and_the_worst() -> None:
    tracker = LagStatusTracker(size=5)
    tracker.update({"g": {("t", 0): 100}}, {("t", 0): Offsets(0, 100)}, None)
    # the topic recreated under the group: its offset now lies 97 past the log end
    result = tracker.update({"g": {("t", 0): 100}}, {("t", 0): Offsets(0, 3)}, None)
    assert result == {("g", "t", 0): "PAST_END"}
    assert ls.group_status(["STALL", "PAST_END", "OK"]) == "PAST_END"


def test_tracker_partial_answer_forgets_nothing() -> None:
    tracker = LagStatusTracker(size=2)
    tracker.update({"g": {("t", 0): 1}, "h": {("t", 0): 1}}, {("t", 0): Offsets(0, 2)}, None)
    tracker.update({"g": {("t", 0): 1}}, {("t", 0): Offsets(0, 2)}, None, forget=False)
    assert set(tracker.windows) == {("g", "t", 0), ("h", "t", 0)}


@pytest.mark.parametrize("owned", [True, False, None])
def test_one_pass_status_equals_the_rules_applied_in_order(owned: bool | None) -> None:
    for size in (1, 2, SIZE):
        for win in WINDOWS:
            assert partition_status(win, owned, size) == ls.status_by_rules(win, owned, size), win
    assert partition_status((), owned, SIZE) == ls.status_by_rules((), owned, SIZE) == "UNKNOWN"


@given(
    st.integers(0, 4),
    st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), max_size=12),
)
def test_tracker_windows_and_statuses_follow_append_and_the_rules(
    size: int, polls: list[tuple[int, int]]
) -> None:
    """The tracker's loop writes `append` out (with a shortcut for a full window that did not
    move): poll after poll, its window and status equal `append` and `status_by_rules`."""
    tracker = LagStatusTracker(size=size)
    window: ls.Window = ()
    for committed, end in polls:
        result = tracker.update({"g": {("t", 0): committed}}, {("t", 0): Offsets(0, end)}, None)
        window = ls.append(window, Point(committed, end), size)
        assert tracker.windows[("g", "t", 0)] == window
        assert result == {("g", "t", 0): ls.status_by_rules(window, None, size)}
