"""Which MBeans and attributes a JMX poll asks for, per target role.

Every (pattern, attribute) pair of a role goes into the one `-q` argument of the query jar, so a
poll costs one JVM start and one JMX connection whatever the number of pairs. A pattern may match
many MBeans (`kafka.log:type=Log,name=Size,*` matches one per partition on the broker); the
collectors turn what comes back into families named as jmx_exporter names them. Composite
attributes (`HeapMemoryUsage`) are read key by key and come back as `HeapMemoryUsage.used`.
Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from exporter.catalog.jmx_client import (
    APP_INFO_ATTRIBUTES,
    CONSUMER_METRICS_ATTRIBUTES,
    COORDINATOR_ATTRIBUTES,
    FETCH_MANAGER_ATTRIBUTES,
    PRODUCER_ATTRIBUTES,
)


@dataclass(frozen=True, slots=True)
class Query:
    """One MBean name or pattern and the attributes to read from every match."""

    pattern: str
    attributes: tuple[str, ...]


PERCENTILE_ATTRIBUTES: Mapping[str, str] = MappingProxyType(
    {
        "50thPercentile": "0.50",
        "75thPercentile": "0.75",
        "95thPercentile": "0.95",
        "98thPercentile": "0.98",
        "99thPercentile": "0.99",
        "999thPercentile": "0.999",
    }
)
"""Yammer histogram attribute -> `quantile` label, as jmx_exporter writes it (`0.$1`)."""

REQUEST_TYPES = ("Produce", "FetchConsumer", "FetchFollower")
"""Requests whose time histograms are read (every part of the request time)."""

REQUEST_TIME_PARTS = (
    "TotalTimeMs",
    "RequestQueueTimeMs",
    "LocalTimeMs",
    "RemoteTimeMs",
    "ResponseQueueTimeMs",
    "ResponseSendTimeMs",
)
"""The request-time histograms: the total and the five parts it is made of."""

PART_PERCENTILES = ("50thPercentile", "99thPercentile")
"""The quantiles read from the five parts (the total has all six): each (MBean, attribute) pair is
one JMX round trip of the query jar, and the parts are read to find which one grew, for which the
median and the 99th percentile suffice. Their `_sum` and `_count` give the mean."""

BROKER_TOPIC_COUNTERS = (
    "MessagesInPerSec",
    "BytesInPerSec",
    "BytesOutPerSec",
    "TotalProduceRequestsPerSec",
    "TotalFetchRequestsPerSec",
    "FailedProduceRequestsPerSec",
    "FailedFetchRequestsPerSec",
)

BROKER_GAUGES: tuple[tuple[str, str], ...] = (
    ("kafka.server:type=ReplicaManager", "UnderReplicatedPartitions"),
    ("kafka.server:type=ReplicaManager", "UnderMinIsrPartitionCount"),
    ("kafka.server:type=ReplicaManager", "AtMinIsrPartitionCount"),
    ("kafka.server:type=ReplicaManager", "PartitionCount"),
    ("kafka.server:type=ReplicaManager", "LeaderCount"),
    ("kafka.server:type=ReplicaManager", "OfflineReplicaCount"),
    ("kafka.server:type=ReplicaManager", "ReassigningPartitions"),
    ("kafka.controller:type=KafkaController", "OfflinePartitionsCount"),
    ("kafka.controller:type=KafkaController", "ActiveControllerCount"),
    ("kafka.controller:type=KafkaController", "ActiveBrokerCount"),
    ("kafka.controller:type=KafkaController", "FencedBrokerCount"),
    ("kafka.controller:type=KafkaController", "MetadataErrorCount"),
    ("kafka.controller:type=KafkaController", "GlobalPartitionCount"),
    ("kafka.controller:type=KafkaController", "GlobalTopicCount"),
    ("kafka.controller:type=KafkaController", "PreferredReplicaImbalanceCount"),
    ("kafka.controller:type=KafkaController", "LastAppliedRecordLagMs"),
    ("kafka.log:type=LogManager", "OfflineLogDirectoryCount"),
    ("kafka.network:type=RequestChannel", "RequestQueueSize"),
    ("kafka.network:type=RequestChannel", "ResponseQueueSize"),
    ("kafka.network:type=SocketServer", "NetworkProcessorAvgIdlePercent"),
    ("kafka.server:type=KafkaServer", "linux-disk-read-bytes"),
    ("kafka.server:type=KafkaServer", "linux-disk-write-bytes"),
)
"""(type prefix, name) of broker-wide Yammer gauges read through their `Value`."""

BROKER_COUNTERS: tuple[tuple[str, str], ...] = (
    ("kafka.server:type=ReplicaManager", "IsrShrinksPerSec"),
    ("kafka.server:type=ReplicaManager", "IsrExpandsPerSec"),
    ("kafka.controller:type=ControllerStats", "UncleanLeaderElectionsPerSec"),
)
"""(type prefix, name) of broker-wide Yammer meters read through their cumulative `Count`."""

RAFT_ATTRIBUTES = (
    "commit-latency-avg",
    "commit-latency-max",
    "current-leader",
    "current-epoch",
    "high-watermark",
    "number-unknown-voter-connections",
)
# broker-metadata-metrics is not read: its error counts end in `-count` and its record lag in
# `-ms`, names promtool flags; the controller's MetadataErrorCount and LastAppliedRecordLagMs
# give the same figures

_GC = "kafka.server:type=group-coordinator-metrics"

JVM_QUERIES: tuple[Query, ...] = (
    # a composite attribute comes back key by key (`HeapMemoryUsage/used`, ...)
    Query("java.lang:type=Memory", ("HeapMemoryUsage", "NonHeapMemoryUsage")),
    Query("java.lang:type=MemoryPool,name=*", ("Usage",)),
    Query("java.lang:type=GarbageCollector,name=*", ("CollectionCount", "CollectionTime")),
    Query(
        "java.lang:type=Threading",
        ("ThreadCount", "DaemonThreadCount", "PeakThreadCount", "TotalStartedThreadCount"),
    ),
    Query(
        "java.lang:type=OperatingSystem",
        ("OpenFileDescriptorCount", "MaxFileDescriptorCount", "ProcessCpuTime"),
    ),
    Query("java.lang:type=Runtime", ("StartTime",)),
)
"""The JVM's own MBeans, read from every target (broker or client) over the same connection."""

BROKER_QUERIES: tuple[Query, ...] = (
    *(Query(f"{prefix},name={name}", ("Value",)) for prefix, name in BROKER_GAUGES),
    *(Query(f"{prefix},name={name}", ("Count",)) for prefix, name in BROKER_COUNTERS),
    *(
        Query(
            f"kafka.network:type=RequestMetrics,name={part},request={request}",
            (
                *(PERCENTILE_ATTRIBUTES if part == "TotalTimeMs" else PART_PERCENTILES),
                "Mean",
                "Count",
            ),
        )
        for part in REQUEST_TIME_PARTS
        for request in REQUEST_TYPES
    ),
    Query("kafka.network:type=RequestMetrics,name=RequestsPerSec,*", ("Count",)),
    Query("kafka.network:type=RequestMetrics,name=ErrorsPerSec,*", ("Count",)),
    # the pattern's trailing `,*` matches the broker-wide bean and every per-topic one
    *(
        Query(f"kafka.server:type=BrokerTopicMetrics,name={name},*", ("Count",))
        for name in BROKER_TOPIC_COUNTERS
    ),
    Query(
        "kafka.server:type=KafkaRequestHandlerPool,name=RequestHandlerAvgIdlePercent",
        ("OneMinuteRate",),
    ),
    Query("kafka.log:type=Log,name=Size,*", ("Value",)),
    Query("kafka.log:type=LogManager,name=LogDirectoryOffline,*", ("Value",)),
    *(
        Query(f"kafka.cluster:type=Partition,name={name},*", ("Value",))
        for name in ("AtMinIsr", "UnderMinIsr", "ReplicasCount")
    ),
    Query("kafka.server:type=ReplicaFetcherManager,name=MaxLag,*", ("Value",)),
    Query(
        "kafka.server:type=socket-server-metrics,listener=*,networkProcessor=*",
        ("connection-count",),
    ),
    Query("kafka.server:type=raft-metrics", RAFT_ATTRIBUTES),
    # Kafka 4.x group coordinator (absent on older brokers: no match, no series)
    Query(f"{_GC},protocol=*", ("group-count",)),
    Query(f"{_GC},state=*", ("consumer-group-count",)),
    Query(
        _GC,
        (
            "consumer-group-rebalance-count",
            "consumer-group-rebalance-rate",
            "group-completed-rebalance-count",
            "group-completed-rebalance-rate",
        ),
    ),
    *JVM_QUERIES,
)

CLIENT_QUERIES: tuple[Query, ...] = (
    Query("kafka.consumer:type=consumer-metrics,client-id=*", CONSUMER_METRICS_ATTRIBUTES),
    Query(
        "kafka.consumer:type=consumer-fetch-manager-metrics,client-id=*", FETCH_MANAGER_ATTRIBUTES
    ),
    Query(
        "kafka.consumer:type=consumer-fetch-manager-metrics,client-id=*,topic=*,partition=*",
        ("records-lag",),
    ),
    Query("kafka.consumer:type=consumer-coordinator-metrics,client-id=*", COORDINATOR_ATTRIBUTES),
    Query("kafka.producer:type=producer-metrics,client-id=*", PRODUCER_ATTRIBUTES),
    Query("kafka.consumer:type=app-info,client-id=*", APP_INFO_ATTRIBUTES),
    Query("kafka.producer:type=app-info,client-id=*", APP_INFO_ATTRIBUTES),
    *JVM_QUERIES,
)

PER_PARTITION_PATTERNS = ("kafka.log:type=Log,name=Size,", "kafka.cluster:type=Partition,")
"""Patterns that match one MBean per partition on the broker (`jmx.partition_mbeans`)."""


def queries_for(role: str, partition_mbeans: bool = True) -> tuple[Query, ...]:
    """The queries of `role`, without the per-partition patterns unless `partition_mbeans`."""
    queries = QUERIES_BY_ROLE[role]
    if partition_mbeans:
        return queries
    return tuple(q for q in queries if not q.pattern.startswith(PER_PARTITION_PATTERNS))


QUERIES_BY_ROLE: Mapping[str, tuple[Query, ...]] = MappingProxyType(
    {"broker": BROKER_QUERIES, "client": CLIENT_QUERIES}
)
