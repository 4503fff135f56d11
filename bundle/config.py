"""The bundle configuration: every threshold, `for`, severity, selector and label name of the
alert bundle, and the settings of its generated files, in one place (`BundleConfig`).

Alert expressions, alert descriptions, runbooks and dashboard threshold lines are all rendered from
a `BundleConfig` object. `DEFAULT` holds the values we ship; users change them with an overrides
YAML file (see `bundle.overrides`) whose keys mirror the sections below (`for` for `for_`).

Each field carries the reason for its default in `metadata["why"]` (read it with `why()`), so the
reason travels into the docs and a test can insist that no threshold goes without one.

The sections live with their themes (`bundle.<theme>.thresholds`: consumers, cluster,
throughput, broker, exporter, lessons, registry, probe) and in the core (`bundle.core.settings`:
selectors, labels, output); `bundle.core.knobs` holds severities, durations and `why()`. Import
them all from here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bundle.broker.thresholds import OfflineLogDirectory, PollInterval, UncleanElection
from bundle.cluster.thresholds import (
    ActiveController,
    BrokerCount,
    OfflinePartitions,
    UnderMinIsr,
    UnderReplicated,
)
from bundle.consumers.thresholds import (
    ConsumerLag,
    LagSeconds,
    OffsetPastLogEnd,
    RebalanceLatency,
    RebalanceRate,
    RebalanceStuck,
    Stalled,
)
from bundle.core.knobs import SEVERITIES, Severity, is_duration, seconds, why
from bundle.core.settings import Common, Output
from bundle.exporter.thresholds import (
    DataStale,
    ExporterAbsent,
    ExporterDown,
    FamilyAbsent,
    SourceDown,
)
from bundle.lessons.thresholds import (
    ConsumerFallingBehind,
    ConsumerStopped,
    DeadLetterInflow,
    DeadLetterMessages,
    IdleConsumers,
    PartitionHeadroom,
    PartitionsStalled,
    RebalanceHygiene,
)
from bundle.probe.thresholds import ProbeFailing, ProbeLatency, ProbeMessagesLost
from bundle.registry.thresholds import (
    CompatibilityNone,
    RegistrationBurst,
    RegistryUnreachable,
    TopicWithoutSchema,
)
from bundle.throughput.thresholds import MessagesIn, ProduceLatency

__all__ = [
    "DEFAULT",
    "SEVERITIES",
    "ActiveController",
    "BrokerCount",
    "BundleConfig",
    "Common",
    "CompatibilityNone",
    "ConsumerFallingBehind",
    "ConsumerLag",
    "ConsumerStopped",
    "DataStale",
    "DeadLetterInflow",
    "DeadLetterMessages",
    "ExporterAbsent",
    "ExporterDown",
    "FamilyAbsent",
    "IdleConsumers",
    "LagSeconds",
    "MessagesIn",
    "OfflineLogDirectory",
    "OfflinePartitions",
    "OffsetPastLogEnd",
    "Output",
    "PartitionHeadroom",
    "PartitionsStalled",
    "PollInterval",
    "ProbeFailing",
    "ProbeLatency",
    "ProbeMessagesLost",
    "ProduceLatency",
    "RebalanceHygiene",
    "RebalanceLatency",
    "RebalanceRate",
    "RebalanceStuck",
    "RegistrationBurst",
    "RegistryUnreachable",
    "Severity",
    "SourceDown",
    "Stalled",
    "TopicWithoutSchema",
    "UncleanElection",
    "UnderMinIsr",
    "UnderReplicated",
    "is_duration",
    "seconds",
    "why",
]


@dataclass(frozen=True, slots=True)
class BundleConfig:
    """The whole bundle's configuration: the thresholds of each alert (a section per alert, named
    after it), the settings every rule shares (`common`: selector, labels, links, intervals) and
    the look of the generated files (`output`: the PrometheusRule and the example Alertmanager
    configuration). The sections sit side by side, as the keys of the overrides file do. Change
    one value with `dataclasses.replace`."""

    common: Common = field(default_factory=Common)
    consumer_lag: ConsumerLag = field(default_factory=ConsumerLag)
    lag_seconds: LagSeconds = field(default_factory=LagSeconds)
    stalled: Stalled = field(default_factory=Stalled)
    offset_past_log_end: OffsetPastLogEnd = field(default_factory=OffsetPastLogEnd)
    under_replicated: UnderReplicated = field(default_factory=UnderReplicated)
    under_min_isr: UnderMinIsr = field(default_factory=UnderMinIsr)
    offline_partitions: OfflinePartitions = field(default_factory=OfflinePartitions)
    active_controller: ActiveController = field(default_factory=ActiveController)
    broker_count: BrokerCount = field(default_factory=BrokerCount)
    produce_latency: ProduceLatency = field(default_factory=ProduceLatency)
    messages_in: MessagesIn = field(default_factory=MessagesIn)
    offline_log_directory: OfflineLogDirectory = field(default_factory=OfflineLogDirectory)
    unclean_election: UncleanElection = field(default_factory=UncleanElection)
    poll_interval: PollInterval = field(default_factory=PollInterval)
    rebalance_rate: RebalanceRate = field(default_factory=RebalanceRate)
    rebalance_latency: RebalanceLatency = field(default_factory=RebalanceLatency)
    rebalance_stuck: RebalanceStuck = field(default_factory=RebalanceStuck)
    exporter_down: ExporterDown = field(default_factory=ExporterDown)
    exporter_absent: ExporterAbsent = field(default_factory=ExporterAbsent)
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
    registry_unreachable: RegistryUnreachable = field(default_factory=RegistryUnreachable)
    compatibility_none: CompatibilityNone = field(default_factory=CompatibilityNone)
    topic_without_schema: TopicWithoutSchema = field(default_factory=TopicWithoutSchema)
    registration_burst: RegistrationBurst = field(default_factory=RegistrationBurst)
    probe_latency: ProbeLatency = field(default_factory=ProbeLatency)
    probe_messages_lost: ProbeMessagesLost = field(default_factory=ProbeMessagesLost)
    probe_failing: ProbeFailing = field(default_factory=ProbeFailing)
    output: Output = field(default_factory=Output)


DEFAULT = BundleConfig()
"""The values kafka-vitals ships."""
