"""Rebalance hygiene: rebalancing states, seconds credited per interval, protocol, membership."""

from __future__ import annotations

import pytest

from exporter.domain import hygiene as hy
from exporter.sources.admin_model import GroupDescription, Member


def group(
    state: str = "Stable", assignor: str = "range", type_: str = "classic", *ids: str | None
) -> GroupDescription:
    members = tuple(Member(f"m{i}", "c", "h", gid, ()) for i, gid in enumerate(ids))
    return GroupDescription("g", state, type_, assignor, 1, False, members)


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("Stable", False),
        ("Empty", False),
        ("Dead", False),
        ("Unknown", False),
        ("PreparingRebalance", True),
        ("CompletingRebalance", True),
        ("Assigning", True),
        ("Reconciling", True),
    ],
)
def test_rebalancing_states(state: str, expected: bool) -> None:
    assert hy.rebalancing(group(state)) is expected


@pytest.mark.parametrize(
    ("was", "now", "elapsed", "expected"),
    [
        (False, False, 30.0, 0.0),
        (True, False, 30.0, 15.0),
        (False, True, 30.0, 15.0),
        (True, True, 30.0, 30.0),
        (True, True, 500.0, 60.0),  # capped
        (True, True, -5.0, 0.0),  # clock went back
    ],
)
def test_rebalancing_seconds(was: bool, now: bool, elapsed: float, expected: float) -> None:
    assert hy.rebalancing_seconds(was, now, elapsed, 60.0) == expected


def test_one_rebalance_seen_by_one_poll_counts_one_interval() -> None:
    total = hy.rebalancing_seconds(False, True, 30.0, 60.0)
    total += hy.rebalancing_seconds(True, False, 30.0, 60.0)
    assert total == 30.0


def test_dynamic_members() -> None:
    assert hy.dynamic_members(group("Stable", "range", "classic", None, "", "pod-1")) == 2
    assert hy.dynamic_members(group("Stable", "range", "classic", "pod-0", "pod-1")) == 0
    assert hy.dynamic_members(group("Empty")) == 0


@pytest.mark.parametrize(
    ("assignor", "type_", "expected"),
    [
        ("range", "classic", "eager"),
        ("roundrobin", "classic", "eager"),
        ("sticky", "classic", "eager"),
        ("cooperative-sticky", "classic", "cooperative"),
        ("Cooperative-Sticky ", "classic", "cooperative"),
        ("stream", "classic", "cooperative"),
        ("uniform", "consumer", "consumer"),
        ("range", "consumer", "consumer"),
        ("", "classic", "unknown"),
        ("my-assignor", "classic", "unknown"),
        ("", "unknown", "unknown"),
    ],
)
def test_rebalance_protocol(assignor: str, type_: str, expected: str) -> None:
    assert hy.rebalance_protocol(group("Stable", assignor, type_)) == expected
