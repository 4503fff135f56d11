"""Foundation tests on a real 3-node cluster: a stopped or paused node shows up as
under-replicated partitions in the metadata and in broker JMX, and clears when it is back."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from harness import clients
from harness.cluster import KafkaCluster, KafkaNode
from harness.jmx import jmx_value
from harness.procs import wait_for

pytestmark = pytest.mark.kafka

URP = "kafka.server:type=ReplicaManager,name=UnderReplicatedPartitions"


def jmx_urp(nodes: list[KafkaNode]) -> int:
    """UnderReplicatedPartitions summed over `nodes` (each counts the partitions it leads)."""
    return int(sum(jmx_value(n.jmx_url, URP) for n in nodes))


def test_stopped_node_makes_partitions_under_replicated(
    kafka_cluster3: KafkaCluster, unique_name: Callable[[str], str]
) -> None:
    cluster = kafka_cluster3
    bootstrap = cluster.bootstrap_servers
    topic = unique_name("topic")
    clients.create_topic(bootstrap, topic, partitions=3, replication_factor=3)
    wait_for(lambda: not clients.under_replicated(bootstrap, [topic]), 60, "full ISR")
    assert jmx_urp(cluster.nodes) == 0

    stopped, survivors = cluster.nodes[2], cluster.nodes[:2]
    cluster.stop(stopped)
    assert not stopped.running
    try:
        urp = wait_for(
            lambda: clients.under_replicated(bootstrap, [topic]), 60, "ISR < replicas in metadata"
        )
        assert {p.partition for p in urp} == {0, 1, 2}
        assert all(stopped.node_id not in p.isr and len(p.replicas) == 3 for p in urp)
        wait_for(lambda: jmx_urp(survivors) >= 3, 60, "URP > 0 in survivors' JMX", interval=1)
    finally:
        cluster.start(stopped)

    wait_for(lambda: not clients.under_replicated(bootstrap, [topic]), 90, "ISR to refill")
    wait_for(lambda: jmx_urp(cluster.nodes) == 0, 90, "URP back to 0 in JMX", interval=1)
    clients.delete_topic(bootstrap, topic)


def test_paused_follower_leaves_and_rejoins_the_isr(
    kafka_cluster3: KafkaCluster, unique_name: Callable[[str], str]
) -> None:
    cluster = kafka_cluster3
    bootstrap = cluster.bootstrap_servers
    topic = unique_name("topic")
    clients.create_topic(bootstrap, topic, partitions=1, replication_factor=3)
    wait_for(lambda: not clients.under_replicated(bootstrap, [topic]), 60, "full ISR")
    leader = clients.partitions(bootstrap, [topic])[0].leader
    follower = next(n for n in cluster.nodes if n.node_id != leader)

    cluster.pause(follower)
    try:
        # the leader shrinks the ISR after replica.lag.time.max.ms (5 s here)
        urp = wait_for(
            lambda: clients.under_replicated(bootstrap, [topic]), 60, "paused follower out of ISR"
        )
        assert follower.node_id not in urp[0].isr
        assert follower.running  # paused, not dead
    finally:
        cluster.resume(follower)
    wait_for(lambda: not clients.under_replicated(bootstrap, [topic]), 90, "ISR to refill")
    cluster.wait_ready(60)
    clients.delete_topic(bootstrap, topic)
