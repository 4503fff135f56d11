"""Thresholds of the broker-vitals alerts: offline log directories, unclean leader elections, and
consumers polling too slowly for their group.

Sections of `bundle.config.BundleConfig`; each field carries the reason for its default.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bundle.core.knobs import SHORT_FOR, Severity, knob, reason


@dataclass(frozen=True, slots=True)
class OfflineLogDirectory:
    """A broker log directory went offline after a disk error (broker JMX)."""

    for_: str = knob("1m", SHORT_FOR)
    keep_firing_for: str = knob(
        "0s", "The count only drops when the broker restarts with a working disk; resolve then."
    )
    severity: Severity = field(
        default="critical",
        metadata=reason(
            "Every replica on the directory is offline: partitions led there moved or went "
            "offline, and the broker holds fewer copies until the disk is replaced."
        ),
    )


@dataclass(frozen=True, slots=True)
class UncleanElection:
    """An out-of-sync replica became leader: acknowledged records were lost (broker JMX)."""

    window: str = knob(
        "15m",
        "The count only grows; an increase inside this window fires, and the alert resolves "
        "once the window has passed the election. Long enough to be seen and acknowledged.",
    )
    for_: str = knob(
        "0s", "under 1m: one unclean election already lost data; there is nothing to wait for."
    )
    keep_firing_for: str = knob("0s", "The window already holds the alert for its length.")
    severity: Severity = field(
        default="critical",
        metadata=reason("Records acknowledged to producers are gone from the new leader's log."),
    )


@dataclass(frozen=True, slots=True)
class PollInterval:
    """A Java consumer's longest gap between poll() calls nears max.poll.interval.ms."""

    max_poll_interval_ms: float = knob(
        300_000,
        "Kafka's default max.poll.interval.ms. The client does not publish its configuration "
        "over JMX: set this to the value your consumers use (one value for the bundle).",
    )
    ratio: float = knob(
        0.8,
        "Warn at 80 % of the limit: the next slow batch is likely to cross it, and the consumer is "
        "then thrown out of its group, which rebalances every member.",
    )
    for_: str = knob(
        "0s",
        "under 1m: time-between-poll-max is already a maximum over the client's window; one "
        "reading this close to the limit is the warning.",
    )
    keep_firing_for: str = knob(
        "5m", "A consumer that came this close tends to come back; hold one alert, not a storm."
    )
    severity: Severity = field(
        default="warning",
        metadata=reason("Nothing is lost yet; the group is about to rebalance if it goes on."),
    )
