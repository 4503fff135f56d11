"""Every threshold, `for`, severity, selector and label name of the alert bundle, in one place.

Alert expressions, alert descriptions, runbooks and dashboard threshold lines are all rendered from
a `Thresholds` object. `DEFAULT` holds the values we ship; users change them with an overrides
YAML file (see `alerts.overrides`) whose keys mirror the sections below (`for` for `for_`).

Each field carries the reason for its default in `metadata["why"]` (read it with `why()`), so the
reason travels into the docs and a test can insist that no threshold goes without one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any, Literal

Severity = Literal["critical", "warning", "info"]
SEVERITIES: tuple[Severity, ...] = ("critical", "warning", "info")

_DURATION = re.compile(r"^(?:\d+(?:ms|s|m|h|d|w|y))+$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


def is_duration(text: str) -> bool:
    """True if `text` is a Prometheus duration such as `90s`, `10m` or `1h30m`."""
    return bool(_DURATION.match(text))


def seconds(duration: str) -> float:
    """A Prometheus duration (`1h30m`) in seconds."""
    if not is_duration(duration):
        raise ValueError(f"not a Prometheus duration: {duration!r}")
    return sum(
        float(n) * _UNIT_SECONDS[u] for n, u in re.findall(r"(\d+)(ms|s|m|h|d|w|y)", duration)
    )


def _w(default: Any, why: str) -> Any:
    """A field with a default and the reason for it."""
    if isinstance(default, Mapping):
        frozen = MappingProxyType(dict(default))
        return field(default_factory=lambda: frozen, metadata={"why": why})
    return field(default=default, metadata={"why": why})


def _why(text: str) -> dict[str, str]:
    return {"why": text}


def why(section: object, name: str) -> str:
    """The reason recorded for a field's default."""
    for f in fields(section):  # type: ignore[arg-type]
        if f.name == name:
            return str(f.metadata.get("why", ""))
    raise KeyError(name)


_SHORT_FOR = "Long enough that one failed or late scrape (30 s interval) cannot fire it alone."


@dataclass(frozen=True, slots=True)
class Common:
    """Selectors, label names and links shared by every rule."""

    selector: str = _w(
        'job="kafka-vitals"',
        "Scopes every expression to the exporter's scrape job, so series of the same name from "
        "other jobs (a jmx_exporter, a second cluster's exporter) never mix in. PromQL label "
        "matchers without braces; empty matches everything.",
    )
    cluster_label: str = _w(
        "cluster",
        "The label that tells clusters apart (set by relabelling or external labels). Every "
        "aggregation keeps it and Alertmanager groups and inhibits by it; when absent it is simply "
        "empty and everything is one cluster.",
    )
    runbook_url_base: str = _w(
        "https://github.com/kafka-vitals/kafka-vitals/blob/main/docs/runbooks",
        "Where the shipped runbooks are published; each alert links `<base>/<AlertName>.md`. "
        "Point it at your own copy if you edit them.",
    )
    rule_group_prefix: str = _w(
        "kafka-vitals",
        "Prefix of the rule group names, so the groups are easy to find in the Prometheus UI.",
    )
    extra_labels: Mapping[str, str] = _w(
        {},
        "Labels added to every alert (e.g. team: platform) for routing in Alertmanager.",
    )


@dataclass(frozen=True, slots=True)
class ConsumerLag:
    """Consumer lag in messages: committed-offset lag (Admin API) and client records-lag-max."""

    messages: float = _w(
        10_000,
        "At-least-once delivery only holds while consumers keep up; 10,000 messages is where a "
        "typical consumer no longer catches up by itself within minutes.",
    )
    for_: str = _w(
        "10m",
        "Lag spikes during deploys, rebalances and batch producers; only lag that stays high for "
        "10 minutes means the consumer cannot keep up.",
    )
    keep_firing_for: str = _w("0s", "Lag is smooth once sustained; no need to hold the alert.")
    severity: Severity = field(
        default="warning", metadata=_why("Consumers are late, no data is lost yet.")
    )


@dataclass(frozen=True, slots=True)
class LagSeconds:
    """Consumer lag in seconds (how old the oldest unconsumed message is)."""

    seconds: float = _w(
        300,
        "Messages waiting more than 5 minutes break most near-real-time promises; unlike messages "
        "it means the same on busy and on quiet topics.",
    )
    for_: str = _w("10m", "Same as message lag: only sustained delay matters.")
    keep_firing_for: str = _w("0s", "Lag in seconds is smooth once sustained.")
    severity: Severity = field(
        default="warning", metadata=_why("Consumers are late, no data is lost yet.")
    )


@dataclass(frozen=True, slots=True)
class Stalled:
    """A group with members whose committed offset does not move while it has lag."""

    window: str = _w(
        "10m",
        "A healthy consumer commits at least every few seconds (auto-commit default 5 s); no "
        "commit for 10 minutes while messages wait means it is stuck, not slow.",
    )
    for_: str = _w("5m", "The window already demands 10 minutes without a commit; 5 more confirm.")
    keep_firing_for: str = _w("0s", "Resolves with the first commit, which is the right moment.")
    severity: Severity = field(
        default="warning", metadata=_why("Consumption stopped; lag grows from here on.")
    )


@dataclass(frozen=True, slots=True)
class UnderReplicated:
    """Partitions whose ISR is smaller than their replica set (broker JMX and Admin metadata)."""

    for_: str = _w(
        "1m",
        "URP > 0 means the next failure can lose data: page at once. 1 m is two scrapes at 30 s, "
        "so one bad scrape or a follower restarting in seconds does not page.",
    )
    keep_firing_for: str = _w(
        "2m",
        "A struggling follower drops out of and back into the ISR repeatedly; holding the alert "
        "for 2 m turns that into one page instead of a storm.",
    )
    severity: Severity = field(
        default="critical", metadata=_why("One more failure loses acknowledged data.")
    )


@dataclass(frozen=True, slots=True)
class UnderMinIsr:
    """Partitions with fewer in-sync replicas than min.insync.replicas."""

    for_: str = _w("1m", _SHORT_FOR)
    keep_firing_for: str = _w("0s", "Produce with acks=all is failing; resolve as soon as it can.")
    severity: Severity = field(
        default="critical", metadata=_why("Producers with acks=all are refused right now.")
    )


@dataclass(frozen=True, slots=True)
class OfflinePartitions:
    """Partitions without a leader."""

    for_: str = _w("1m", _SHORT_FOR)
    keep_firing_for: str = _w("0s", "Nobody can read or write; resolve as soon as it is back.")
    severity: Severity = field(
        default="critical", metadata=_why("The partition is unavailable for reads and writes.")
    )


@dataclass(frozen=True, slots=True)
class ActiveController:
    """The cluster must have exactly one active controller."""

    window: str = _w(
        "6h",
        "A JMX target counts as a broker if it served ActiveControllerCount within this window. "
        "While such a target is down the sum misses its count, so the alert holds; a down target "
        "that answered nothing within the window may be a broker too and also holds it "
        "(KafkaVitalsSourceDown speaks for both). A client target holds it only once it has been "
        "down this long.",
    )
    for_: str = _w(
        "1m",
        "A controller election takes seconds; 0 or 2 controllers for two scrapes is not an "
        "election any more.",
    )
    keep_firing_for: str = _w("0s", "The count is exact; resolve at once.")
    severity: Severity = field(
        default="critical", metadata=_why("Without a controller no leader moves, nothing heals.")
    )


@dataclass(frozen=True, slots=True)
class BrokerCount:
    """Brokers in the cluster metadata fewer than the most seen recently."""

    window: str = _w(
        "1h",
        "The baseline is the most brokers seen in the last hour; a deliberate scale-down stops "
        "alerting after this window.",
    )
    for_: str = _w("1m", _SHORT_FOR)
    keep_firing_for: str = _w("0s", "The count is exact; resolve when the broker is back.")
    severity: Severity = field(
        default="critical", metadata=_why("A broker is gone; its partitions run on fewer replicas.")
    )


@dataclass(frozen=True, slots=True)
class ProduceLatency:
    """Produce TotalTimeMs at a high quantile, per broker, against its own recent baseline."""

    quantile: str = _w(
        "0.99",
        "The tail is where broker I/O pressure shows first; the median hides it.",
    )
    factor: float = _w(
        3,
        "Normal produce latency wanders by tens of percent; three times its own baseline is a "
        "change in kind (disk, GC, network), not noise.",
    )
    floor_ms: float = _w(
        100,
        "Below 100 ms a tripling is harmless for producers (a 5 ms broker going to 15 ms); the "
        "floor keeps idle brokers with tiny baselines quiet.",
    )
    baseline_window: str = _w("1h", "An hour smooths spikes but follows the daily load curve.")
    baseline_offset: str = _w(
        "15m",
        "The baseline ends before the spike began, so a spike does not raise its own bar.",
    )
    for_: str = _w("5m", "Yammer quantiles decay over minutes; a real spike lasts longer than 5 m.")
    keep_firing_for: str = _w("5m", "Latency spikes come in bursts; one page per burst.")
    severity: Severity = field(
        default="warning", metadata=_why("Producers are slowed, not failing.")
    )


@dataclass(frozen=True, slots=True)
class MessagesIn:
    """Sudden drop of messages produced, per topic and cluster-wide."""

    window: str = _w("10m", "Rate window: long enough to smooth batchy producers.")
    offset: str = _w(
        "1h",
        "Compare with the same window an hour earlier: recent enough to share the time of day, "
        "far enough that a drop is not compared with itself.",
    )
    drop_ratio: float = _w(
        0.25,
        "Fire when the rate is below a quarter of what it was: daily curves move far less within "
        "an hour, while a producer failure takes the rate to near zero.",
    )
    min_rate: float = _w(
        1,
        "Only topics that had at least 1 message/s an hour ago: a drop on a near-idle topic is "
        "noise, not a failing producer.",
    )
    for_: str = _w("5m", "Past the ramp of the rate window; a real stop stays stopped.")
    keep_firing_for: str = _w("5m", "A recovering producer stutters; one page per incident.")
    severity: Severity = field(
        default="warning", metadata=_why("Producers may be failing; data is not being written.")
    )


@dataclass(frozen=True, slots=True)
class RebalanceRate:
    """Consumer groups rebalancing over and over."""

    per_hour: float = _w(
        6,
        "A deploy or scale event costs a few rebalances; more than 6 an hour, sustained, is a "
        "storm: members time out, crash-loop or are deployed one by one without static membership.",
    )
    window: str = _w("1h", "Rebalances are counted over an hour, like the client's own rate.")
    for_: str = _w("15m", "A single rolling deploy may pass the bar briefly; a storm lasts longer.")
    keep_firing_for: str = _w("0s", "The hourly window already smooths it.")
    severity: Severity = field(
        default="warning", metadata=_why("Every eager rebalance stops the whole group for a while.")
    )


@dataclass(frozen=True, slots=True)
class RebalanceLatency:
    """Consumer rebalances that take long (client JMX rebalance-latency-avg)."""

    ms: float = _w(
        10_000,
        "A healthy rebalance takes a second or two; 10 s each means slow partition revocation "
        "or members that barely make max.poll.interval.ms, and the group consumes nothing then.",
    )
    for_: str = _w(
        "5m",
        "The client reports the average only for a minute after a rebalance (NaN, hence absent, "
        "otherwise), so 5 m means slow rebalances keep happening.",
    )
    keep_firing_for: str = _w(
        "0s", "The average already spans a minute after each rebalance; no hold is needed."
    )
    severity: Severity = field(
        default="warning", metadata=_why("The group spends much of its time stopped.")
    )


@dataclass(frozen=True, slots=True)
class RebalanceStuck:
    """A group seen in a rebalancing state at every poll for a while."""

    for_: str = _w(
        "5m",
        "A rebalance finishes within seconds to a minute; a group seen rebalancing at every poll "
        "for 5 m is stuck (a member that never rejoins, a poll loop over max.poll.interval.ms).",
    )
    keep_firing_for: str = _w("0s", "Resolves when the group is Stable again.")
    severity: Severity = field(
        default="warning", metadata=_why("The group consumes nothing while it rebalances.")
    )


@dataclass(frozen=True, slots=True)
class ExporterDown:
    """Prometheus cannot scrape the exporter (its own `up` series)."""

    for_: str = _w("2m", "Four failed scrapes at 30 s: a restart of the sidecar takes less.")
    keep_firing_for: str = _w("0s", "Resolves with the first good scrape.")
    severity: Severity = field(
        default="warning", metadata=_why("Kafka is not watched while this fires.")
    )


@dataclass(frozen=True, slots=True)
class SourceDown:
    """A source of the exporter (Admin API, one JMX target) failed in the last poll."""

    for_: str = _w("2m", "Four polls at 30 s: a broker restart or one slow JVM start passes.")
    keep_firing_for: str = _w("0s", "Resolves with the first good poll.")
    severity: Severity = field(
        default="warning", metadata=_why("The series of that source are missing meanwhile.")
    )


@dataclass(frozen=True, slots=True)
class DataStale:
    """The snapshot being served is too old: poll cycles stopped or hang."""

    intervals: float = _w(
        5,
        "Five poll intervals without a new snapshot: one slow cycle is normal (a JMX target "
        "timing out), five in a row means polling stopped or hangs and the data on /metrics no "
        "longer tells the truth. A source failing at every cycle is KafkaVitalsSourceDown's.",
    )
    for_: str = _w("1m", "The age is already measured over five intervals.")
    keep_firing_for: str = _w("0s", "Resolves with the next snapshot.")
    severity: Severity = field(
        default="warning", metadata=_why("Alerts and dashboards see old data.")
    )


@dataclass(frozen=True, slots=True)
class FamilyAbsent:
    """A key metric family is missing although the exporter says the Admin API answers."""

    families: tuple[str, ...] = _w(
        ("kafka_brokers", "kafka_topic_partitions"),
        "Families every cluster has while the Admin API answers; missing means a filter, series "
        "cap or bug took them away and the alerts built on them are blind.",
    )
    for_: str = _w("5m", "Long enough to ride over a restart of the exporter.")
    keep_firing_for: str = _w("0s", "Resolves when the family is back.")
    severity: Severity = field(
        default="warning", metadata=_why("Alerts built on the family cannot fire.")
    )


@dataclass(frozen=True, slots=True)
class DeadLetterMessages:
    """Any message arriving in a dead-letter topic (kind=dlt; retry topics carry normal retries)."""

    window: str = _w(
        "10m",
        "increase() window: the alert stays up this long after the last message arrived, long "
        "enough to be seen, short enough to resolve once the inflow stops.",
    )
    for_: str = _w(
        "1m",
        "A dead-lettered message is a discrete event, counted exactly from log-end offsets; one "
        "minute only rides over the exporter's first polls.",
    )
    keep_firing_for: str = _w("0s", "The window already holds the alert after the last message.")
    severity: Severity = field(
        default="warning",
        metadata=_why("A message failed processing for good; someone must look and replay it."),
    )


@dataclass(frozen=True, slots=True)
class DeadLetterInflow:
    """Messages arriving in a dead-letter topic without pause."""

    window: str = _w("5m", "rate() window: several polls, so a burst counts once per window.")
    rate: float = _w(
        0,
        "Messages per second above which inflow counts. 0: any inflow, since a healthy consumer "
        "dead-letters nothing; raise it for topics that always drip a few.",
    )
    for_: str = _w(
        "15m",
        "Every 5-minute window for 15 minutes had dead-lettered messages: not one poison message "
        "but a consumer failing on a stream of them (bad deploy, broken downstream).",
    )
    keep_firing_for: str = _w("5m", "Inflow that stutters is one incident, not several pages.")
    severity: Severity = field(
        default="critical",
        metadata=_why("Data keeps leaving the main flow; the replay grows the longer it runs."),
    )


@dataclass(frozen=True, slots=True)
class IdleConsumers:
    """Members of a Stable group that got no partition (more consumers than partitions)."""

    for_: str = _w(
        "15m",
        "A scale-up or a rolling deploy briefly leaves members without partitions; 15 minutes "
        "idle means the group has more members than its topics have partitions.",
    )
    keep_firing_for: str = _w("0s", "The count is exact; resolve at once.")
    severity: Severity = field(
        default="warning",
        metadata=_why("Capacity is paid for and unused, and the group cannot scale out further."),
    )


@dataclass(frozen=True, slots=True)
class PartitionHeadroom:
    """Partitions per planned consumer below the target, where a plan is configured."""

    min_ratio: float = _w(
        1.2,
        "A group planned for N consumers needs N + 20 % partitions: room to scale out for a "
        "backlog without repartitioning, which moves keys between partitions.",
    )
    for_: str = _w("1h", "A planning matter, not an incident; changes of plan or topic settle.")
    keep_firing_for: str = _w("0s", "The ratio is exact and changes only with a plan or topic.")
    severity: Severity = field(
        default="info", metadata=_why("Nothing fails today; the next scale-out will be capped.")
    )


@dataclass(frozen=True, slots=True)
class RebalanceHygiene:
    """Groups that rebalance often while using an eager assignor and dynamic membership."""

    rebalances: float = _w(
        3,
        "More than 3 rebalances in the window: one rolling restart of a few members without "
        "static membership already costs two rebalances per member.",
    )
    window: str = _w("1h", "increase() window of the rebalances counter.")
    for_: str = _w("15m", "Past one rolling deploy's burst.")
    keep_firing_for: str = _w("0s", "The hourly window already smooths it.")
    severity: Severity = field(
        default="info",
        metadata=_why("A configuration fix (static membership, cooperative assignor), not a page."),
    )


@dataclass(frozen=True, slots=True)
class ConsumerStopped:
    """Lag status STOP: lag > 0, committed offset still, no member owns the partition."""

    for_: str = _w(
        "15m",
        "The status already needs a whole window of polls without progress; 15 more minutes "
        "separate a stopped consumer from a restart or a short maintenance.",
    )
    keep_firing_for: str = _w("0s", "Resolves when a consumer is back and commits.")
    severity: Severity = field(
        default="warning", metadata=_why("Nobody consumes; lag grows with every message produced.")
    )


@dataclass(frozen=True, slots=True)
class ConsumerFallingBehind:
    """Lag status WARN: the group commits, but its lag grew at every poll of the window."""

    for_: str = _w(
        "15m",
        "Growing lag for a whole window plus 15 minutes: the consumer is slower than the "
        "producers, not catching up after a burst.",
    )
    keep_firing_for: str = _w("0s", "Resolves as soon as lag stops growing.")
    severity: Severity = field(
        default="warning", metadata=_why("Consumers are late and getting later; no data is lost.")
    )


@dataclass(frozen=True, slots=True)
class PartitionsStalled:
    """Lag status STALL on some, not all, partitions of a topic for a group."""

    for_: str = _w(
        "10m",
        "The status already needs a whole window of polls without a commit on the partition; 10 "
        "minutes more rule out a slow batch.",
    )
    keep_firing_for: str = _w("0s", "Resolves with the partition's next commit.")
    severity: Severity = field(
        default="warning",
        metadata=_why("One partition's messages wait behind a stuck record; the rest flows."),
    )


@dataclass(frozen=True, slots=True)
class Output:
    """How the generated PrometheusRule and the example Alertmanager config look."""

    crd_name: str = _w("kafka-vitals", "Name of the PrometheusRule object.")
    crd_namespace: str = _w("", "Namespace of the PrometheusRule; empty leaves it to kubectl.")
    crd_labels: Mapping[str, str] = _w(
        {"app.kubernetes.io/name": "kafka-vitals", "release": "kube-prometheus-stack"},
        "kube-prometheus-stack only loads PrometheusRules whose labels match its ruleSelector, "
        "by default `release: <helm release name>`; set it to yours.",
    )
    webhook_url: str = _w(
        "http://127.0.0.1:9095/alerts",
        "Example receiver base URL; each severity posts to `<url>/<severity>`. Replace with real "
        "receivers (pager for critical, chat for warning, tickets for info).",
    )
    group_wait: str = _w("30s", "Collect the alerts of one incident into one notification.")
    group_interval: str = _w("5m", "How often a group is notified of new alerts in it.")
    repeat_interval: str = _w("4h", "Remind of unresolved alerts, not more often.")


@dataclass(frozen=True, slots=True)
class Thresholds:
    """The whole bundle's configuration. Change one value with `dataclasses.replace`."""

    common: Common = field(default_factory=Common)
    consumer_lag: ConsumerLag = field(default_factory=ConsumerLag)
    lag_seconds: LagSeconds = field(default_factory=LagSeconds)
    stalled: Stalled = field(default_factory=Stalled)
    under_replicated: UnderReplicated = field(default_factory=UnderReplicated)
    under_min_isr: UnderMinIsr = field(default_factory=UnderMinIsr)
    offline_partitions: OfflinePartitions = field(default_factory=OfflinePartitions)
    active_controller: ActiveController = field(default_factory=ActiveController)
    broker_count: BrokerCount = field(default_factory=BrokerCount)
    produce_latency: ProduceLatency = field(default_factory=ProduceLatency)
    messages_in: MessagesIn = field(default_factory=MessagesIn)
    rebalance_rate: RebalanceRate = field(default_factory=RebalanceRate)
    rebalance_latency: RebalanceLatency = field(default_factory=RebalanceLatency)
    rebalance_stuck: RebalanceStuck = field(default_factory=RebalanceStuck)
    exporter_down: ExporterDown = field(default_factory=ExporterDown)
    source_down: SourceDown = field(default_factory=SourceDown)
    data_stale: DataStale = field(default_factory=DataStale)
    family_absent: FamilyAbsent = field(default_factory=FamilyAbsent)
    dead_letter_messages: DeadLetterMessages = field(default_factory=DeadLetterMessages)
    dead_letter_inflow: DeadLetterInflow = field(default_factory=DeadLetterInflow)
    idle_consumers: IdleConsumers = field(default_factory=IdleConsumers)
    partition_headroom: PartitionHeadroom = field(default_factory=PartitionHeadroom)
    rebalance_hygiene: RebalanceHygiene = field(default_factory=RebalanceHygiene)
    consumer_stopped: ConsumerStopped = field(default_factory=ConsumerStopped)
    consumer_falling_behind: ConsumerFallingBehind = field(default_factory=ConsumerFallingBehind)
    partitions_stalled: PartitionsStalled = field(default_factory=PartitionsStalled)
    output: Output = field(default_factory=Output)


DEFAULT = Thresholds()
"""The values kafka-vitals ships."""
