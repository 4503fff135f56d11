"""Broker JMX against a real 3-node cluster: throughput counters, Produce latency, and URP
agreeing with the Admin API metadata when a node stops and after it returns."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from exporter.catalog import jmx as cat
from exporter.catalog import own
from exporter.config import JmxConfig, JmxTarget
from exporter.sources.jmx import JmxSource
from harness import clients, tools
from harness.cluster import KafkaCluster, KafkaNode
from harness.procs import HarnessError, tail, wait_for
from tests.jmx_helpers import describe, poll, poll_with_results, total, values

pytestmark = pytest.mark.kafka


def broker_source(nodes: list[KafkaNode]) -> JmxSource:
    return JmxSource(
        JmxConfig(
            targets=tuple(
                JmxTarget(url=n.jmx_url, role="broker", name=f"node{n.node_id}") for n in nodes
            )
        )
    )


def messages_in(source: JmxSource, topic: str) -> tuple[float, float]:
    """(time at the middle of the poll, MessagesIn of `topic` summed over brokers)."""
    before = time.monotonic()
    snap, results = poll_with_results(source)
    after = time.monotonic()
    assert all(r.ok for r in results.values()), describe(results.values())
    return (before + after) / 2, total(snap, cat.MESSAGES_IN, {"topic": topic})


def test_messages_in_grows_at_the_produced_rate_and_produce_p99_is_positive(
    kafka_cluster3: KafkaCluster, unique_name: Callable[[str], str]
) -> None:
    cluster = kafka_cluster3
    bootstrap = cluster.bootstrap_servers
    topic = unique_name("topic")
    clients.create_topic(bootstrap, topic, partitions=3, replication_factor=3)
    source = broker_source(cluster.nodes)
    _, start_count = messages_in(source, topic)
    assert start_count == 0

    rate, records = 500, 15_000
    producer = tools.start_producer_perf(bootstrap, topic, records, throughput=rate)
    try:
        # a window inside the steady part of the run: the producer starts with a burst while
        # its JVM warms up and the cluster learns the new topic, so begin 6 s of traffic in
        def steady() -> tuple[float, float] | None:
            point = messages_in(source, topic)
            return point if point[1] >= 6 * rate else None

        t0, c0 = wait_for(steady, 90, "6 s of produced messages in JMX", interval=0.5)
        time.sleep(12)
        t1, c1 = messages_in(source, topic)
        assert c1 < records, "the window must end while the producer still runs"
        assert producer.wait(120) == 0, tail(producer.output_path)
    finally:
        if producer.alive:
            producer.kill()
    perf = tools.parse_producer_perf(producer.output())
    measured = (c1 - c0) / (t1 - t0)
    assert perf.records == records
    assert abs(measured - perf.records_per_sec) <= 0.10 * perf.records_per_sec, (
        f"MessagesIn rate {measured:.0f}/s vs producer {perf.records_per_sec:.0f}/s"
    )

    snap = poll(source)
    # every produced message counted exactly once, on the partition leaders
    assert total(snap, cat.MESSAGES_IN, {"topic": topic}) == records
    assert total(snap, cat.BYTES_IN, {"topic": topic}) >= records * 100
    # broker-wide series exist on every broker, next to the per-topic ones
    assert len(values(snap, cat.MESSAGES_IN, {"topic": ""})) == 3
    p99 = values(snap, cat.REQUEST_TOTAL_TIME, {"request": "Produce"})
    assert p99 and max(p99) > 0, f"Produce quantiles {p99}"
    produce_count = total(snap, cat.REQUEST_TOTAL_TIME, {"request": "Produce"}, "_count")
    assert produce_count > 0
    assert total(snap, cat.REQUEST_TOTAL_TIME, {"request": "Produce"}, "_sum") > 0
    # the cluster has exactly one active controller
    assert total(snap, cat.ACTIVE_CONTROLLER, {}) == 1
    assert [s.value for s in snap.samples(own.UP)] == [1.0, 1.0, 1.0]
    clients.delete_topic(bootstrap, topic)


def jmx_urp(source: JmxSource) -> int:
    snap, results = poll_with_results(source)
    assert all(r.ok for r in results.values()), describe(results.values())
    return int(total(snap, cat.UNDER_REPLICATED, {}))


def test_stopping_a_node_gives_urp_equal_to_the_admin_api_and_restart_clears_it(
    kafka_cluster3: KafkaCluster, unique_name: Callable[[str], str]
) -> None:
    cluster = kafka_cluster3
    bootstrap = cluster.bootstrap_servers
    topic = unique_name("topic")
    clients.create_topic(bootstrap, topic, partitions=3, replication_factor=3)
    wait_for(lambda: not clients.under_replicated(bootstrap), 60, "full ISR everywhere")
    everyone = broker_source(cluster.nodes)
    wait_for(lambda: jmx_urp(everyone) == 0, 60, "URP 0 in JMX", interval=1)

    stopped, survivors = cluster.nodes[2], cluster.nodes[:2]
    source = broker_source(survivors)
    cluster.stop(stopped)
    try:
        seen: list[tuple[int, int]] = []

        def agree() -> bool:
            admin = len(clients.under_replicated(bootstrap))
            jmx = jmx_urp(source)
            seen.append((jmx, admin))
            return admin > 0 and jmx == admin

        try:
            wait_for(agree, 90, "JMX URP of the survivors to equal the Admin API's", interval=1)
        except HarnessError as exc:
            raise AssertionError(f"{exc}; last (jmx, admin) pairs: {seen[-5:]}") from None
        jmx, admin = seen[-1]
        assert jmx == admin
        # every replicated partition (ours and the internal topics) is short of node 3
        assert admin >= 3
    finally:
        cluster.start(stopped)

    wait_for(lambda: not clients.under_replicated(bootstrap), 120, "ISR to refill")
    wait_for(lambda: jmx_urp(everyone) == 0, 120, "URP back to 0 in JMX", interval=1)
    clients.delete_topic(bootstrap, topic)
