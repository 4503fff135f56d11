"""Thresholds of the lesson alerts: dead letters, idle consumers, headroom, hygiene, lag status.

Sections of `bundle.config.BundleConfig`; each field carries the reason for its default.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bundle.core.knobs import Severity, knob, reason


@dataclass(frozen=True, slots=True)
class DeadLetterMessages:
    """Any message arriving in a dead-letter topic (kind=dlt; retry topics carry normal retries)."""

    window: str = knob(
        "10m",
        "increase() window: the alert stays up this long after the last message arrived, long "
        "enough to be seen, short enough to resolve once the inflow stops.",
    )
    for_: str = knob(
        "1m",
        "A dead-lettered message is a discrete event, counted exactly from log-end offsets; one "
        "minute only rides over the exporter's first polls.",
    )
    keep_firing_for: str = knob("0s", "The window already holds the alert after the last message.")
    severity: Severity = field(
        default="warning",
        metadata=reason("A message failed processing for good; someone must look and replay it."),
    )


@dataclass(frozen=True, slots=True)
class DeadLetterInflow:
    """Messages arriving in a dead-letter topic without pause."""

    window: str = knob("5m", "rate() window: several polls, so a burst counts once per window.")
    rate: float = knob(
        0,
        "Messages per second above which inflow counts. 0: any inflow, since a healthy consumer "
        "dead-letters nothing; raise it for topics that always drip a few.",
    )
    for_: str = knob(
        "15m",
        "Every 5-minute window for 15 minutes had dead-lettered messages: not one poison message "
        "but a consumer failing on a stream of them (bad deploy, broken downstream).",
    )
    keep_firing_for: str = knob("5m", "Inflow that stutters is one incident, not several pages.")
    severity: Severity = field(
        default="critical",
        metadata=reason("Data keeps leaving the main flow; the replay grows the longer it runs."),
    )


@dataclass(frozen=True, slots=True)
class IdleConsumers:
    """Members of a Stable group that got no partition (more consumers than partitions)."""

    for_: str = knob(
        "15m",
        "A scale-up or a rolling deploy briefly leaves members without partitions; 15 minutes "
        "idle means the group has more members than its topics have partitions.",
    )
    keep_firing_for: str = knob("0s", "The count is exact; resolve at once.")
    severity: Severity = field(
        default="warning",
        metadata=reason("Capacity is paid for and unused, and the group cannot scale out further."),
    )


@dataclass(frozen=True, slots=True)
class PartitionHeadroom:
    """Partitions per planned consumer below the target, where a plan is configured."""

    min_ratio: float = knob(
        1.2,
        "A group planned for N consumers needs N + 20 % partitions: room to scale out for a "
        "backlog without repartitioning, which moves keys between partitions.",
    )
    for_: str = knob("1h", "A planning matter, not an incident; changes of plan or topic settle.")
    keep_firing_for: str = knob("0s", "The ratio is exact and changes only with a plan or topic.")
    severity: Severity = field(
        default="info", metadata=reason("Nothing fails today; the next scale-out will be capped.")
    )


@dataclass(frozen=True, slots=True)
class RebalanceHygiene:
    """Groups that rebalance often while using an eager assignor and dynamic membership."""

    rebalances: float = knob(
        3,
        "More than 3 rebalances in the window: one rolling restart of a few members without "
        "static membership already costs two rebalances per member.",
    )
    window: str = knob("1h", "increase() window of the rebalances counter.")
    for_: str = knob("15m", "Past one rolling deploy's burst.")
    keep_firing_for: str = knob("0s", "The hourly window already smooths it.")
    severity: Severity = field(
        default="info",
        metadata=reason(
            "A configuration fix (static membership, cooperative assignor), not a page."
        ),
    )


@dataclass(frozen=True, slots=True)
class ConsumerStopped:
    """Lag status STOP: lag > 0, committed offset still, no member owns the partition."""

    for_: str = knob(
        "15m",
        "The status already needs a whole window of polls without progress; 15 more minutes "
        "separate a stopped consumer from a restart or a short maintenance.",
    )
    keep_firing_for: str = knob("0s", "Resolves when a consumer is back and commits.")
    severity: Severity = field(
        default="warning",
        metadata=reason("Nobody consumes; lag grows with every message produced."),
    )


@dataclass(frozen=True, slots=True)
class ConsumerFallingBehind:
    """Lag status WARN: the group commits, but its lag grew at every poll of the window."""

    for_: str = knob(
        "15m",
        "Growing lag for a whole window plus 15 minutes: the consumer is slower than the "
        "producers, not catching up after a burst.",
    )
    keep_firing_for: str = knob("0s", "Resolves as soon as lag stops growing.")
    severity: Severity = field(
        default="warning", metadata=reason("Consumers are late and getting later; no data is lost.")
    )


@dataclass(frozen=True, slots=True)
class PartitionsStalled:
    """Lag status STALL on some, not all, partitions of a topic for a group."""

    for_: str = knob(
        "10m",
        "The status already needs a whole window of polls without a commit on the partition; 10 "
        "minutes more rule out a slow batch.",
    )
    keep_firing_for: str = knob("0s", "Resolves with the partition's next commit.")
    severity: Severity = field(
        default="warning",
        metadata=reason("One partition's messages wait behind a stuck record; the rest flows."),
    )
