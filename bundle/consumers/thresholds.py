"""Thresholds of the consumer alerts: lag in messages and seconds, stalled groups, rebalances.

Sections of `bundle.config.BundleConfig`; each field carries the reason for its default.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bundle.core.knobs import Severity, knob, reason


@dataclass(frozen=True, slots=True)
class ConsumerLag:
    """Consumer lag in messages: committed-offset lag (Admin API) and client records-lag-max."""

    messages: float = knob(
        10_000,
        "At-least-once delivery only holds while consumers keep up; 10,000 messages is where a "
        "typical consumer no longer catches up by itself within minutes.",
    )
    for_: str = knob(
        "10m",
        "Lag spikes during deploys, rebalances and batch producers; only lag that stays high for "
        "10 minutes means the consumer cannot keep up.",
    )
    keep_firing_for: str = knob("0s", "Lag is smooth once sustained; no need to hold the alert.")
    severity: Severity = field(
        default="warning", metadata=reason("Consumers are late, no data is lost yet.")
    )


@dataclass(frozen=True, slots=True)
class LagSeconds:
    """Consumer lag in seconds (how old the oldest unconsumed message is)."""

    seconds: float = knob(
        300,
        "Messages waiting more than 5 minutes break most near-real-time promises; unlike messages "
        "it means the same on busy and on quiet topics.",
    )
    for_: str = knob("10m", "Same as message lag: only sustained delay matters.")
    keep_firing_for: str = knob("0s", "Lag in seconds is smooth once sustained.")
    severity: Severity = field(
        default="warning", metadata=reason("Consumers are late, no data is lost yet.")
    )


@dataclass(frozen=True, slots=True)
class OffsetPastLogEnd:
    """A group whose committed offset lies past the partition's log end."""

    for_: str = knob(
        "1m",
        "Log-end offsets are read after the committed ones and never go down, so no race makes "
        "this; one minute only lets a consumer that is resetting right now finish.",
    )
    keep_firing_for: str = knob(
        "0s", "Resolves once the offset is set right or the consumer reset it: the right moment."
    )
    severity: Severity = field(
        default="critical",
        metadata=reason(
            "The group's next fetch resets by auto.offset.reset: messages are skipped or read "
            "twice without any error; someone must choose the offset now."
        ),
    )


@dataclass(frozen=True, slots=True)
class Stalled:
    """A group with members whose committed offset does not move while it has lag."""

    window: str = knob(
        "10m",
        "A healthy consumer commits at least every few seconds (auto-commit default 5 s); no "
        "commit for 10 minutes while messages wait means it is stuck, not slow.",
    )
    for_: str = knob(
        "5m", "The window already demands 10 minutes without a commit; 5 more confirm."
    )
    keep_firing_for: str = knob("0s", "Resolves with the first commit, which is the right moment.")
    severity: Severity = field(
        default="warning", metadata=reason("Consumption stopped; lag grows from here on.")
    )


@dataclass(frozen=True, slots=True)
class RebalanceRate:
    """Consumer groups rebalancing over and over."""

    per_hour: float = knob(
        6,
        "A deploy or scale event costs a few rebalances; more than 6 an hour, sustained, is a "
        "storm: members time out, crash-loop or are deployed one by one without static membership.",
    )
    window: str = knob("1h", "Rebalances are counted over an hour, like the client's own rate.")
    for_: str = knob(
        "15m", "A single rolling deploy may pass the bar briefly; a storm lasts longer."
    )
    keep_firing_for: str = knob("0s", "The hourly window already smooths it.")
    severity: Severity = field(
        default="warning",
        metadata=reason("Every eager rebalance stops the whole group for a while."),
    )


@dataclass(frozen=True, slots=True)
class RebalanceLatency:
    """Consumer rebalances that take long (client JMX rebalance-latency-avg)."""

    ms: float = knob(
        10_000,
        "A healthy rebalance takes a second or two; 10 s each means slow partition revocation "
        "or members that barely make max.poll.interval.ms, and the group consumes nothing then.",
    )
    for_: str = knob(
        "5m",
        "The client reports the average only for a minute after a rebalance (NaN, hence absent, "
        "otherwise), so 5 m means slow rebalances keep happening.",
    )
    keep_firing_for: str = knob(
        "0s", "The average already spans a minute after each rebalance; no hold is needed."
    )
    severity: Severity = field(
        default="warning", metadata=reason("The group spends much of its time stopped.")
    )


@dataclass(frozen=True, slots=True)
class RebalanceStuck:
    """A group seen in a rebalancing state at every poll for a while."""

    for_: str = knob(
        "5m",
        "A rebalance finishes within seconds to a minute; a group seen rebalancing at every poll "
        "for 5 m is stuck (a member that never rejoins, a poll loop over max.poll.interval.ms).",
    )
    keep_firing_for: str = knob("0s", "Resolves when the group is Stable again.")
    severity: Severity = field(
        default="warning", metadata=reason("The group consumes nothing while it rebalances.")
    )
