"""`python -m bench.offline` on the small scenario: the offsets-log shape of its views and the
timed trip through pickle. No Kafka; nothing about speed is asserted (benchmarks are not timed
tests)."""

from __future__ import annotations

import pickle

import pytest

from bench.offline import main, view
from bench.scenarios import SCENARIOS


def test_a_log_view_has_a_commit_time_for_every_committed_offset() -> None:
    s = SCENARIOS["small"]
    first, later = view(s, 0, 100.0, from_log=True), view(s, 3, 190.0, from_log=True)
    assert first.committed_source == "log" and first.committed_ready
    assert first.commit_times is not None and first.committed is not None
    assert {g: set(c) for g, c in first.commit_times.items()} == {
        g: set(c) for g, c in first.committed.items()
    }
    assert later.commit_times is not None  # an offset that moved was committed again, later
    assert all(
        later.commit_times[g][tp] > at for g, times in first.commit_times.items()
        for tp, at in times.items()
    )  # fmt: skip
    still = view(s, 0, 100.0)
    assert still.committed_source == "admin" and still.commit_times is None
    assert pickle.loads(pickle.dumps(first)) == first


def series_of(out: str) -> int:
    return [int(x.split("=")[1]) for x in out.split() if x.startswith("series=")][-1]


def test_the_log_mode_run_times_the_commit_times_and_the_transfer(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--scenario", "small", "--cycles", "1"]) == 0
    admin = series_of(capsys.readouterr().out)
    assert main(["--scenario", "small", "--cycles", "1", "--log", "--transfer"]) == 0
    out = capsys.readouterr().out
    assert "committed offsets from the log" in out
    for line in ("collector commit_times", "transfer: pickled in the child",
                 "transfer: unpickled (in the cycle)"):  # fmt: skip
        assert line in out
    s = SCENARIOS["small"]
    assert series_of(out) >= admin + s.groups * s.partitions  # one commit time per offset
