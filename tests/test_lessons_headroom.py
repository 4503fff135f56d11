"""Partition headroom: idle members, members per topic, plans and the headroom ratio."""

from __future__ import annotations

import pytest

from exporter.domain import headroom as hr
from exporter.sources.admin_model import GroupDescription, Member, TopicPartition


def member(name: str, *assignment: TopicPartition, instance: str | None = None) -> Member:
    return Member(name, f"client-{name}", "/127.0.0.1", instance, tuple(assignment))


def group(state: str, *members: Member) -> GroupDescription:
    return GroupDescription("g", state, "classic", "range", 1, False, tuple(members))


FOUR_ON_THREE = group(
    "Stable",
    member("a", ("t", 0)),
    member("b", ("t", 1)),
    member("c", ("t", 2)),
    member("d"),
)


def test_idle_members_in_a_stable_group() -> None:
    assert hr.idle_members(FOUR_ON_THREE) == 1


@pytest.mark.parametrize(
    "state", ["PreparingRebalance", "CompletingRebalance", "Assigning", "Reconciling", "Unknown"]
)
def test_no_idle_count_while_rebalancing(state: str) -> None:
    assert hr.idle_members(group(state, member("a"), member("b"))) is None
    assert hr.topic_members(group(state, member("a"))) is None


def test_empty_group_has_no_idle_members() -> None:
    assert hr.idle_members(group("Empty")) == 0
    assert hr.topic_members(group("Empty")) == {}


def test_topic_members_counts_each_member_once_per_topic() -> None:
    g = group(
        "Stable",
        member("a", ("t", 0), ("t", 1), ("u", 0)),
        member("b", ("t", 2)),
        member("c"),
    )
    assert hr.topic_members(g) == {"t": 2, "u": 1}


def test_group_topics_joins_assignments_and_commits() -> None:
    assert hr.group_topics(FOUR_ON_THREE, {("old", 0): 5}) == {"t", "old"}
    assert hr.group_topics(None, {("old", 0): 5}) == {"old"}
    assert hr.group_topics(FOUR_ON_THREE, None) == {"t"}
    assert hr.group_topics(None, None) == set()


def test_planned_members_group_plan_wins() -> None:
    assert hr.planned_members("g", "t", {"g": 6}, {"t": 4}) == 6
    assert hr.planned_members("h", "t", {"g": 6}, {"t": 4}) == 4
    assert hr.planned_members("h", "u", {"g": 6}, {"t": 4}) is None


@pytest.mark.parametrize(
    ("partitions", "planned", "members", "expected"),
    [
        (3, None, 4, 0.75),
        (12, 10, 3, 1.2),
        (6, 6, 8, 1.0),
        (3, None, 0, None),
        (3, 0, 4, None),  # a plan of 0 consumers: nothing to divide by
        (0, 3, 3, None),
    ],
)
def test_headroom_ratio(
    partitions: int, planned: int | None, members: int, expected: float | None
) -> None:
    assert hr.headroom_ratio(partitions, planned, members) == expected
