"""Replication health from the Admin API on a real 3-node cluster: stopping a node shows
under-replicated, under-min-ISR and offline partitions that match the metadata; restarting it
clears them. The node stopped is the group coordinator of a group whose lag is exported: the lag
stays readable through the coordinator move and after the node is back."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from exporter.catalog import admin as cat
from exporter.catalog import own
from exporter.config import Config, FiltersConfig, KafkaConfig, PollConfig
from exporter.poller import Poller
from exporter.snapshot import Snapshot
from tests.harness import clients
from tests.harness.cluster import KafkaCluster
from tests.harness.procs import wait_for

pytestmark = pytest.mark.kafka


def by_labels(snap: Snapshot, metric: object) -> dict[tuple[str, ...], float]:
    return {s.labels: s.value for s in snap.samples(metric)}  # type: ignore[arg-type]


def matches_metadata(snap: Snapshot, parts: list[clients.PartitionInfo]) -> None:
    for p in parts:
        labels = (p.topic, str(p.partition))
        assert snap.value(cat.PARTITION_IN_SYNC_REPLICA, *labels) == len(p.isr), p
        assert snap.value(cat.PARTITION_REPLICAS, *labels) == len(p.replicas), p
        assert snap.value(cat.PARTITION_UNDER_REPLICATED, *labels) == p.under_replicated, p
        assert snap.value(cat.PARTITION_LEADER, *labels) == p.leader, p
        assert snap.value(cat.PARTITION_OFFLINE, *labels) == (p.leader < 0), p


def test_stopped_node_shows_in_replication_families(
    kafka_cluster3: KafkaCluster, unique_name: Callable[[str], str]
) -> None:
    cluster = kafka_cluster3
    bootstrap = cluster.bootstrap_servers
    replicated, single, group = unique_name("replicated"), unique_name("single"), unique_name("g")
    clients.create_topic(bootstrap, replicated, partitions=3, replication_factor=3,
                         config={"min.insync.replicas": "3"})  # fmt: skip
    clients.create_topic(bootstrap, single, partitions=3, replication_factor=1)
    clients.produce_messages(bootstrap, single, 30)
    clients.produce_messages(bootstrap, replicated, 20, partition=0)
    clients.commit_offsets(bootstrap, group, {(replicated, 0): 5})
    wait_for(lambda: not clients.under_replicated(bootstrap, [replicated]), 60, "full ISR")
    topics = [replicated, single]
    config = Config(
        kafka=KafkaConfig(bootstrap_servers=bootstrap, request_timeout_seconds=5),
        filters=FiltersConfig(
            topic_allow=tuple(re.escape(t) for t in topics), group_allow=(re.escape(group),)
        ),
        poll=PollConfig(interval_seconds=1, stage_timeout_seconds=15),
    )
    poller = Poller(config)
    try:
        snap = poller.poll_once()
        matches_metadata(snap, clients.partitions(bootstrap, topics))
        assert sum(s.value for s in snap.samples(cat.PARTITION_UNDER_REPLICATED)) == 0
        assert sum(s.value for s in snap.samples(cat.PARTITION_UNDER_MIN_ISR)) == 0
        assert snap.value(cat.TOPIC_MIN_INSYNC_REPLICAS, replicated) == 3
        assert snap.value(cat.BROKERS) == 3
        assert snap.value(cat.GROUP_LAG, group, replicated, "0") == 15

        coordinator = int(next(iter(by_labels(snap, cat.GROUP_INFO)))[3])
        victim = cluster.node(coordinator)
        on_victim = {p.partition for p in clients.partitions(bootstrap, [single])
                     if p.leader == victim.node_id}  # fmt: skip
        cluster.stop(victim)
        try:

            def degraded() -> tuple[Snapshot, list[clients.PartitionInfo]] | None:
                parts = clients.partitions(bootstrap, topics)
                urp = [p for p in parts if p.topic == replicated and p.under_replicated]
                offline = {p.partition for p in parts if p.topic == single and p.leader < 0}
                if len(urp) < 3 or offline != on_victim:
                    return None
                s = poller.poll_once()
                after = clients.partitions(bootstrap, topics)
                lag = s.value(cat.GROUP_LAG, group, replicated, "0")
                return (s, after) if after == parts and lag == 15 else None

            snap, parts = wait_for(degraded, 90, "under-replicated partitions", interval=1)
            matches_metadata(snap, parts)
            assert all(snap.value(cat.PARTITION_UNDER_MIN_ISR, replicated, str(p)) == 1
                       for p in range(3))  # fmt: skip
            assert sum(s.value for s in snap.samples(cat.PARTITION_OFFLINE)) == len(on_victim)
            assert snap.value(cat.BROKERS) == 2
            assert snap.value(own.UP, "admin", "") == 1
            # the offline partitions have no offsets; the others still do
            for p in range(3):
                has_offset = snap.value(cat.PARTITION_CURRENT_OFFSET, single, str(p)) is not None
                assert has_offset == (p not in on_victim), p
        finally:
            cluster.start(victim)

        def healed() -> Snapshot | None:
            s = poller.poll_once()
            bad = sum(x.value for x in s.samples(cat.PARTITION_UNDER_REPLICATED))
            lag = s.value(cat.GROUP_LAG, group, replicated, "0")
            healthy = bad == 0 and lag == 15 and not clients.under_replicated(bootstrap, topics)
            return s if healthy else None

        snap = wait_for(healed, 120, "ISR to refill", interval=1)
        matches_metadata(snap, clients.partitions(bootstrap, topics))
        assert sum(s.value for s in snap.samples(cat.PARTITION_OFFLINE)) == 0
        assert sum(s.value for s in snap.samples(cat.PARTITION_UNDER_MIN_ISR)) == 0
        assert snap.value(cat.BROKERS) == 3
    finally:
        poller.stop()
    clients.delete_topic(bootstrap, replicated)
    clients.delete_topic(bootstrap, single)
