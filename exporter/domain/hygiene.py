"""Rebalance hygiene: how a group rebalances, and how long it spends doing it.

A group whose members restart one by one (a rolling deploy) rebalances once per restart unless
its members have a `group.instance.id` (static membership), and with an eager assignor every
rebalance stops the whole group. This module classifies the assignor, counts dynamic members
and turns the group state seen at each poll into seconds spent rebalancing.
"""

from __future__ import annotations

from typing import Literal

from exporter.domain.groups import is_rebalancing
from exporter.sources.admin_model import GroupDescription

Protocol = Literal["eager", "cooperative", "consumer", "unknown"]

EAGER_ASSIGNORS = frozenset({"range", "roundrobin", "sticky"})
COOPERATIVE_ASSIGNORS = frozenset({"cooperative-sticky", "stream"})
"""`stream` is Kafka Streams' assignor, cooperative since Kafka 2.4."""


def rebalancing(group: GroupDescription) -> bool:
    """The group is in one of the states of a rebalance (not Stable, Empty, Dead or Unknown)."""
    return is_rebalancing(group.state)


def rebalancing_seconds(
    was_rebalancing: bool, is_rebalancing: bool, elapsed: float, max_elapsed: float
) -> float:
    """Seconds to credit for one poll interval: all of it when both ends saw a rebalance, half
    when one did. The interval is capped so a long gap (failed polls) is not counted whole."""
    interval = min(max(elapsed, 0.0), max_elapsed)
    return interval * (int(was_rebalancing) + int(is_rebalancing)) / 2


def dynamic_members(group: GroupDescription) -> int:
    """Members without a group.instance.id."""
    return sum(1 for m in group.members if not m.group_instance_id)


def rebalance_protocol(group: GroupDescription) -> Protocol:
    """eager, cooperative, consumer (KIP-848 group), or unknown (no assignor, or a custom one)."""
    if group.type == "consumer":
        return "consumer"
    assignor = group.assignor.strip().lower()
    if assignor in EAGER_ASSIGNORS:
        return "eager"
    if assignor in COOPERATIVE_ASSIGNORS:
        return "cooperative"
    return "unknown"
