"""An unreachable Kafka, at start and mid-run: cycles end within their deadlines, the admin
source reports down, no stale series are served, and polling recovers by itself.

The destructive part runs on a dedicated single-node cluster, never on the shared one.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from exporter.catalog import admin as cat
from exporter.catalog import own
from exporter.config import Config, KafkaConfig, PollConfig
from exporter.poller import Poller
from exporter.snapshot import Snapshot
from harness import clients, jars
from harness.cluster import KafkaCluster
from harness.procs import HarnessError, wait_for

pytestmark = pytest.mark.kafka

REQUEST_TIMEOUT = 2.0
STAGE_TIMEOUT = 4.0


def config(bootstrap: str) -> Config:
    return Config(
        kafka=KafkaConfig(bootstrap_servers=bootstrap, request_timeout_seconds=REQUEST_TIMEOUT),
        poll=PollConfig(interval_seconds=1, stage_timeout_seconds=STAGE_TIMEOUT),
    )


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def admin_families(snap: Snapshot) -> list[str]:
    return sorted(m.name for m in snap.families if m.source == "admin")


def assert_down(snap: Snapshot) -> None:
    assert snap.value(own.UP, "admin", "") == 0
    assert admin_families(snap) == []
    assert snap.value(own.LAST_POLL) == snap.taken_at


@pytest.fixture(scope="module")
def own_cluster() -> Iterator[KafkaCluster]:
    """A 1-node cluster of this module alone: its tests stop and restart the node."""
    try:
        jars.java()
        jars.fetch()
        cluster = KafkaCluster(1).up()
    except HarnessError as exc:
        pytest.fail(f"cannot start a 1-node Kafka cluster: {exc}", pytrace=False)
    yield cluster
    cluster.down()


def test_closed_port_at_start_is_down_within_the_deadline() -> None:
    poller = Poller(config(f"127.0.0.1:{closed_port()}"))
    try:
        for cycle in (1, 2):
            t0 = time.monotonic()
            snap = poller.poll_once()
            took = time.monotonic() - t0
            # metadata is the only stage attempted while the cluster is unreachable
            assert took < STAGE_TIMEOUT + 5.0, took
            assert_down(snap)
            assert snap.value(own.POLL_ERRORS, "metadata") == cycle
            assert snap.value(own.POLL_ERRORS, "offsets") == 0
            assert snap.value(own.LAST_POLL_SUCCESS) is None
            assert not poller.ready
            assert poller.snapshot is snap
    finally:
        poller.stop()
    poller.stop()  # idempotent
    with pytest.raises(RuntimeError, match="stopped"):
        poller.poll_once()


def test_kafka_down_at_start_and_mid_run_recovers_by_itself(own_cluster: KafkaCluster) -> None:
    cluster = own_cluster
    bootstrap = cluster.bootstrap_servers
    clients.create_topic(bootstrap, "vitals-lagging", partitions=2)
    for partition in (0, 1):
        clients.produce_messages(bootstrap, "vitals-lagging", 10, partition=partition)
    clients.commit_offsets(bootstrap, "vitals-group", {("vitals-lagging", 0): 3})
    node = cluster.nodes[0]
    cluster.stop(node)

    seen: list[Snapshot] = []
    poller = Poller(config(bootstrap), on_snapshot=seen.append)
    poller.start()
    poller.start()  # idempotent
    try:
        first = wait_for(lambda: poller.snapshot, 30, "a first snapshot while Kafka is down")
        assert_down(first)
        assert not poller.ready

        cluster.start(node)

        def lag_visible() -> Snapshot | None:
            s = poller.snapshot
            ok = s is not None and s.value(cat.GROUP_LAG, "vitals-group", "vitals-lagging", "0")
            return s if ok else None

        snap = wait_for(lag_visible, 120, "polling to recover after Kafka started", interval=0.5)
        assert poller.ready
        assert snap.value(own.UP, "admin", "") == 1
        assert snap.value(cat.GROUP_LAG, "vitals-group", "vitals-lagging", "0") == 7
        assert snap.value(cat.GROUP_UNCOMMITTED_PARTITIONS, "vitals-group", "vitals-lagging") == 1

        cluster.stop(node)

        def down() -> Snapshot | None:
            s = poller.snapshot
            return s if s is not None and s.value(own.UP, "admin", "") == 0 else None

        snap = wait_for(down, 60, "the admin source to report down", interval=0.5)
        assert_down(snap)  # no stale lag series
        assert (snap.value(own.LAST_POLL_SUCCESS) or 0) < snap.taken_at
        assert (snap.value(own.POLL_ERRORS, "metadata") or 0) >= 2

        cluster.start(node)
        snap = wait_for(lag_visible, 120, "polling to recover after a restart", interval=0.5)
        assert snap.value(own.UP, "admin", "") == 1
        assert seen and seen[-1].taken_at >= snap.taken_at
    finally:
        poller.stop()
        if not node.running:
            cluster.start(node)
    clients.delete_topic(bootstrap, "vitals-lagging")
