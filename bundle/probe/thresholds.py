"""Thresholds of the end-to-end probe alerts (`probe.enabled`): the latency users feel.

Sections of `bundle.config.BundleConfig`; each field carries the reason for its default.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bundle.core.knobs import Severity, knob, reason


@dataclass(frozen=True, slots=True)
class ProbeLatency:
    """The probe's end-to-end latency (produced to consumed) at a high quantile, per broker."""

    quantile: str = knob(
        "0.99",
        "The tail is what a consumer waiting on a reply feels first; the median hides a broker "
        "that is slow one request in fifty.",
    )
    seconds: float = knob(
        0.5,
        "A message crosses a healthy cluster (acks=all, replicated, fetched) in a few to tens "
        "of milliseconds; half a second is ten times that and something users notice, while "
        "still well below the probe's default deadline (5 s), past which a message counts lost.",
    )
    window: str = knob(
        "10m",
        "rate() window of the histogram: at the default 30 s poll and one message per partition "
        "per poll, 20 messages per partition; fewer make a p99 that is just the maximum of a few.",
    )
    for_: str = knob("5m", "Longer than a leader election or a rolling restart's single step.")
    keep_firing_for: str = knob("5m", "Latency comes in bursts; one notification per burst.")
    severity: Severity = field(
        default="warning",
        metadata=reason("Messages still arrive, later than they should: slow, not failing."),
    )


@dataclass(frozen=True, slots=True)
class ProbeMessagesLost:
    """Probe messages not consumed within the probe's deadline, per leader broker."""

    window: str = knob(
        "5m",
        "increase() window: ten polls at the default 30 s; a message lost in any of them counts.",
    )
    for_: str = knob(
        "2m",
        "A leader moving after a broker stops takes seconds and may cost one poll's messages; "
        "losing them for two minutes is an outage of that broker's partitions.",
    )
    keep_firing_for: str = knob("5m", "The window already spans a lost poll; avoid flapping.")
    severity: Severity = field(
        default="critical",
        metadata=reason(
            "Producers to the broker's partitions are failing or waiting longer than the probe's "
            "deadline: applications are losing or delaying data now."
        ),
    )


@dataclass(frozen=True, slots=True)
class ProbeFailing:
    """The probe did not run (topic missing or wrong, no metadata, client failure)."""

    for_: str = knob(
        "5m",
        "Ten polls at the default 30 s: a restart of the exporter or a metadata hiccup passes.",
    )
    keep_firing_for: str = knob("2m", "One good poll between failures is not a recovery.")
    severity: Severity = field(
        default="warning",
        metadata=reason(
            "The cluster may be fine; the end-to-end measurement, and its alerts, are blind."
        ),
    )
