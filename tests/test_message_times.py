"""Which offsets the message_times stage reads (no broker needed: nothing here reads)."""

from __future__ import annotations

from exporter.sources.admin_model import Offsets
from exporter.sources.message_times import MessageTimesSource


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
