"""Foundation tests on the shared 1-node cluster: messages round-trip, Kafka's Java consumer
exposes its JMX metrics, and the consumer-groups tool's output is parsed faithfully."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from confluent_kafka import Producer

from harness import clients, tools
from harness.cluster import KafkaCluster
from harness.jmx import jmx_query
from harness.procs import HarnessError, wait_for

pytestmark = pytest.mark.kafka

FETCH_LAG = "kafka.consumer:type=consumer-fetch-manager-metrics,client-id=*/records-lag-max"


def test_thousand_messages_round_trip(
    kafka_single: KafkaCluster, unique_name: Callable[[str], str]
) -> None:
    bootstrap = kafka_single.bootstrap_servers
    topic = unique_name("topic")
    clients.create_topic(bootstrap, topic, partitions=3)
    assert topic in {p.topic for p in clients.partitions(bootstrap, [topic])}

    assert clients.produce_messages(bootstrap, topic, 1000, keyed=True) == 1000
    messages = clients.read_messages(bootstrap, topic, 1000)

    assert len(messages) == 1000
    values = sorted(m.value for m in messages if m.value is not None)
    assert values == sorted(f"message-{i}".encode() for i in range(1000))
    assert all(m.key == b"key-" + m.value.split(b"-", 1)[1] for m in messages if m.value)
    assert sum(clients.end_offsets(bootstrap, topic).values()) == 1000
    clients.delete_topic(bootstrap, topic)


def test_group_describe_parses_committed_offsets(
    kafka_single: KafkaCluster, unique_name: Callable[[str], str]
) -> None:
    bootstrap = kafka_single.bootstrap_servers
    topic, group = unique_name("topic"), unique_name("group")
    clients.create_topic(bootstrap, topic, partitions=3)
    for partition in range(3):
        clients.produce_messages(bootstrap, topic, 10, partition=partition)
    clients.commit_offsets(bootstrap, group, {(topic, 0): 4, (topic, 1): 10})

    rows = sorted(tools.describe_group(bootstrap, group), key=lambda r: r.partition)

    # an empty group lists only partitions with a committed offset
    assert [(r.group, r.topic, r.partition) for r in rows] == [(group, topic, 0), (group, topic, 1)]
    assert [(r.current_offset, r.log_end_offset, r.lag) for r in rows] == [(4, 10, 6), (10, 10, 0)]
    assert all(r.consumer_id is None and r.host is None and r.client_id is None for r in rows)

    assert tools.reset_offsets(bootstrap, group, topic) == {0: 0, 1: 0, 2: 0}
    assert {r.partition: r.lag for r in tools.describe_group(bootstrap, group)} == {
        0: 10, 1: 10, 2: 10
    }  # fmt: skip
    assert tools.reset_offsets(bootstrap, group, topic, to_offset=7) == {0: 7, 1: 7, 2: 7}
    tools.delete_group(bootstrap, group)
    with pytest.raises(HarnessError, match="not found"):
        tools.describe_group(bootstrap, group)
    clients.delete_topic(bootstrap, topic)


def test_group_describe_with_an_emoji_group_id(
    kafka_single: KafkaCluster, unique_name: Callable[[str], str]
) -> None:
    # Java pads columns by UTF-16 length: the emoji takes two positions, one Python character
    bootstrap = kafka_single.bootstrap_servers
    topic, group = unique_name("topic"), unique_name("group") + "-\U0001f680-orders"
    clients.create_topic(bootstrap, topic, partitions=2)
    clients.produce_messages(bootstrap, topic, 10, partition=1)
    clients.commit_offsets(bootstrap, group, {(topic, 0): 0, (topic, 1): 3})
    rows = sorted(tools.describe_group(bootstrap, group), key=lambda r: r.partition)
    assert [(r.group, r.topic, r.partition, r.current_offset, r.log_end_offset, r.lag)
            for r in rows] == [(group, topic, 0, 0, 0, 0), (group, topic, 1, 3, 10, 7)]  # fmt: skip
    clients.delete_topic(bootstrap, topic)


def test_end_offsets_is_the_high_watermark_inside_an_open_transaction(
    kafka_single: KafkaCluster, unique_name: Callable[[str], str]
) -> None:
    bootstrap = kafka_single.bootstrap_servers
    topic = unique_name("txn")
    clients.create_topic(bootstrap, topic, partitions=1)
    clients.produce_messages(bootstrap, topic, 3)
    producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": unique_name("tx")})
    producer.init_transactions(30)
    producer.begin_transaction()
    for i in range(5):
        producer.produce(topic, f"open-{i}".encode(), partition=0)
    assert producer.flush(30) == 0
    try:
        # 3 committed + 5 in the open transaction: the last stable offset stays at 3
        assert clients.end_offsets(bootstrap, topic) == {0: 8}
    finally:
        producer.abort_transaction(30)
    # the abort marker takes one more offset (written after the abort returns)
    wait_for(lambda: clients.end_offsets(bootstrap, topic) == {0: 9}, 30, "the abort marker")
    clients.delete_topic(bootstrap, topic)


def test_java_consumer_exposes_records_lag_max(
    kafka_single: KafkaCluster, unique_name: Callable[[str], str]
) -> None:
    bootstrap = kafka_single.bootstrap_servers
    topic, group, client_id = unique_name("topic"), unique_name("group"), unique_name("client")
    clients.create_topic(bootstrap, topic, partitions=2)
    clients.produce_messages(bootstrap, topic, 200)

    consumer = tools.start_console_consumer(bootstrap, topic, group, client_id)
    try:

        def lag_metric() -> list[float | None]:
            found = jmx_query(consumer.jmx_url, [FETCH_LAG])
            return [v.value for v in found if f"client-id={client_id}" in v.mbean]

        values = wait_for(lag_metric, 90, "records-lag-max in the consumer's JMX", interval=1)
        assert len(values) == 1  # a number once fetches happened, NaN before

        def caught_up() -> list[tools.GroupOffsetRow]:
            rows = tools.describe_group(bootstrap, group)
            done = len(rows) == 2 and all(r.lag == 0 for r in rows)
            return rows if done else []

        rows = wait_for(caught_up, 90, f"group {group} to consume all 200 messages", interval=1)
        assert {r.client_id for r in rows} == {client_id}
        assert all(r.consumer_id and r.consumer_id.startswith(client_id) for r in rows)
        assert all(r.host == "/127.0.0.1" for r in rows)
        assert sum(r.current_offset or 0 for r in rows) == 200
    finally:
        consumer.stop()
    assert not consumer.alive
    clients.delete_topic(bootstrap, topic)


def test_producer_performance_reports_its_rate(
    kafka_single: KafkaCluster, unique_name: Callable[[str], str]
) -> None:
    bootstrap = kafka_single.bootstrap_servers
    topic = unique_name("topic")
    clients.create_topic(bootstrap, topic)
    result = tools.run_producer_perf(bootstrap, topic, 3000, throughput=3000)
    assert result.records == 3000
    assert result.records_per_sec > 0
    assert clients.end_offsets(bootstrap, topic) == {0: 3000}
    clients.delete_topic(bootstrap, topic)
