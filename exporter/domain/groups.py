"""Consumer group states, by Kafka's names, and which of them count as rebalancing.

Classic groups move through PreparingRebalance and CompletingRebalance; groups of the consumer
protocol (KIP-848) through Assigning and Reconciling. Empty, Dead and Unknown are not rebalancing:
nobody is waiting for an assignment.
"""

from __future__ import annotations

REBALANCING_STATES: tuple[str, ...] = (
    "PreparingRebalance",
    "CompletingRebalance",
    "Assigning",
    "Reconciling",
)
"""The states in which a group is rebalancing, in the order the alert and the docs list them."""

SETTLED_STATES: tuple[str, ...] = ("Stable", "Empty", "Dead", "Unknown")
"""Every other state Kafka reports (Unknown: a state this version does not know)."""

GROUP_STATES: tuple[str, ...] = (*SETTLED_STATES[:1], *REBALANCING_STATES, *SETTLED_STATES[1:])
"""Every group state, as the admin source names it."""


def is_rebalancing(state: str) -> bool:
    """Whether a group in `state` is rebalancing."""
    return state in _REBALANCING


_REBALANCING = frozenset(REBALANCING_STATES)
