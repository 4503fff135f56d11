"""Collector `broker_jmx`: broker vitals read over JMX, named as jmx_exporter's Kafka example does.

Reads the `TargetResult`s of broker targets from `CycleData.jmx` and writes replication,
controller, request latency, throughput, thread-pool and group-coordinator families, plus each
target's health (`kafka_vitals_up{source="jmx"}`, query duration, errors by reason). Values that
are NaN or infinite are never written. Per-topic throughput series follow the topic filters.
Keeps no history: counters are the MBeans' own cumulative `Count`s.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, ClassVar

from exporter.catalog import jmx as cat
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

# (domain, type, name, attribute) -> family with the `target` label only
_PLAIN: Mapping[tuple[str, str, str, str], Metric] = {
    ("kafka.server", "ReplicaManager", "UnderReplicatedPartitions", "Value"): cat.UNDER_REPLICATED,
    ("kafka.server", "ReplicaManager", "UnderMinIsrPartitionCount", "Value"): cat.UNDER_MIN_ISR,
    ("kafka.server", "ReplicaManager", "IsrShrinksPerSec", "Count"): cat.ISR_SHRINKS,
    ("kafka.server", "ReplicaManager", "IsrExpandsPerSec", "Count"): cat.ISR_EXPANDS,
    ("kafka.controller", "KafkaController", "OfflinePartitionsCount", "Value"): (
        cat.OFFLINE_PARTITIONS
    ),
    ("kafka.controller", "KafkaController", "ActiveControllerCount", "Value"): (
        cat.ACTIVE_CONTROLLER
    ),
    ("kafka.server", "KafkaRequestHandlerPool", "RequestHandlerAvgIdlePercent", "OneMinuteRate"): (
        cat.REQUEST_HANDLER_IDLE
    ),
    ("kafka.network", "SocketServer", "NetworkProcessorAvgIdlePercent", "Value"): (
        cat.NETWORK_PROCESSOR_IDLE
    ),
}
_THROUGHPUT: Mapping[str, Metric] = {
    "MessagesInPerSec": cat.MESSAGES_IN,
    "BytesInPerSec": cat.BYTES_IN,
    "BytesOutPerSec": cat.BYTES_OUT,
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
        if isinstance(result, TargetResult) and result.role == role:
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
        requests: dict[str, dict[str, float]] = {}
        for v in result.values:
            if not finite(v.value):
                continue
            kind, name = v.key("type"), v.key("name")
            plain = _PLAIN.get((v.domain, kind, name, v.attribute))
            if plain is not None:
                out.add(plain, (target,), v.value)
            elif kind == "RequestMetrics" and name == "TotalTimeMs":
                requests.setdefault(v.key("request"), {})[v.attribute] = v.value
            elif kind == "BrokerTopicMetrics" and name in _THROUGHPUT and v.attribute == "Count":
                topic = v.key("topic")
                if topic and not self._filters.topic(topic):
                    continue
                out.add(_THROUGHPUT[name], (target, topic), v.value)
            elif kind == _GC_TYPE and v.attribute in _GROUP_COORDINATOR:
                metric, label_key = _GROUP_COORDINATOR[v.attribute]
                gc_labels = (target, v.key(label_key)) if label_key else (target,)
                out.add(metric, gc_labels, v.value)
        for request in sorted(requests):
            for quantile, value, suffix in request_summary(requests[request]):
                # a quantile sample carries the quantile as an extra, last label value
                labels = (target, request, quantile) if quantile else (target, request)
                out.add(cat.REQUEST_TOTAL_TIME, labels, value, suffix)
