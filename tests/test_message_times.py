"""Which offsets the message_times stage reads, and when (no broker: a read here finds none)."""

from __future__ import annotations

from concurrent.futures import Future

from exporter.sources.admin_model import Offsets, TopicPartition
from exporter.sources.message_times import EarlyReads, MessageTimesSource, first_unknown
from exporter.sources.partition_reader import Read


def source(mode: str) -> MessageTimesSource:
    return MessageTimesSource(mode, {"bootstrap.servers": "127.0.0.1:1"}, 600.0)  # type: ignore[arg-type]


COMMITTED = {
    "stopped": {("t", 0): 10, ("t", 1): 50},
    "behind": {("t", 0): 120},
    "caught-up": {("t", 0): 200, ("t", 1): 80},
}


def test_exact_reads_every_lagging_offset_auto_only_below_the_first_log_end() -> None:
    first = {("t", 0): Offsets(0, 100), ("t", 1): Offsets(0, 80)}
    later = {("t", 0): Offsets(0, 200), ("t", 1): Offsets(0, 80)}
    exact, auto = source("exact"), source("auto")
    for s in (exact, auto):
        s._observe(first)
        s._observe(later)
    # lagging: stopped t/0 (10), stopped t/1 (50), behind t/0 (120); caught-up lags nowhere
    assert exact._wanted(COMMITTED, later) == {("t", 0, 10), ("t", 1, 50), ("t", 0, 120)}
    # auto: only offsets below the first log end seen (100 on t/0, 80 on t/1): older than the
    # history, where interpolation would extrapolate; 120 lies inside the history
    assert auto._wanted(COMMITTED, later) == {("t", 0, 10), ("t", 1, 50)}


def test_auto_history_restarts_when_the_log_end_goes_back() -> None:
    auto = source("auto")
    auto._observe({("t", 0): Offsets(0, 100)})
    auto._observe({("t", 0): Offsets(0, 5)})  # recreated: the history starts again at 5
    auto._observe({("t", 0): Offsets(0, 30)})
    now = {("t", 0): Offsets(0, 30)}
    assert auto._wanted({"g": {("t", 0): 2}, "h": {("t", 0): 10}}, now) == {("t", 0, 2)}
    auto._observe({})  # deleted: forgotten
    auto._observe(now)  # seen again: its history starts at 30
    assert auto._wanted({"h": {("t", 0): 10}}, now) == {("t", 0, 10)}


def test_early_reads_what_lagged_at_the_last_log_ends() -> None:
    exact, auto = source("exact"), source("auto")
    for s in (exact, auto):
        s._observe({("t", 0): Offsets(0, 100), ("t", 1): Offsets(0, 80)})
        s._observe({("t", 0): Offsets(0, 150), ("t", 1): Offsets(0, 80)})
    committed = {
        "stopped": {("t", 0): 10, ("t", 1): 50},
        "behind": {("t", 0): 120},  # below the last log end (150), above the first (100)
        "at-end": {("t", 0): 150, ("t", 1): 80},  # may lag now: known after the offsets stage
        "new": {("u", 0): 3},  # a partition never seen: after the offsets stage
    }
    assert exact._early(committed) == {("t", 0, 10), ("t", 1, 50), ("t", 0, 120)}
    assert auto._early(committed) == {("t", 0, 10), ("t", 1, 50)}


def test_first_unknown_one_read_per_partition_lowest_offset_first() -> None:
    wanted = {("t", 0, 10), ("t", 0, 120), ("t", 1, 50), ("t", 2, 7), ("d", 0, 1)}
    known = {("t", 1, 50)}  # answered in an earlier cycle, the offset has not moved
    first = first_unknown(wanted, known, {("t", 2)}, {"d": 2.0}, now=1.0)
    # t/0: the lowest offset (120 follows in a later cycle); t/1 known; t/2 read already this
    # cycle (early); d denied until 2.0
    assert first == {("t", 0): 10}
    assert first_unknown(wanted, known, (), {"d": 2.0}, now=3.0) == {
        ("t", 0): 10,
        ("t", 2): 7,
        ("d", 0): 1,
    }


def early(answers: dict[TopicPartition, Read]) -> EarlyReads:
    done: Future[dict[TopicPartition, Read]] = Future()
    done.set_result(answers)
    return EarlyReads({tp: 10 for tp in answers}, done)


def test_fetch_takes_early_answers_and_reads_no_partition_twice() -> None:
    s = source("exact")
    s._observe({("t", 0): Offsets(0, 100), ("t", 1): Offsets(0, 100)})
    now = {("t", 0): Offsets(0, 120), ("t", 1): Offsets(0, 5)}  # t/1 recreated: end went back
    committed = {"g": {("t", 0): 10, ("t", 1): 10}, "h": {("t", 0): 110}}
    got = s.fetch(committed, now, 500.0, 0.3, early({
        ("t", 0): Read("found", 10, 123.0), ("t", 1): Read("found", 12, 124.0)}))  # fmt: skip
    # t/0: its early answer; h's 110 on the same partition waits for the next cycle (no second
    # read of t/0, so the unreachable reader is never asked); t/1 no longer lags: dropped
    assert got.times == {("t", 0, 10): 123.0}
    assert got.reads == {"found": 2}
    again = s.fetch(committed, now, 501.0, 0.3, s.start_early(committed, 0.3))
    # t/0 at 10 known and reused; 110 read now (early: it lagged at the last log end), and the
    # unreachable broker answers nothing in time
    assert again.times == {("t", 0, 10): 123.0}
    assert again.reads == {"found": 2, "timeout": 1}
    s.close()
