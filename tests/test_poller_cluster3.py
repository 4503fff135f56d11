"""Replication health from the Admin API on a real 3-node cluster: stopping a node shows
under-replicated, under-min-ISR and offline partitions that match the metadata; restarting it
clears them. The node stopped is the group coordinator of a group whose lag is exported: the lag
stays readable through the coordinator move and after the node is back. A group on an RF=1 topic
keeps its lag sum and maximum while a partition has no leader (its last log end is carried), and
counts that partition as unread, while the log ends of its partitions on the live brokers are read
afresh (a stopped leader costs only its own partitions). Throughout, the metadata's
under-replicated count equals the brokers' JMX counts plus the partitions left without a leader,
internal topics included (they are served whatever the topic filters say)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from exporter.catalog import Metric, jmx, own
from exporter.catalog import admin as cat
from exporter.config import Config, FiltersConfig, JmxConfig, JmxTarget, KafkaConfig, PollConfig
from exporter.poller import Poller
from exporter.snapshot import Snapshot
from harness import clients
from harness.cluster import KafkaCluster
from harness.procs import wait_for

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


def urp_counts(snap: Snapshot) -> tuple[float, float, float]:
    """(metadata under-replicated, brokers' JMX under-replicated, metadata offline) partitions."""

    def total(metric: Metric) -> float:
        return sum(s.value for s in snap.samples(metric))

    return (total(cat.PARTITION_UNDER_REPLICATED), total(jmx.UNDER_REPLICATED),
            total(cat.PARTITION_OFFLINE))  # fmt: skip


def like_with_like(snap: Snapshot) -> bool:
    """Metadata URP == JMX URP (leaders only count theirs) + partitions without a leader."""
    meta, brokers, offline = urp_counts(snap)
    return meta == brokers + offline


def test_stopped_node_shows_in_replication_families(
    kafka_cluster3: KafkaCluster, unique_name: Callable[[str], str]
) -> None:
    cluster = kafka_cluster3
    bootstrap = cluster.bootstrap_servers
    replicated, single, group = unique_name("replicated"), unique_name("single"), unique_name("g")
    clients.create_topic(bootstrap, replicated, partitions=3, replication_factor=3,
                         config={"min.insync.replicas": "3"})  # fmt: skip
    clients.create_topic(bootstrap, single, partitions=3, replication_factor=1)
    for p in range(3):
        clients.produce_messages(bootstrap, single, 10, partition=p)
    clients.produce_messages(bootstrap, replicated, 20, partition=0)
    clients.commit_offsets(bootstrap, group, {(replicated, 0): 5})
    ends = clients.end_offsets(bootstrap, single)
    assert all(e >= 1 for e in ends.values()), ends
    clients.commit_offsets(bootstrap, group, {(single, p): 1 for p in ends})
    single_lag = {p: e - 1 for p, e in ends.items()}
    wait_for(lambda: not clients.under_replicated(bootstrap, [replicated]), 60, "full ISR")
    topics = [replicated, single]
    config = Config(
        kafka=KafkaConfig(bootstrap_servers=bootstrap, request_timeout_seconds=5),
        filters=FiltersConfig(
            topic_allow=tuple(re.escape(t) for t in topics), group_allow=(re.escape(group),)
        ),
        poll=PollConfig(interval_seconds=1, stage_timeout_seconds=15),
        jmx=JmxConfig(
            targets=tuple(
                JmxTarget(url=n.jmx_url, role="broker", name=f"node{n.node_id}")
                for n in cluster.nodes
            ),
            max_concurrency=3,
        ),
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
        lag_sum = snap.value(cat.GROUP_LAG_SUM, group, single)
        lag_max = snap.value(cat.GROUP_LAG_MAX, group)
        assert lag_sum == sum(single_lag.values())
        assert lag_max == max(15, *single_lag.values())
        assert snap.value(cat.GROUP_LOG_END_UNREAD_PARTITIONS, group) == 0
        assert snap.value(cat.TOPIC_PARTITIONS, "__consumer_offsets") == 10
        assert urp_counts(snap) == (0, 0, 0)

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
                settled = after == parts and lag == 15 and like_with_like(s)
                return (s, after) if settled else None

            snap, parts = wait_for(degraded, 180, "under-replicated partitions", interval=1)
            matches_metadata(snap, parts)
            meta_urp, jmx_urp, offline = urp_counts(snap)
            assert meta_urp == jmx_urp + offline > 0
            internal_urp = [s for s in snap.samples(cat.PARTITION_UNDER_REPLICATED)
                            if s.labels[0] == "__consumer_offsets" and s.value == 1]  # fmt: skip
            assert internal_urp, "the internal topics' replication health is served"
            assert all(snap.value(cat.PARTITION_UNDER_MIN_ISR, replicated, str(p)) == 1
                       for p in range(3))  # fmt: skip
            assert sum(s.value for s in snap.samples(cat.PARTITION_OFFLINE)) == len(on_victim)
            assert snap.value(cat.BROKERS) == 2
            assert snap.value(own.UP, "admin", "") == 1
            # the offline partitions keep their last log end: lag sum and max do not move
            for p in range(3):
                assert snap.value(cat.PARTITION_CURRENT_OFFSET, single, str(p)) == ends[p], p
                assert snap.value(cat.GROUP_LAG, group, single, str(p)) == single_lag[p], p
            assert snap.value(cat.GROUP_LAG_SUM, group, single) == lag_sum
            assert snap.value(cat.GROUP_LAG_MAX, group) == lag_max
            assert snap.value(cat.GROUP_LOG_END_UNREAD_PARTITIONS, group) == len(on_victim)
            # the stopped leader costs only its partitions: the others' log ends are read afresh
            alive = [p for p in range(3) if p not in on_victim]
            for p in alive:
                clients.produce_messages(bootstrap, single, 5, partition=p)
            failed = snap.value(own.POLL_ERRORS, "offsets")
            snap = poller.poll_once()
            assert snap.value(own.POLL_ERRORS, "offsets") == failed
            for p in range(3):
                grown = 5 if p in alive else 0
                assert snap.value(cat.PARTITION_CURRENT_OFFSET, single, str(p)) == ends[p] + grown
                assert snap.value(cat.GROUP_LAG, group, single, str(p)) == single_lag[p] + grown
            assert lag_sum is not None
            lag_sum += 5 * len(alive)
            assert snap.value(cat.GROUP_LAG_SUM, group, single) == lag_sum
            assert snap.value(cat.GROUP_LOG_END_UNREAD_PARTITIONS, group) == len(on_victim)
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
        assert snap.value(cat.GROUP_LAG_SUM, group, single) == lag_sum
        assert snap.value(cat.GROUP_LOG_END_UNREAD_PARTITIONS, group) == 0
    finally:
        poller.stop()
    clients.delete_topic(bootstrap, replicated)
    clients.delete_topic(bootstrap, single)
