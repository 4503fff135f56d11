"""The assign-only partition reader against a real Kafka: the message at an offset with its own
timestamp (CreateTime and LogAppendTime), and the defined answers for what cannot be read at that
offset: a control record, an aborted transaction, the end of the log, an offset deleted by
retention or past the end. It never joins a group or commits."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from confluent_kafka import Producer
from confluent_kafka import TopicPartition as KafkaTP

from exporter.sources.partition_reader import PartitionReader, Read
from harness import clients
from harness.cluster import KafkaCluster
from harness.procs import wait_for

pytestmark = pytest.mark.kafka

TIMEOUT = 20.0


def produce_at(bootstrap: str, topic: str, partition: int, stamps_ms: list[int]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap})
    for i, ms in enumerate(stamps_ms):
        producer.produce(topic, f"m-{i}".encode(), partition=partition, timestamp=ms)
    assert producer.flush(30) == 0


def high_watermark(bootstrap: str, topic: str, partition: int) -> int:
    return clients.end_offsets(bootstrap, topic)[partition]


def test_reads_the_message_at_the_offset_with_its_own_timestamp(
    kafka_single: KafkaCluster, unique_name: Callable[[str], str]
) -> None:
    bootstrap = kafka_single.bootstrap_servers
    create, append = unique_name("create"), unique_name("append")
    clients.create_topic(bootstrap, create, partitions=3)
    clients.create_topic(bootstrap, append, config={"message.timestamp.type": "LogAppendTime"})
    base = int(time.time() * 1000) - 3_600_000  # an hour ago: CreateTime is the producer's
    for p in range(3):
        produce_at(bootstrap, create, p, [base + 1000 * (10 * p + i) for i in range(5)])
    before = time.time()
    produce_at(bootstrap, append, 0, [base] * 3)
    after = time.time()

    reader = PartitionReader({"bootstrap.servers": bootstrap})
    try:
        got = reader.read({(create, 0): 2, (create, 1): 0, (create, 2): 4, (append, 0): 1}, TIMEOUT)
        again = reader.read({(create, 0): 3}, TIMEOUT)  # the reader is reused between reads
    finally:
        reader.close()
    assert got[(create, 0)] == Read("found", 2, (base + 2000) / 1000)
    assert got[(create, 1)] == Read("found", 0, (base + 10_000) / 1000)
    assert got[(create, 2)] == Read("found", 4, (base + 24_000) / 1000)
    appended = got[(append, 0)]
    assert appended.outcome == "found" and appended.log_append_time and appended.offset == 1
    assert before - 1 <= appended.timestamp <= after + 1
    assert again == {(create, 0): Read("found", 3, (base + 3000) / 1000)}
    admin = clients.admin_client(bootstrap)  # kept alive until its future completes
    groups = admin.list_consumer_groups().result(30)
    assert "kafka-vitals-partition-reader" not in {g.group_id for g in groups.valid}


def test_defined_answers_where_no_message_is_at_the_offset(
    kafka_single: KafkaCluster, unique_name: Callable[[str], str]
) -> None:
    bootstrap = kafka_single.bootstrap_servers
    topic = unique_name("answers")
    clients.create_topic(bootstrap, topic, partitions=4)
    base = int(time.time() * 1000) - 60_000
    # partition 0: a committed transaction (offsets 0-1, marker at 2), then a plain message at 3
    # partition 1: an aborted transaction (offsets 0-1, marker at 2), then a plain message at 3
    tx = Producer({"bootstrap.servers": bootstrap, "transactional.id": unique_name("tx")})
    tx.init_transactions(30)
    for partition, commit in ((0, True), (1, False)):
        tx.begin_transaction()
        for i in range(2):
            tx.produce(topic, b"tx", partition=partition, timestamp=base + i)
        assert tx.flush(30) == 0
        (tx.commit_transaction if commit else tx.abort_transaction)(30)

        # the marker may be written after the call returns: wait for it to take offset 2
        def marker_written(p: int = partition) -> bool:
            return high_watermark(bootstrap, topic, p) == 3

        wait_for(marker_written, 30, "the marker")
        produce_at(bootstrap, topic, partition, [base + 500])
    # partition 2: five messages, the first three deleted as retention would
    produce_at(bootstrap, topic, 2, [base + i for i in range(5)])
    admin = clients.admin_client(bootstrap)  # kept alive until its futures complete
    for future in admin.delete_records([KafkaTP(topic, 2, 3)]).values():
        future.result(30)
    # partition 3: two messages

    produce_at(bootstrap, topic, 3, [base, base + 1])
    reader = PartitionReader({"bootstrap.servers": bootstrap})
    try:
        got = reader.read(
            {(topic, 0): 2, (topic, 1): 0, (topic, 2): 1, (topic, 3): 2, (topic, 99): 0}, 10.0
        )
        past = reader.read({(topic, 3): 50}, TIMEOUT)
    finally:
        reader.close()
    # control record at the offset, aborted records from it: the next message a consumer gets
    assert got[(topic, 0)] == Read("found", 3, (base + 500) / 1000)
    assert got[(topic, 1)] == Read("found", 3, (base + 500) / 1000)
    assert got[(topic, 2)].outcome == "out_of_range"  # deleted by retention
    assert got[(topic, 3)] == Read("end")  # at the log end: nothing to read
    assert got[(topic, 99)].outcome in ("error", "timeout")  # no such partition
    assert past[(topic, 3)].outcome == "out_of_range"
