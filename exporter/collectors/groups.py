"""Collector `groups`: members, state and facts of each consumer group, and rebalances observed.

confluent-kafka's group description carries no generation id, so rebalances are counted from what
two consecutive polls show (`rebalances_observed`): the group entered a rebalancing state
(PreparingRebalance, CompletingRebalance, Assigning, Reconciling), or, between two settled
observations, its member set or assignment changed. It is a lower bound: a rebalance that starts
and ends between two polls and leaves the same members with the same partitions is not seen.
Empty groups stay visible with their state; a group that is gone from the listing is forgotten.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from exporter.catalog import admin as cat
from exporter.collectors.base import CycleData, Input, register
from exporter.domain.groups import is_rebalancing
from exporter.snapshot import Rows, SnapshotBuilder
from exporter.sources.admin_model import GroupDescription, TopicPartition

if TYPE_CHECKING:
    from exporter.config import Config


Membership = frozenset[tuple[str, tuple[TopicPartition, ...]]]


@dataclass(frozen=True, slots=True)
class Seen:
    """What one poll showed of a group, as far as rebalances go."""

    state: str
    membership: Membership


def seen(group: GroupDescription) -> Seen:
    return Seen(group.state, frozenset((m.member_id, m.assignment) for m in group.members))


def rebalances_observed(before: Seen | None, now: Seen) -> int:
    """0 or 1: did a rebalance happen between the two observations?"""
    if before is None:
        return 0
    if is_rebalancing(now.state):
        return 0 if is_rebalancing(before.state) else 1
    if is_rebalancing(before.state):
        return 0  # counted when it was seen rebalancing
    return 1 if now.membership != before.membership else 0


@register
class GroupsCollector:
    name: ClassVar[str] = "groups"
    reads: ClassVar[tuple[Input, ...]] = ("admin",)

    def __init__(self, config: Config) -> None:
        del config
        self._seen: dict[str, Seen] = {}
        self._rebalances: dict[str, int] = {}

    def collect(self, data: CycleData, out: SnapshotBuilder) -> None:
        view = data.cluster
        if view is None or view.groups is None:
            return
        complete = "groups" not in view.failed_stages
        members, state, info, rebalances = (
            Rows(m) for m in (cat.GROUP_MEMBERS, cat.GROUP_STATE, cat.GROUP_INFO,
                              cat.GROUP_REBALANCES)
        )  # fmt: skip
        for group_id in sorted(view.groups):
            g = view.groups[group_id]
            now = seen(g)
            count = self._rebalances.get(group_id, 0) + rebalances_observed(
                self._seen.get(group_id), now
            )
            self._rebalances[group_id] = count
            self._seen[group_id] = now
            members.add((group_id,), len(g.members))
            state.add((group_id, g.state), 1)
            simple = "true" if g.simple else "false"
            info.add((group_id, g.type, g.assignor, str(g.coordinator), simple), 1)
            rebalances.add((group_id,), count)
        for rows in (members, state, info, rebalances):
            rows.write(out)
        if complete:
            # forget groups that are gone; a partial listing forgets nothing
            for gone in set(self._seen) - set(view.groups):
                del self._seen[gone]
                self._rebalances.pop(gone, None)
