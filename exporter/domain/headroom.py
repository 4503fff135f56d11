"""Partition headroom: can a consumer group use all its members, and grow to its plan?

A topic's partition count caps how many members of one group can consume it. Members beyond that
sit idle; a group planned to scale to N consumers needs at least N x 1.2 partitions to have room.
Assignments are read only from groups in a settled state (Stable or Empty): while a group
rebalances, its members' assignments are briefly empty and would look idle.
"""

from __future__ import annotations

from collections.abc import Mapping

from exporter.sources.admin_model import GroupDescription, TopicPartition

SETTLED_STATES = frozenset({"Stable", "Empty"})


def settled(group: GroupDescription) -> bool:
    """The group's assignments can be trusted (not in the middle of a rebalance)."""
    return group.state in SETTLED_STATES


def idle_members(group: GroupDescription) -> int | None:
    """Members with no partition assigned, or None while the group is not settled."""
    if not settled(group):
        return None
    return sum(1 for m in group.members if not m.assignment)


def topic_members(group: GroupDescription) -> dict[str, int] | None:
    """Per topic, the members with at least one of its partitions; None while not settled."""
    if not settled(group):
        return None
    counts: dict[str, int] = {}
    for m in group.members:
        for topic in {t for t, _ in m.assignment}:
            counts[topic] = counts.get(topic, 0) + 1
    return counts


def group_topics(
    group: GroupDescription | None, committed: Mapping[TopicPartition, int] | None
) -> set[str]:
    """Topics the group consumes: assigned to a member, or with a committed offset."""
    topics = {t for t, _ in committed} if committed else set()
    if group is not None:
        topics.update(t for m in group.members for t, _ in m.assignment)
    return topics


def planned_members(
    group: str,
    topic: str,
    by_group: Mapping[str, int],
    by_topic: Mapping[str, int],
) -> int | None:
    """The configured plan for the group on the topic: the group's own plan wins."""
    if group in by_group:
        return by_group[group]
    return by_topic.get(topic)


def headroom_ratio(partitions: int, planned: int | None, members: int) -> float | None:
    """Partitions per planned consumer (or per current member without a plan); None when there
    is nothing to divide by."""
    basis = planned if planned is not None else members
    if basis <= 0 or partitions <= 0:
        return None
    return partitions / basis
