"""Payload sampling against a real Kafka and a real registry (Apicurio): producers write raw JSON,
registered Avro in the registry wire format (with the schema id the registry returned), a mix of
both, a wire format with an id the registry never gave, and tombstones. The per-topic signals
equal what the newest messages of each partition are, counted by the test from what it wrote."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator, Sequence

import pytest
from confluent_kafka import Producer

from exporter.catalog import own
from exporter.catalog import registry as cat
from exporter.config import Config, SchemaRegistryConfig
from exporter.poller import Poller
from exporter.sources.payload_samples import wire_schema_id
from harness import clients
from harness.cluster import KafkaCluster
from harness.registry import SchemaRegistry, framed
from tests.test_registry_kafka import by_labels, order_schema, vitals_config

pytestmark = pytest.mark.kafka

NEWEST = 4
"""`schema_registry.payload_sample_messages` in this test."""
UNKNOWN_ID = 987_654


def raw_json(i: int) -> bytes:
    return json.dumps({"id": i, "amount": 1.5}).encode()


@pytest.fixture
def sampling_poller(kafka_single: KafkaCluster) -> Iterator[Callable[[Config], Poller]]:
    made: list[Poller] = []

    def make(config: Config) -> Poller:
        poller = Poller(config)
        made.append(poller)
        return poller

    yield make
    for poller in made:
        poller.stop()


def expected(written: dict[int, Sequence[bytes | None]], known: set[int]) -> tuple[int, int, int]:
    """(sampled, without wire format, unknown id) of the newest NEWEST messages per partition."""
    sampled = raw = unknown = 0
    for values in written.values():
        for value in values[-NEWEST:]:
            if value is None:
                continue  # a tombstone is no payload
            sampled += 1
            schema_id = wire_schema_id(value[:5])
            raw += schema_id is None
            unknown += schema_id is not None and schema_id not in known
    return sampled, raw, unknown


def test_payload_signals_equal_the_newest_messages(
    kafka_single: KafkaCluster,
    schema_registry: SchemaRegistry,
    sampling_poller: Callable[[Config], Poller],
    unique_name: Callable[[str], str],
) -> None:
    bootstrap = kafka_single.bootstrap_servers
    kinds = ("raw", "avro", "mixed", "foreign", "tombs", "quiet")
    raw, avro, mixed, foreign, tombs, quiet = (unique_name(k) for k in kinds)
    excluded = unique_name("x") + "-changelog"
    topics = [raw, avro, mixed, foreign, tombs, quiet, excluded]
    for topic in topics:
        clients.create_topic(bootstrap, topic, partitions=2)
    avro_id = schema_registry.register(f"{avro}-value", order_schema())
    mixed_id = schema_registry.register(f"{mixed}-value", order_schema())
    schema_registry.register(f"{tombs}-value", order_schema())
    known = {avro_id, mixed_id}

    # per topic and partition, the values in the order written (None: a tombstone)
    plan: dict[str, dict[int, Sequence[bytes | None]]] = {
        raw: {0: [raw_json(i) for i in range(7)], 1: [raw_json(i) for i in range(2)]},
        avro: {0: [framed(avro_id) for _ in range(6)], 1: [framed(avro_id)] * 5},
        # older raw messages fall out of the newest NEWEST; the newest mix both
        mixed: {0: [raw_json(0)] * 5 + [framed(mixed_id), raw_json(1), framed(mixed_id)],
                1: [framed(mixed_id)] * 3 + [b"plain text", framed(mixed_id)]},
        foreign: {0: [framed(UNKNOWN_ID)] * 3 + [framed(avro_id)], 1: [framed(UNKNOWN_ID)]},
        tombs: {0: [framed(avro_id), None, framed(avro_id), None], 1: [None]},
        excluded: {0: [raw_json(0)] * 3},
    }  # fmt: skip
    producer = Producer({"bootstrap.servers": bootstrap})
    for topic, partitions in plan.items():
        for partition, values in partitions.items():
            for value in values:
                producer.produce(topic, value, key=b"k", partition=partition)
    assert producer.flush(30) == 0

    base = vitals_config(bootstrap, schema_registry.url, topics)
    config = dataclasses.replace(base, schema_registry=SchemaRegistryConfig(
        url=schema_registry.url, timeout_seconds=5, payload_sampling=True,
        payload_sample_messages=NEWEST))  # fmt: skip
    poller = sampling_poller(config)
    snap = poller.poll_once()
    assert [s.stage for s in poller.last_stages if not s.ok] == []
    sampled = by_labels(snap, cat.PAYLOAD_SAMPLED)
    without = by_labels(snap, cat.PAYLOAD_WITHOUT_WIRE_FORMAT)
    unknown = by_labels(snap, cat.PAYLOAD_UNKNOWN_SCHEMA_ID)
    # quiet has no message, excluded matches the default exclude patterns: neither is sampled
    assert set(sampled) == {(t,) for t in (raw, avro, mixed, foreign, tombs)}
    for topic in (raw, avro, mixed, foreign, tombs):
        got = (sampled[(topic,)], without[(topic,)], unknown[(topic,)])
        assert got == expected(plan[topic], known), topic
    assert expected(plan[mixed], known) == (8, 3, 0)  # the sample really is the newest 4 + 4
    assert expected(plan[foreign], known) == (5, 0, 4)
    reads = by_labels(snap, cat.PAYLOAD_SAMPLE_READS)
    assert reads[("found",)] == 10 and reads[("denied",)] == 0  # 5 topics x 2 partitions

    # a raw producer on the registered topic shows in the next cycle; once the registered
    # producer's messages are the newest again, the topic is clean again
    for _ in range(NEWEST):
        producer.produce(avro, raw_json(9), partition=0)
    assert producer.flush(30) == 0
    snap = poller.poll_once()
    assert by_labels(snap, cat.PAYLOAD_WITHOUT_WIRE_FORMAT)[(avro,)] == NEWEST
    for _ in range(NEWEST):
        producer.produce(avro, framed(avro_id), partition=0)
    assert producer.flush(30) == 0
    snap = poller.poll_once()
    assert by_labels(snap, cat.PAYLOAD_WITHOUT_WIRE_FORMAT)[(avro,)] == 0
    assert snap.value(own.UP, "schema_registry", "") == 1
