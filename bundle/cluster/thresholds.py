"""Thresholds of the cluster alerts: replication, controller, broker count.

Sections of `bundle.config.BundleConfig`; each field carries the reason for its default.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bundle.core.knobs import SHORT_FOR, Severity, knob, reason


@dataclass(frozen=True, slots=True)
class UnderReplicated:
    """Partitions whose ISR is smaller than their replica set (broker JMX and Admin metadata)."""

    for_: str = knob(
        "1m",
        "URP > 0 means the next failure can lose data: page at once. 1 m is two scrapes at 30 s, "
        "so one bad scrape or a follower restarting in seconds does not page.",
    )
    keep_firing_for: str = knob(
        "2m",
        "A struggling follower drops out of and back into the ISR repeatedly; holding the alert "
        "for 2 m turns that into one page instead of a storm.",
    )
    severity: Severity = field(
        default="critical", metadata=reason("One more failure loses acknowledged data.")
    )


@dataclass(frozen=True, slots=True)
class UnderMinIsr:
    """Partitions with fewer in-sync replicas than min.insync.replicas."""

    for_: str = knob("1m", SHORT_FOR)
    keep_firing_for: str = knob(
        "0s", "Produce with acks=all is failing; resolve as soon as it can."
    )
    severity: Severity = field(
        default="critical", metadata=reason("Producers with acks=all are refused right now.")
    )


@dataclass(frozen=True, slots=True)
class OfflinePartitions:
    """Partitions without a leader."""

    for_: str = knob("1m", SHORT_FOR)
    keep_firing_for: str = knob("0s", "Nobody can read or write; resolve as soon as it is back.")
    severity: Severity = field(
        default="critical", metadata=reason("The partition is unavailable for reads and writes.")
    )


@dataclass(frozen=True, slots=True)
class ActiveController:
    """The cluster must have exactly one active controller."""

    window: str = knob(
        "6h",
        "A JMX target counts as a broker if it served ActiveControllerCount within this window. "
        "While such a target is down the sum misses its count, so the alert holds; a down target "
        "that answered nothing within the window may be a broker too and also holds it "
        "(KafkaVitalsSourceDown speaks for both). A client target holds it only once it has been "
        "down this long.",
    )
    for_: str = knob(
        "1m",
        "A controller election takes seconds; 0 or 2 controllers for two scrapes is not an "
        "election any more.",
    )
    keep_firing_for: str = knob("0s", "The count is exact; resolve at once.")
    severity: Severity = field(
        default="critical", metadata=reason("Without a controller no leader moves, nothing heals.")
    )


@dataclass(frozen=True, slots=True)
class BrokerCount:
    """Brokers in the cluster metadata fewer than the most seen recently."""

    window: str = knob(
        "1h",
        "The baseline is the most brokers seen in the last hour; a deliberate scale-down stops "
        "alerting after this window.",
    )
    for_: str = knob("1m", SHORT_FOR)
    keep_firing_for: str = knob("0s", "The count is exact; resolve when the broker is back.")
    severity: Severity = field(
        default="critical",
        metadata=reason("A broker is gone; its partitions run on fewer replicas."),
    )
