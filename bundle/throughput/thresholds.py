"""Thresholds of the throughput alerts: produce latency against its baseline, messages in dropping.

Sections of `bundle.config.BundleConfig`; each field carries the reason for its default.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bundle.core.knobs import Severity, knob, reason


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
