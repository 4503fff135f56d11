"""Lag in seconds: the pure history and interpolation rules of exporter.domain.lag_time."""

from __future__ import annotations

import math
from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st

from exporter.domain.lag_time import LagClock, Point, lag_seconds, record, time_at_offset

CAP = 600.0


def history(*points: tuple[int, float], max_points: int = 60) -> tuple[Point, ...]:
    h: tuple[Point, ...] = ()
    for offset, t in points:
        h = record(h, offset, t, max_points)
    return h


# ---- record -------------------------------------------------------------------------------


def test_record_appends_rising_offsets() -> None:
    assert history((10, 1.0), (20, 2.0)) == (Point(10, 1.0), Point(20, 2.0))


def test_record_ignores_unknown_offset() -> None:
    h = history((10, 1.0))
    assert record(h, -1, 2.0, 60) == h


def test_record_compresses_a_plateau_to_its_first_and_last_point() -> None:
    h = history((10, 1.0), (10, 2.0), (10, 3.0), (10, 4.0))
    assert h == (Point(10, 1.0), Point(10, 4.0))


def test_record_plateau_after_growth_keeps_growth() -> None:
    h = history((5, 0.0), (10, 1.0), (10, 2.0), (10, 3.0), (12, 4.0))
    assert h == (Point(5, 0.0), Point(10, 1.0), Point(10, 3.0), Point(12, 4.0))


def test_record_resets_when_the_offset_goes_backwards() -> None:
    h = history((100, 1.0), (200, 2.0), (5, 3.0))
    assert h == (Point(5, 3.0),)


def test_record_resets_when_the_clock_goes_backwards() -> None:
    h = history((100, 10.0), (200, 20.0), (300, 15.0))
    assert h == (Point(300, 15.0),)


def test_record_same_instant_keeps_the_newer_offset() -> None:
    assert history((100, 10.0), (150, 10.0)) == (Point(150, 10.0),)
    assert history((100, 10.0), (100, 10.0)) == (Point(100, 10.0),)


def test_record_is_bounded() -> None:
    h = history(*((i * 10, float(i)) for i in range(100)), max_points=5)
    assert len(h) == 5
    assert h[0] == Point(950, 95.0) and h[-1] == Point(990, 99.0)


def test_record_keeps_at_least_two_points() -> None:
    assert len(history((1, 1.0), (2, 2.0), (3, 3.0), max_points=1)) == 2


# ---- lag_seconds --------------------------------------------------------------------------


def test_no_history_is_unknown() -> None:
    assert lag_seconds((), 10, 100.0, CAP) is None


def test_caught_up_is_zero() -> None:
    h = history((100, 10.0), (200, 20.0))
    assert lag_seconds(h, 200, 25.0, CAP) == 0.0


def test_committed_above_log_end_is_zero() -> None:
    assert lag_seconds(history((100, 10.0)), 150, 25.0, CAP) == 0.0


def test_interpolates_between_points() -> None:
    h = history((100, 10.0), (200, 20.0))
    assert lag_seconds(h, 150, 20.0, CAP) == 5.0
    assert lag_seconds(h, 100, 20.0, CAP) == 10.0


def test_interpolation_uses_the_newest_matching_pair() -> None:
    # the log end sat at 100 from t=10 until at least t=30, then grew to 200 by t=40
    h = history((100, 10.0), (100, 20.0), (100, 30.0), (200, 40.0))
    assert lag_seconds(h, 100, 40.0, CAP) == 10.0
    assert lag_seconds(h, 150, 40.0, CAP) == 5.0


def test_idle_topic_with_caught_up_group_stays_zero() -> None:
    h: tuple[Point, ...] = ()
    for t in range(0, 3600, 30):
        h = record(h, 500, float(t), 60)
        assert lag_seconds(h, 500, float(t), CAP) == 0.0


def test_idle_topic_with_lag_grows_with_time_since_the_first_sight() -> None:
    # a group stuck at 400 on a topic whose log end is 500 and does not move
    h = history((500, 0.0), (500, 30.0))
    assert lag_seconds(h, 400, 30.0, CAP) == 30.0
    h = record(h, 500, 600.0, 60)
    assert lag_seconds(h, 400, 600.0, CAP) == 600.0
    assert len(h) == 2


def test_single_point_below_the_history_is_unknown() -> None:
    assert lag_seconds(history((500, 0.0)), 400, 0.0, CAP) is None


def test_extrapolates_at_the_average_rate() -> None:
    # 10 messages per second; committed 50 messages before the oldest point: 5 s before it
    h = history((1000, 100.0), (1100, 110.0))
    assert math.isclose(lag_seconds(h, 950, 110.0, CAP) or -1, 15.0)


def test_extrapolation_rate_ignores_idle_stretches() -> None:
    # 10 messages/s for 10 s, then idle: the estimate of when offset 950 was written must not
    # move however long the idle stretch lasts (it used to, at the rate averaged over the idle)
    moving = history((1000, 100.0), (1100, 110.0))
    for idle in (6.0, 60.0, 500.0):
        h = record(moving, 1100, 110.0 + idle, 60)
        assert math.isclose(time_at_offset(h, 950, CAP) or -1, 95.0), idle
        assert math.isclose(lag_seconds(h, 950, 110.0 + idle, CAP) or -1, 15.0 + idle), idle
    # an idle stretch in the middle counts neither
    h = history((1000, 100.0), (1050, 105.0), (1050, 200.0), (1100, 205.0))
    assert math.isclose(time_at_offset(h, 950, CAP) or -1, 95.0)


def test_extrapolation_is_capped() -> None:
    h = history((1_000_000, 100.0), (1_000_010, 110.0))
    assert lag_seconds(h, 0, 110.0, CAP) == 10.0 + CAP


def test_extrapolation_cap_zero_means_no_extrapolation() -> None:
    h = history((1000, 100.0), (1100, 110.0))
    assert lag_seconds(h, 0, 110.0, 0.0) == 10.0


def test_never_negative_when_now_is_before_the_history() -> None:
    h = history((100, 10.0), (200, 20.0))
    assert lag_seconds(h, 150, 0.0, CAP) == 0.0


def test_steady_traffic_stopped_consumer_grows_by_elapsed_time() -> None:
    # 10 msg/s; the consumer stops at offset 1000 at t=100
    h: tuple[Point, ...] = ()
    values = []
    for t in range(0, 400, 10):
        h = record(h, t * 10, float(t), 60)
        values.append((t, lag_seconds(h, 1000, float(t), CAP)))
    later = [(t, v) for t, v in values if t >= 110]
    for (t1, v1), (t2, v2) in pairwise(later):
        assert v1 is not None and v2 is not None
        assert math.isclose(v2 - v1, t2 - t1)
    assert math.isclose(dict(values)[390] or -1, 290.0)


def test_time_at_offset_at_the_log_end_is_the_newest_point() -> None:
    assert time_at_offset(history((1, 1.0), (5, 9.0)), 5, CAP) == 9.0


@given(
    st.lists(st.tuples(st.integers(0, 50), st.floats(0.1, 100)), min_size=1, max_size=80),
    st.integers(0, 10_000),
    st.floats(0, 1000),
)
def test_bounded_and_never_negative(
    steps: list[tuple[int, float]], committed: int, after: float
) -> None:
    h: tuple[Point, ...] = ()
    offset, t = 0, 0.0
    for add, dt in steps:
        offset += add
        t += dt
        h = record(h, offset, t, 10)
    now = t + after
    value = lag_seconds(h, committed, now, CAP)
    assert len(h) <= 10
    assert all(a.offset <= b.offset and a.time <= b.time for a, b in pairwise(h))
    if value is not None:
        assert 0.0 <= value <= now - h[0].time + CAP + 1e-6
    if committed >= offset:
        assert value == 0.0


# ---- LagClock -----------------------------------------------------------------------------


def test_clock_forgets_partitions_that_are_gone_but_keeps_unread_ones() -> None:
    clock = LagClock(max_points=60, max_extrapolation=CAP)
    clock.observe({("a", 0): 10, ("b", 0): 10}, 1.0)
    clock.observe({("a", 0): 20}, 2.0, keep=[("b", 0)])
    assert clock.history(("b", 0)) == (Point(10, 1.0),)
    clock.observe({("a", 0): 30}, 3.0)
    assert clock.history(("b", 0)) == ()
    assert list(clock.partitions()) == [("a", 0)]
    assert clock.lag_seconds(("a", 0), 20, 3.0) == 1.0


def test_clock_resets_on_recreated_topic() -> None:
    clock = LagClock(max_points=60, max_extrapolation=CAP)
    clock.observe({("a", 0): 1000}, 1.0)
    clock.observe({("a", 0): 2000}, 2.0)
    clock.observe({("a", 0): 3}, 3.0)
    assert clock.history(("a", 0)) == (Point(3, 3.0),)
    assert clock.lag_seconds(("a", 0), 3, 3.0) == 0.0
