"""Lag in seconds against a real Kafka: it rises with the elapsed time when a consumer stops on a
topic with steady traffic, stays 0 for a caught-up group on an idle topic, and grows with the
time since the log end was seen for a lagging group on an idle topic."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import pytest

from exporter.catalog import admin as cat
from exporter.config import Config, FiltersConfig, KafkaConfig, PollConfig
from exporter.poller import Poller
from exporter.snapshot import Snapshot
from harness import clients, tools
from harness.cluster import KafkaCluster
from harness.procs import wait_for

pytestmark = pytest.mark.kafka


def test_lag_seconds_follow_a_stopped_consumer_and_stay_zero_when_idle(
    kafka_single: KafkaCluster, unique_name: Callable[[str], str]
) -> None:
    bootstrap = kafka_single.bootstrap_servers
    busy, idle = unique_name("busy"), unique_name("idle")
    stopped, caught_up, behind = (
        unique_name("stopped"),
        unique_name("caughtup"),
        unique_name("behind"),
    )
    clients.create_topic(bootstrap, busy)
    clients.create_topic(bootstrap, idle)
    clients.produce_messages(bootstrap, idle, 10)
    clients.commit_offsets(bootstrap, caught_up, {(idle, 0): 10})
    clients.commit_offsets(bootstrap, behind, {(idle, 0): 4})
    config = Config(
        kafka=KafkaConfig(bootstrap_servers=bootstrap),
        filters=FiltersConfig(
            topic_allow=(re.escape(busy), re.escape(idle)),
            group_allow=tuple(re.escape(g) for g in (stopped, caught_up, behind)),
        ),
        poll=PollConfig(
            interval_seconds=1, stage_timeout_seconds=20, lag_seconds_mode="interpolated"
        ),
    )
    poller = Poller(config)
    producer = tools.start_producer_perf(bootstrap, busy, 20_000, throughput=50)
    consumer = tools.start_console_consumer(
        bootstrap, busy, stopped, properties={"auto.commit.interval.ms": "200"}
    )
    snaps: list[Snapshot] = []

    def poll() -> Snapshot:
        snaps.append(poller.poll_once())
        return snaps[-1]

    def seconds(snap: Snapshot, group: str, topic: str) -> float | None:
        return snap.value(cat.GROUP_LAG_SECONDS, group, topic, "0")

    try:
        first = poll()
        assert seconds(first, behind, idle) is None  # one point: nothing to go on yet
        wait_for(
            lambda: (poll().value(cat.GROUP_LAG, stopped, busy, "0") or 1e9) < 100,
            120, f"group {stopped} to keep up with the traffic", interval=1,
        )  # fmt: skip
        for _ in range(5):
            time.sleep(1)
            assert (seconds(poll(), stopped, busy) or 0.0) < 10.0
        consumer.stop()
        stopped_at = time.time()
        after: list[Snapshot] = []
        for _ in range(12):
            time.sleep(1)
            after.append(poll())
    finally:
        consumer.kill()
        producer.kill()
        poller.stop()

    values = [seconds(s, stopped, busy) for s in after]
    assert all(v is not None for v in values), values
    lags = [v for v in values if v is not None]
    assert lags == sorted(lags), lags
    elapsed = after[-1].taken_at - after[0].taken_at
    assert abs((lags[-1] - lags[0]) - elapsed) < 2.0, (lags, elapsed)
    assert abs(lags[-1] - (after[-1].taken_at - stopped_at)) < 3.0, lags
    assert (after[-1].value(cat.GROUP_LAG, stopped, busy, "0") or 0) > 200

    # a caught-up group on an idle topic: 0 at every poll, never a spike
    assert all(seconds(s, caught_up, idle) == 0.0 for s in snaps)
    # a group behind on an idle topic: the time since the log end was first seen there
    grown = seconds(snaps[-1], behind, idle)
    assert grown is not None
    assert abs(grown - (snaps[-1].taken_at - snaps[0].taken_at)) < 2.0
    assert snaps[-1].value(cat.GROUP_LAG_SECONDS_MAX, behind) == grown
    clients.delete_topic(bootstrap, busy)
    clients.delete_topic(bootstrap, idle)
