"""Collector `broker_jmx`: broker vitals read over JMX, named as jmx_exporter's Kafka example does.

Reads the `TargetResult`s of broker targets from `CycleData.jmx` and writes replication,
controller and KRaft, disk, request (counts, errors, time breakdown, queues), throughput,
thread-pool, connection and group-coordinator families, plus each target's health
(`kafka_vitals_up{source="jmx"}`, query duration, errors by reason). Values that are NaN or
infinite are never written. Per-topic and per-partition series follow the topic filters; the
per-topic log size is their sum. Keeps no history: counters are the MBeans' own `Count`s.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, ClassVar

from exporter.catalog import jmx as cat
from exporter.catalog import jmx_broker as bcat
from exporter.catalog import own
from exporter.catalog.model import Metric
from exporter.collectors.base import CycleData, Input, register
from exporter.snapshot import SnapshotBuilder
from exporter.sources.filters import Filters
from exporter.sources.jmx_model import PERCENTILE_ATTRIBUTES, TargetResult, finite

if TYPE_CHECKING:
    from exporter.config import Config

ERROR_REASONS = (
    "refused",
    "timeout",
    "auth",
    "malformed",
    "unreachable",
    "java",
    "config",
    "error",
)
"""Reasons whose error counters exist from a target's first poll (at 0), so increase() sees the
first failure."""

_S, _C, _L, _N = "kafka.server", "kafka.controller", "kafka.log", "kafka.network"
# (domain, type, name, attribute) -> family with the `target` label only
_PLAIN: Mapping[tuple[str, str, str, str], Metric] = {
    (_S, "ReplicaManager", "UnderReplicatedPartitions", "Value"): cat.UNDER_REPLICATED,
    (_S, "ReplicaManager", "UnderMinIsrPartitionCount", "Value"): cat.UNDER_MIN_ISR,
    (_S, "ReplicaManager", "AtMinIsrPartitionCount", "Value"): bcat.AT_MIN_ISR,
    (_S, "ReplicaManager", "PartitionCount", "Value"): bcat.PARTITION_COUNT,
    (_S, "ReplicaManager", "LeaderCount", "Value"): bcat.LEADER_COUNT,
    (_S, "ReplicaManager", "OfflineReplicaCount", "Value"): bcat.OFFLINE_REPLICAS,
    (_S, "ReplicaManager", "ReassigningPartitions", "Value"): bcat.REASSIGNING,
    (_S, "ReplicaManager", "IsrShrinksPerSec", "Count"): cat.ISR_SHRINKS,
    (_S, "ReplicaManager", "IsrExpandsPerSec", "Count"): cat.ISR_EXPANDS,
    (_C, "KafkaController", "OfflinePartitionsCount", "Value"): cat.OFFLINE_PARTITIONS,
    (_C, "KafkaController", "ActiveControllerCount", "Value"): cat.ACTIVE_CONTROLLER,
    (_C, "KafkaController", "ActiveBrokerCount", "Value"): bcat.ACTIVE_BROKERS,
    (_C, "KafkaController", "FencedBrokerCount", "Value"): bcat.FENCED_BROKERS,
    (_C, "KafkaController", "MetadataErrorCount", "Value"): bcat.METADATA_ERRORS,
    (_C, "KafkaController", "GlobalPartitionCount", "Value"): bcat.GLOBAL_PARTITIONS,
    (_C, "KafkaController", "GlobalTopicCount", "Value"): bcat.GLOBAL_TOPICS,
    (_C, "KafkaController", "PreferredReplicaImbalanceCount", "Value"): bcat.PREFERRED_IMBALANCE,
    (_C, "KafkaController", "LastAppliedRecordLagMs", "Value"): bcat.CONTROLLER_RECORD_LAG,
    (_C, "ControllerStats", "UncleanLeaderElectionsPerSec", "Count"): bcat.UNCLEAN_ELECTIONS,
    (_L, "LogManager", "OfflineLogDirectoryCount", "Value"): bcat.OFFLINE_LOG_DIRS,
    (_N, "RequestChannel", "RequestQueueSize", "Value"): bcat.REQUEST_QUEUE_SIZE,
    (_S, "ReplicaFetcherManager", "MaxLag", "Value"): bcat.FOLLOWER_MAX_LAG,
    (_N, "RequestChannel", "ResponseQueueSize", "Value"): bcat.RESPONSE_QUEUE_SIZE,
    (_S, "KafkaServer", "linux-disk-read-bytes", "Value"): bcat.DISK_READ_BYTES,
    (_S, "KafkaServer", "linux-disk-write-bytes", "Value"): bcat.DISK_WRITE_BYTES,
    (_S, "KafkaRequestHandlerPool", "RequestHandlerAvgIdlePercent", "OneMinuteRate"): (
        cat.REQUEST_HANDLER_IDLE
    ),
    (_N, "SocketServer", "NetworkProcessorAvgIdlePercent", "Value"): cat.NETWORK_PROCESSOR_IDLE,
    **{(_S, "raft-metrics", "", attr): m for attr, m in (
        ("commit-latency-avg", bcat.RAFT_COMMIT_LATENCY_AVG),
        ("commit-latency-max", bcat.RAFT_COMMIT_LATENCY_MAX),
        ("current-leader", bcat.RAFT_LEADER),
        ("current-epoch", bcat.RAFT_EPOCH),
        ("high-watermark", bcat.RAFT_HIGH_WATERMARK),
        ("number-unknown-voter-connections", bcat.RAFT_UNKNOWN_VOTERS),
    )},
}  # fmt: skip
# (domain, type, name, attribute) -> (family, ObjectName keys that become its labels after target)
_KEYED: Mapping[tuple[str, str, str, str], tuple[Metric, tuple[str, ...]]] = {
    (_L, "LogManager", "LogDirectoryOffline", "Value"): (bcat.LOG_DIR_OFFLINE, ("logDirectory",)),
    (_N, "RequestMetrics", "RequestsPerSec", "Count"): (bcat.REQUESTS, ("request", "version")),
    (_N, "RequestMetrics", "ErrorsPerSec", "Count"): (bcat.ERRORS, ("request", "error")),
    (_S, "socket-server-metrics", "", "connection-count"): (
        bcat.CONNECTIONS, ("listener", "networkProcessor")
    ),
}  # fmt: skip
# per-partition families, which follow the topic filters
_PARTITION: Mapping[tuple[str, str, str], Metric] = {
    (_L, "Log", "Size"): bcat.LOG_SIZE,
    ("kafka.cluster", "Partition", "AtMinIsr"): bcat.PARTITION_AT_MIN_ISR,
    ("kafka.cluster", "Partition", "UnderMinIsr"): bcat.PARTITION_UNDER_MIN_ISR,
    ("kafka.cluster", "Partition", "ReplicasCount"): bcat.PARTITION_REPLICAS,
}
_THROUGHPUT: Mapping[str, Metric] = {
    "MessagesInPerSec": cat.MESSAGES_IN,
    "BytesInPerSec": cat.BYTES_IN,
    "BytesOutPerSec": cat.BYTES_OUT,
    "TotalProduceRequestsPerSec": bcat.TOTAL_PRODUCE_REQUESTS,
    "TotalFetchRequestsPerSec": bcat.TOTAL_FETCH_REQUESTS,
    "FailedProduceRequestsPerSec": bcat.FAILED_PRODUCE_REQUESTS,
    "FailedFetchRequestsPerSec": bcat.FAILED_FETCH_REQUESTS,
}
_REQUEST_TIME: Mapping[str, Metric] = {
    "TotalTimeMs": cat.REQUEST_TOTAL_TIME,
    "RequestQueueTimeMs": bcat.REQUEST_QUEUE_TIME,
    "LocalTimeMs": bcat.LOCAL_TIME,
    "RemoteTimeMs": bcat.REMOTE_TIME,
    "ResponseQueueTimeMs": bcat.RESPONSE_QUEUE_TIME,
    "ResponseSendTimeMs": bcat.RESPONSE_SEND_TIME,
}
_GC_TYPE = "group-coordinator-metrics"
# attribute -> (family, ObjectName key that becomes its second label, or "" for none)
_GROUP_COORDINATOR: Mapping[str, tuple[Metric, str]] = {
    "group-count": (cat.GROUP_COUNT, "protocol"),
    "consumer-group-count": (cat.CONSUMER_GROUP_COUNT, "state"),
    "consumer-group-rebalance-count": (cat.CONSUMER_GROUP_REBALANCES, ""),
    "consumer-group-rebalance-rate": (cat.CONSUMER_GROUP_REBALANCE_RATE, ""),
    "group-completed-rebalance-count": (cat.CLASSIC_GROUP_REBALANCES, ""),
    "group-completed-rebalance-rate": (cat.CLASSIC_GROUP_REBALANCE_RATE, ""),
}


def jmx_results(data: CycleData, role: str) -> Iterator[TargetResult]:
    """The JMX results of one role in this cycle, in target order."""
    for name in sorted(data.jmx):
        result = data.jmx[name]
        if result.role == role:
            yield result


def emit_health(result: TargetResult, out: SnapshotBuilder) -> None:
    """up, query duration and error counters of one target."""
    out.add(own.UP, ("jmx", result.target), 1.0 if result.ok else 0.0)
    out.add(own.JMX_DURATION, (result.target,), result.duration_seconds)
    for reason in sorted({*ERROR_REASONS, *result.errors_total}):
        out.add(own.JMX_ERRORS, (result.target, reason), result.errors_total.get(reason, 0))


def request_summary(attributes: Mapping[str, float]) -> Iterator[tuple[str, float, str]]:
    """(quantile, value, suffix) samples of one request's TotalTimeMs histogram.

    `_sum` is Mean x Count rounded to whole milliseconds: Kafka records whole milliseconds, so the
    rounding restores the exact sum and keeps float error from making the counter step back.
    """
    for attribute, quantile in PERCENTILE_ATTRIBUTES.items():
        if attribute in attributes:
            yield quantile, attributes[attribute], ""
    count = attributes.get("Count")
    if count is None:
        return
    mean = attributes.get("Mean")
    if mean is not None:
        yield "", float(round(mean * count)), "_sum"
    yield "", count, "_count"


@register
class BrokerJmxCollector:
    name: ClassVar[str] = "broker_jmx"
    reads: ClassVar[tuple[Input, ...]] = ("jmx",)

    def __init__(self, config: Config) -> None:
        self._filters = Filters.from_config(config.filters)

    def collect(self, data: CycleData, out: SnapshotBuilder) -> None:
        for result in jmx_results(data, "broker"):
            emit_health(result, out)
            if result.ok:
                self._values(result, out)

    def _values(self, result: TargetResult, out: SnapshotBuilder) -> None:
        target = result.target
        requests: dict[tuple[str, str], dict[str, float]] = {}
        topic_sizes: dict[str, float] = {}
        for v in result.values:
            if not finite(v.value):
                continue
            kind, name = v.key("type"), v.key("name")
            key = (v.domain, kind, name, v.attribute)
            plain = _PLAIN.get(key)
            if plain is not None:
                out.add(plain, (target,), v.value)
                continue
            keyed = _KEYED.get(key)
            if keyed is not None:
                metric, keys = keyed
                out.add(metric, (target, *(v.key(k) for k in keys)), v.value)
            elif (v.domain, kind, name) in _PARTITION and v.attribute == "Value":
                topic = v.key("topic")
                if not self._filters.topic(topic):
                    continue
                out.add(_PARTITION[v.domain, kind, name], (target, topic, v.key("partition")),
                        v.value)  # fmt: skip
                if name == "Size":
                    topic_sizes[topic] = topic_sizes.get(topic, 0.0) + v.value
            elif kind == "RequestMetrics" and name in _REQUEST_TIME:
                requests.setdefault((name, v.key("request")), {})[v.attribute] = v.value
            elif kind == "BrokerTopicMetrics" and name in _THROUGHPUT and v.attribute == "Count":
                topic = v.key("topic")
                if topic and not self._filters.topic(topic):
                    continue
                out.add(_THROUGHPUT[name], (target, topic), v.value)
            elif kind == _GC_TYPE and v.attribute in _GROUP_COORDINATOR:
                metric, label_key = _GROUP_COORDINATOR[v.attribute]
                gc_labels = (target, v.key(label_key)) if label_key else (target,)
                out.add(metric, gc_labels, v.value)
        for topic in sorted(topic_sizes):
            out.add(bcat.TOPIC_LOG_SIZE, (target, topic), topic_sizes[topic])
        for part, request in sorted(requests):
            metric = _REQUEST_TIME[part]
            for quantile, value, suffix in request_summary(requests[part, request]):
                # a quantile sample carries the quantile as an extra, last label value
                labels = (target, request, quantile) if quantile else (target, request)
                out.add(metric, labels, value, suffix)
