"""Broker and client JMX collectors over hand-built poll results: names, labels, NaN, filters."""

from __future__ import annotations

import math
from types import MappingProxyType

from exporter.catalog import jmx as cat
from exporter.catalog import jmx_client as ccat
from exporter.catalog import own
from exporter.collectors.base import REGISTRY, CycleData
from exporter.collectors.broker_jmx import ERROR_REASONS, BrokerJmxCollector, request_summary
from exporter.collectors.client_jmx import ClientJmxCollector
from exporter.config import Config, FiltersConfig
from exporter.snapshot import Snapshot, SnapshotBuilder
from exporter.sources.jmx_model import JmxValue, TargetResult, parse_object_name


def val(name: str, attribute: str, value: float) -> JmxValue:
    domain, keys = parse_object_name(name)
    return JmxValue(domain, keys, attribute, value)


def run(collector: BrokerJmxCollector | ClientJmxCollector, *results: TargetResult) -> Snapshot:
    out = SnapshotBuilder()
    collector.collect(CycleData(now=0.0, jmx={r.target: r for r in results}), out)
    return out.build(0.0)


BROKER = TargetResult(
    "b1",
    "broker",
    True,
    0.42,
    (
        val("kafka.server:type=ReplicaManager,name=UnderReplicatedPartitions", "Value", 2),
        val("kafka.server:type=ReplicaManager,name=UnderMinIsrPartitionCount", "Value", 1),
        val("kafka.server:type=ReplicaManager,name=IsrShrinksPerSec", "Count", 5),
        val("kafka.server:type=ReplicaManager,name=IsrExpandsPerSec", "Count", 4),
        val("kafka.controller:type=KafkaController,name=OfflinePartitionsCount", "Value", 0),
        val("kafka.controller:type=KafkaController,name=ActiveControllerCount", "Value", 1),
        val("kafka.network:type=RequestMetrics,name=TotalTimeMs,request=Produce",
            "50thPercentile", 1.0),
        val("kafka.network:type=RequestMetrics,name=TotalTimeMs,request=Produce",
            "99thPercentile", 12.5),
        val("kafka.network:type=RequestMetrics,name=TotalTimeMs,request=Produce", "Mean",
            10 / 3),
        val("kafka.network:type=RequestMetrics,name=TotalTimeMs,request=Produce", "Count", 3),
        val("kafka.server:type=BrokerTopicMetrics,name=MessagesInPerSec", "Count", 100),
        val("kafka.server:type=BrokerTopicMetrics,name=MessagesInPerSec,topic=orders", "Count",
            60),
        val("kafka.server:type=BrokerTopicMetrics,name=MessagesInPerSec,topic=__consumer_offsets",
            "Count", 40),
        val("kafka.server:type=BrokerTopicMetrics,name=BytesInPerSec,topic=orders", "Count", 6000),
        val("kafka.server:type=BrokerTopicMetrics,name=BytesOutPerSec", "Count", 9000),
        val("kafka.server:type=KafkaRequestHandlerPool,name=RequestHandlerAvgIdlePercent",
            "OneMinuteRate", 0.9),
        val("kafka.network:type=SocketServer,name=NetworkProcessorAvgIdlePercent", "Value",
            math.nan),
        val("kafka.server:type=group-coordinator-metrics,protocol=classic", "group-count", 3),
        val("kafka.server:type=group-coordinator-metrics,state=Stable", "consumer-group-count", 2),
        val("kafka.server:type=group-coordinator-metrics", "consumer-group-rebalance-count", 7),
        val("kafka.server:type=group-coordinator-metrics", "group-completed-rebalance-rate",
            0.25),
        val("kafka.server:type=SomethingElse,name=Unknown", "Value", 99),
    ),
    errors_total=MappingProxyType({"timeout": 2}),
)  # fmt: skip


def test_both_collectors_are_registered() -> None:
    assert REGISTRY["broker_jmx"] is BrokerJmxCollector
    assert REGISTRY["client_jmx"] is ClientJmxCollector


def test_broker_families_and_labels() -> None:
    snap = run(BrokerJmxCollector(Config()), BROKER)
    assert snap.value(cat.UNDER_REPLICATED, "b1") == 2
    assert snap.value(cat.UNDER_MIN_ISR, "b1") == 1
    assert snap.value(cat.ISR_SHRINKS, "b1") == 5
    assert snap.value(cat.ISR_EXPANDS, "b1") == 4
    assert snap.value(cat.OFFLINE_PARTITIONS, "b1") == 0
    assert snap.value(cat.ACTIVE_CONTROLLER, "b1") == 1
    assert snap.value(cat.REQUEST_TOTAL_TIME, "b1", "Produce", "0.99") == 12.5
    assert snap.value(cat.REQUEST_TOTAL_TIME, "b1", "Produce", "0.50") == 1.0
    assert snap.value(cat.REQUEST_TOTAL_TIME, "b1", "Produce", suffix="_sum") == 10.0
    assert snap.value(cat.REQUEST_TOTAL_TIME, "b1", "Produce", suffix="_count") == 3
    assert snap.value(cat.MESSAGES_IN, "b1", "") == 100
    assert snap.value(cat.MESSAGES_IN, "b1", "orders") == 60
    assert snap.value(cat.BYTES_IN, "b1", "orders") == 6000
    assert snap.value(cat.BYTES_OUT, "b1", "") == 9000
    assert snap.value(cat.REQUEST_HANDLER_IDLE, "b1") == 0.9
    assert snap.value(cat.GROUP_COUNT, "b1", "classic") == 3
    assert snap.value(cat.CONSUMER_GROUP_COUNT, "b1", "Stable") == 2
    assert snap.value(cat.CONSUMER_GROUP_REBALANCES, "b1") == 7
    assert snap.value(cat.CLASSIC_GROUP_REBALANCE_RATE, "b1") == 0.25


def test_nan_is_never_a_sample() -> None:
    snap = run(BrokerJmxCollector(Config()), BROKER)
    assert snap.samples(cat.NETWORK_PROCESSOR_IDLE) == ()
    assert all(not math.isnan(s.value) for f in snap.families.values() for s in f)


def test_internal_and_filtered_topics_are_left_out_but_broker_wide_series_stays() -> None:
    snap = run(BrokerJmxCollector(Config()), BROKER)
    assert snap.value(cat.MESSAGES_IN, "b1", "__consumer_offsets") is None
    filtered = Config(filters=FiltersConfig(topic_deny=("ord.*",)))
    snap = run(BrokerJmxCollector(filtered), BROKER)
    assert snap.value(cat.MESSAGES_IN, "b1", "orders") is None
    assert snap.value(cat.MESSAGES_IN, "b1", "") == 100
    internal = Config(filters=FiltersConfig(include_internal_topics=True))
    assert (
        run(BrokerJmxCollector(internal), BROKER).value(cat.MESSAGES_IN, "b1", "__consumer_offsets")
        == 40
    )


def test_health_of_ok_and_failed_targets() -> None:
    failed = TargetResult(
        "b2", "broker", False, 2.0, reason="timeout", detail="killed",
        errors_total=MappingProxyType({"timeout": 3}),
    )  # fmt: skip
    snap = run(BrokerJmxCollector(Config()), BROKER, failed)
    assert snap.value(own.UP, "jmx", "b1") == 1
    assert snap.value(own.UP, "jmx", "b2") == 0
    assert snap.value(own.JMX_DURATION, "b2") == 2.0
    assert snap.value(own.JMX_ERRORS, "b2", "timeout") == 3
    assert snap.value(own.JMX_ERRORS, "b1", "timeout") == 2
    assert snap.value(own.JMX_ERRORS, "b1", "refused") == 0
    assert {s.labels[1] for s in snap.samples(own.JMX_ERRORS) if s.labels[0] == "b2"} == set(
        ERROR_REASONS
    )
    # a failed target keeps none of its value series
    assert [s.labels for s in snap.samples(cat.UNDER_REPLICATED)] == [("b1",)]


def test_each_collector_takes_only_its_role() -> None:
    client = TargetResult("c1", "client", True, 0.3)
    assert run(ClientJmxCollector(Config()), BROKER).families == {}
    snap = run(BrokerJmxCollector(Config()), client)
    assert snap.families == {}
    assert run(ClientJmxCollector(Config()), client).value(own.UP, "jmx", "c1") == 1


def test_request_summary_sum_is_rounded_to_whole_milliseconds() -> None:
    # 7 requests of 1 ms and one of 2 ms: the mean is not exact in binary
    samples = list(request_summary({"Mean": 9 / 8, "Count": 8.0, "999thPercentile": 2.0}))
    assert ("0.999", 2.0, "") in samples
    assert ("", 9.0, "_sum") in samples
    assert ("", 8.0, "_count") in samples
    assert list(request_summary({"99thPercentile": 1.0})) == [("0.99", 1.0, "")]


CONSUMER = "kafka.consumer:type=consumer-fetch-manager-metrics,client-id=c-1"
COORD = "kafka.consumer:type=consumer-coordinator-metrics,client-id=c-1"
CLIENT = TargetResult(
    "app",
    "client",
    True,
    0.3,
    (
        val(CONSUMER, "records-lag-max", 1234),
        val(CONSUMER + ",topic=orders,partition=0", "records-lag", 1000),
        val(CONSUMER + ",topic=orders,partition=1", "records-lag", math.nan),
        val(CONSUMER + ",topic=__consumer_offsets,partition=1", "records-lag", 5),
        val(CONSUMER + ",topic=orders", "bytes-consumed-total", 5),
        val(COORD, "rebalance-latency-avg", 150.0),
        val(COORD, "rebalance-latency-max", math.nan),
        val(COORD, "rebalance-latency-total", 300.0),
        val(COORD, "rebalance-total", 2),
        val(COORD, "rebalance-rate-per-hour", 2.0),
        val(COORD, "failed-rebalance-total", 0),
        val(COORD, "last-rebalance-seconds-ago", -1),
        val(COORD, "commit-latency-avg", 4.5),
        val("kafka.producer:type=producer-metrics,client-id=p-1", "request-latency-avg", 3.0),
        val("kafka.producer:type=producer-metrics,client-id=p-1", "record-error-rate", 0.0),
    ),
)


def test_client_families() -> None:
    snap = run(ClientJmxCollector(Config()), CLIENT)
    assert snap.value(cat.CLIENT_RECORDS_LAG_MAX, "app", "c-1") == 1234
    assert snap.value(cat.CLIENT_RECORDS_LAG, "app", "c-1", "orders", "0") == 1000
    assert snap.value(cat.CLIENT_REBALANCE_LATENCY_AVG, "app", "c-1") == 150
    assert snap.value(cat.CLIENT_REBALANCE_LATENCY_TOTAL, "app", "c-1") == 300
    assert snap.value(cat.CLIENT_REBALANCES, "app", "c-1") == 2
    assert snap.value(cat.CLIENT_REBALANCE_RATE, "app", "c-1") == 2
    assert snap.value(cat.CLIENT_FAILED_REBALANCES, "app", "c-1") == 0
    assert snap.value(cat.CLIENT_COMMIT_LATENCY_AVG, "app", "c-1") == 4.5
    assert snap.value(cat.PRODUCER_REQUEST_LATENCY_AVG, "app", "p-1") == 3
    assert snap.value(cat.PRODUCER_RECORD_ERROR_RATE, "app", "p-1") == 0
    assert snap.value(own.UP, "jmx", "app") == 1


def test_client_nan_minus_one_and_filtered_topics_give_no_series() -> None:
    snap = run(ClientJmxCollector(Config()), CLIENT)
    assert snap.samples(cat.CLIENT_REBALANCE_LATENCY_MAX) == ()
    assert snap.samples(cat.CLIENT_LAST_REBALANCE_AGO) == ()
    assert [s.labels for s in snap.samples(cat.CLIENT_RECORDS_LAG)] == [
        ("app", "c-1", "orders", "0")
    ]
    denied = Config(filters=FiltersConfig(topic_allow=("payments",)))
    assert run(ClientJmxCollector(denied), CLIENT).samples(cat.CLIENT_RECORDS_LAG) == ()


def test_client_app_info_is_one_series_per_client_with_version_and_commit_id() -> None:
    def text(name: str, attribute: str, value: str) -> JmxValue:
        domain, keys = parse_object_name(name)
        return JmxValue(domain, keys, attribute, math.nan, value)

    result = TargetResult(
        "app", "client", True, 0.1,
        (
            text("kafka.consumer:type=app-info,client-id=c-1", "version", "4.1.1"),
            text("kafka.consumer:type=app-info,client-id=c-1", "commit-id", "be816b82d25370ce"),
            text("kafka.producer:type=app-info,client-id=p-1", "version", "4.1.1"),
        ),
    )  # fmt: skip
    snap = run(ClientJmxCollector(Config()), result)
    assert snap.value(ccat.CONSUMER_APP_INFO, "app", "c-1", "4.1.1", "be816b82d25370ce") == 1
    assert snap.value(ccat.PRODUCER_APP_INFO, "app", "p-1", "4.1.1", "") == 1
    assert len(list(snap.samples(ccat.CONSUMER_APP_INFO))) == 1
