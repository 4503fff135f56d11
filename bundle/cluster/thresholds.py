"""Thresholds of the cluster alerts: replication, controller, broker count, latency, traffic.

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


@dataclass(frozen=True, slots=True)
class ProduceLatency:
    """Produce TotalTimeMs at a high quantile, per broker, against its own recent baseline."""

    quantile: str = knob(
        "0.99",
        "The tail is where broker I/O pressure shows first; the median hides it.",
    )
    factor: float = knob(
        3,
        "Normal produce latency wanders by tens of percent; three times its own baseline is a "
        "change in kind (disk, GC, network), not noise.",
    )
    floor_ms: float = knob(
        100,
        "Below 100 ms a tripling is harmless for producers (a 5 ms broker going to 15 ms); the "
        "floor keeps idle brokers with tiny baselines quiet.",
    )
    baseline_window: str = knob("1h", "An hour smooths spikes but follows the daily load curve.")
    baseline_offset: str = knob(
        "15m",
        "The baseline ends before the spike began, so a spike does not raise its own bar.",
    )
    for_: str = knob(
        "5m", "Yammer quantiles decay over minutes; a real spike lasts longer than 5 m."
    )
    keep_firing_for: str = knob("5m", "Latency spikes come in bursts; one page per burst.")
    severity: Severity = field(
        default="warning", metadata=reason("Producers are slowed, not failing.")
    )


@dataclass(frozen=True, slots=True)
class MessagesIn:
    """Sudden drop of messages produced, per topic and cluster-wide."""

    window: str = knob("10m", "Rate window: long enough to smooth batchy producers.")
    offset: str = knob(
        "1h",
        "Compare with the same window an hour earlier: recent enough to share the time of day, "
        "far enough that a drop is not compared with itself.",
    )
    drop_ratio: float = knob(
        0.25,
        "Fire when the rate is below a quarter of what it was: daily curves move far less within "
        "an hour, while a producer failure takes the rate to near zero.",
    )
    min_rate: float = knob(
        1,
        "Only topics that had at least 1 message/s an hour ago: a drop on a near-idle topic is "
        "noise, not a failing producer.",
    )
    for_: str = knob("5m", "Past the ramp of the rate window; a real stop stays stopped.")
    keep_firing_for: str = knob("5m", "A recovering producer stutters; one page per incident.")
    severity: Severity = field(
        default="warning", metadata=reason("Producers may be failing; data is not being written.")
    )
