"""A Schema Registry that keeps its state in the Kafka kafka-vitals watches (Apicurio's KafkaSQL
storage), as many run it: the topics the registry writes are never counted as topics without a
value subject, its signals equal its API as in memory and across its restart, and its journal's
consumer group is seen like any other group.

On a Kafka of its own: the registry leaves topics and `apicurio-<uuid>` groups behind, which the
session's shared cluster must not get."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable

import pytest

from exporter.catalog import admin
from exporter.catalog import registry as cat
from exporter.config import FiltersConfig
from exporter.poller import Poller
from harness import clients
from harness.cluster import KafkaCluster
from harness.procs import HarnessError, wait_for
from harness.registry import SchemaRegistry
from tests.test_registry_kafka import (
    assert_equals_registry_api,
    by_labels,
    order_schema,
    poll_until_read,
    vitals_config,
)

pytestmark = pytest.mark.kafka

JOURNAL = "kafkasql-journal"
REGISTRY_TOPICS = {JOURNAL, "kafkasql-snapshots", "registry-events"}
"""What Apicurio 3.3.3's KafkaSQL storage creates: its journal, its snapshots and its events."""


def test_a_registry_keeping_its_state_in_the_watched_kafka(
    unique_name: Callable[[str], str],
) -> None:
    try:
        cluster = KafkaCluster(1).up()
    except HarnessError as exc:
        pytest.fail(f"cannot start a 1-node Kafka cluster: {exc}", pytrace=False)
    try:
        bootstrap = cluster.bootstrap_servers
        try:
            registry = SchemaRegistry(kafka_bootstrap=bootstrap).start()
        except HarnessError as exc:
            pytest.fail(f"cannot start the Schema Registry on Kafka: {exc}", pytrace=False)
        try:
            check(cluster, registry, unique_name)
        finally:
            registry.stop()
    finally:
        cluster.down()


def check(
    cluster: KafkaCluster, registry: SchemaRegistry, unique_name: Callable[[str], str]
) -> None:
    bootstrap = cluster.bootstrap_servers
    avro_topic, raw_topic = unique_name("orders"), unique_name("raw")
    for topic in (avro_topic, raw_topic):
        clients.create_topic(bootstrap, topic, partitions=1)
    orders = f"{avro_topic}-value"
    registry.register(orders, order_schema())
    registry.register(orders, order_schema({"name": "note", "type": "string", "default": ""}))
    registry.set_compatibility("NONE", orders)

    # every topic and group of the cluster watched, the registry's own among them
    config = vitals_config(bootstrap, registry.url, [])
    poller = Poller(dataclasses.replace(config, filters=FiltersConfig()))
    try:
        snap = poll_until_read(poller)
        topics = {labels[0] for labels in by_labels(snap, admin.TOPIC_PARTITIONS)}
        assert topics >= REGISTRY_TOPICS, topics
        # the registry's topics carry its own records, never registered payloads: not checked
        assert by_labels(snap, cat.TOPIC_VALUE_SUBJECT) == {
            (avro_topic, orders): 1,
            (raw_topic, f"{raw_topic}-value"): 0,
        }
        assert orders in assert_equals_registry_api(snap, registry)
        assert by_labels(snap, cat.SUBJECT_COMPATIBILITY)[(orders, "NONE", "subject")] == 1
        assert by_labels(snap, cat.SUBJECT_VERSIONS)[(orders,)] == 2

        # the registry reads its journal in a group of its own (`apicurio-<uuid>`), with a
        # member, and catches up: the group to watch for a registry whose writes hang
        # (docs/schema-registry.md)
        def journal_read() -> bool:
            nonlocal snap
            snap = poller.poll_once()
            lags = by_labels(snap, admin.GROUP_LAG)
            members = by_labels(snap, admin.GROUP_MEMBERS)
            return any(members.get((g,), 0) >= 1 and lag == 0
                       for (g, topic, _p), lag in lags.items() if topic == JOURNAL)  # fmt: skip

        wait_for(journal_read, 60, "the registry's journal group with a member and no lag")
        readers = {g for (g, topic, _p) in by_labels(snap, admin.GROUP_LAG) if topic == JOURNAL}
        assert all(re.fullmatch(r"apicurio-[0-9a-f-]{36}", g) for g in readers), readers

        # restarted, it replays its state from the journal: the same subjects, versions and ids,
        # and only a version registered after it counts as a registration
        before = by_labels(snap, cat.SUBJECT_REGISTRATIONS)[(orders,)]
        registry.stop()
        registry.start()
        registry.register(orders, order_schema({"name": "x", "type": "int", "default": 0}))
        snap = poll_until_read(poller)
        assert orders in assert_equals_registry_api(snap, registry)
        assert by_labels(snap, cat.SUBJECT_VERSIONS)[(orders,)] == 3
        assert by_labels(snap, cat.SUBJECT_REGISTRATIONS)[(orders,)] == before + 1
    finally:
        poller.stop()
