"""The lessons signals against a real Kafka: dead letters, idle members, lag status, rebalances.

Everything goes through the real poller (Admin API source, every collector) and its snapshot; the
dead-letter alert also goes through a real Prometheus and Alertmanager. Consumers are Kafka's Java
console consumer (from the harness) or confluent-kafka consumers in threads of this process: the
exporter never joins a group, the tests do.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest
from confluent_kafka import Consumer

from bundle import config as thresholds
from bundle import outputs
from exporter.catalog import admin
from exporter.catalog import lessons as cat
from exporter.config import Config, FiltersConfig, KafkaConfig, LessonsConfig, PollConfig
from exporter.poller import Poller
from exporter.render import Renderer
from exporter.snapshot import Snapshot
from harness import clients, tools
from harness.cluster import KafkaCluster
from harness.procs import wait_for
from harness.prom import Alertmanager, PrometheusServer, WebhookReceiver

pytestmark = pytest.mark.kafka

WINDOW = 3
"""Polls in the lag status window: short, so that the tests judge within seconds."""

PollerFactory = Callable[..., Poller]


@pytest.fixture
def make_poller(kafka_single: KafkaCluster) -> Iterator[PollerFactory]:
    """`make_poller(prefix, **lessons)` -> a Poller that sees only names starting with prefix."""
    made: list[Poller] = []

    def make(
        prefix: str,
        *,
        interval: float = 1.0,
        on_snapshot: Callable[[Snapshot], None] | None = None,
        **lessons: Any,
    ) -> Poller:
        allow = (re.escape(prefix) + ".*",)
        config = Config(
            kafka=KafkaConfig(bootstrap_servers=kafka_single.bootstrap_servers),
            filters=FiltersConfig(group_allow=allow, topic_allow=allow),
            poll=PollConfig(interval_seconds=interval, stage_timeout_seconds=15.0),
            lessons=LessonsConfig(lag_status_window=WINDOW, **lessons),
        )
        poller = Poller(config, runners=[], on_snapshot=on_snapshot)
        made.append(poller)
        return poller

    yield make
    for poller in made:
        poller.stop()


def poll_until(
    poller: Poller, check: Callable[[Snapshot], bool], what: str, timeout: float = 60.0
) -> Snapshot:
    """Run poll cycles until `check(snapshot)` holds; return that snapshot."""

    def attempt() -> Snapshot | None:
        snap = poller.poll_once()
        return snap if check(snap) else None

    found: Snapshot = wait_for(attempt, timeout, what, interval=0.3)
    return found


def wait_snapshot(
    poller: Poller, check: Callable[[Snapshot], bool], what: str, timeout: float = 90.0
) -> Snapshot:
    """Wait until the background poller's latest snapshot satisfies `check`."""

    def attempt() -> Snapshot | None:
        snap = poller.snapshot
        return snap if snap is not None and check(snap) else None

    found: Snapshot = wait_for(attempt, timeout, what, interval=0.2)
    return found


def group_status(snap: Snapshot, group: str) -> str | None:
    got = [s.labels[1] for s in snap.samples(cat.GROUP_STATUS) if s.labels[0] == group]
    return got[0] if got else None


def partition_statuses(snap: Snapshot, group: str) -> dict[int, str]:
    return {
        int(s.labels[2]): s.labels[3]
        for s in snap.samples(cat.PARTITION_STATUS)
        if s.labels[0] == group
    }


def group_state(snap: Snapshot, group: str) -> str | None:
    got = [s.labels[1] for s in snap.samples(admin.GROUP_STATE) if s.labels[0] == group]
    return got[0] if got else None


class ConsumerThreads:
    """confluent-kafka consumers in one group, each polled by its own thread; each commits what
    it consumed after every batch."""

    def __init__(self, bootstrap: str, group: str, topic: str, count: int) -> None:
        conf = {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
        self._consumers = [Consumer({**conf, "client.id": f"{group}-{i}"}) for i in range(count)]
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, args=(c, topic), daemon=True)
            for c in self._consumers
        ]

    def __enter__(self) -> ConsumerThreads:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(30)

    def _run(self, consumer: Consumer, topic: str) -> None:
        consumer.subscribe([topic])
        try:
            while not self._stop.is_set():
                messages = consumer.consume(100, timeout=0.2)
                if messages:
                    consumer.commit(asynchronous=False)
        finally:
            consumer.close()


# --- dead letters ---------------------------------------------------------------------------


def test_dead_letter_topic_metrics_move(
    kafka_single: KafkaCluster, make_poller: PollerFactory, unique_name: Callable[[str], str]
) -> None:
    bootstrap = kafka_single.bootstrap_servers
    prefix = unique_name("dl")
    source, dlt, replayer = f"{prefix}-payments", f"{prefix}-payments.DLT", f"{prefix}-replay"
    clients.create_topic(bootstrap, source, partitions=2)
    clients.create_topic(bootstrap, dlt, partitions=2)
    poller = make_poller(prefix, replay_groups={dlt: replayer})
    labels = (dlt, source, "dlt")

    snap = poller.poll_once()
    assert snap.value(cat.DEADLETTER_MESSAGES, *labels) == 0
    assert snap.value(cat.DEADLETTER_DEPTH, *labels, replayer) == 0
    assert snap.value(cat.DEADLETTER_NEWEST_TIMESTAMP, *labels) is None
    assert snap.value(cat.DEADLETTER_MESSAGES, source, "", "dlt") is None  # not a DLT itself

    clients.produce_messages(bootstrap, dlt, 3, partition=0)
    clients.produce_messages(bootstrap, dlt, 2, partition=1)
    produced = time.time()
    snap = poller.poll_once()
    assert snap.value(cat.DEADLETTER_MESSAGES, *labels) == 5
    assert snap.value(cat.DEADLETTER_DEPTH, *labels, replayer) == 5
    stamp = snap.value(cat.DEADLETTER_NEWEST_TIMESTAMP, *labels)
    assert stamp is not None and produced <= stamp <= time.time()

    # a replay group that committed 2 of partition 0's messages leaves 3 to replay
    clients.commit_offsets(bootstrap, replayer, {(dlt, 0): 2})
    later = poller.poll_once()
    assert later.value(cat.DEADLETTER_MESSAGES, *labels) == 5
    assert later.value(cat.DEADLETTER_DEPTH, *labels, replayer) == 1 + 2
    assert later.value(cat.DEADLETTER_NEWEST_TIMESTAMP, *labels) == stamp


@pytest.mark.prometheus
def test_dead_letter_alert_fires_in_prometheus(
    kafka_single: KafkaCluster,
    make_poller: PollerFactory,
    unique_name: Callable[[str], str],
    prometheus_factory: Callable[..., PrometheusServer],
    alertmanager: Alertmanager,
    webhook_receiver: WebhookReceiver,
) -> None:
    bootstrap = kafka_single.bootstrap_servers
    prefix = unique_name("dla")
    source, dlt = f"{prefix}-payments", f"{prefix}-payments.DLT"
    clients.create_topic(bootstrap, source)
    clients.create_topic(bootstrap, dlt)

    renderer = Renderer()

    def serve(snapshot: Snapshot) -> None:
        webhook_receiver.metrics_text = renderer.render(snapshot).text.decode()

    poller = make_poller(prefix, on_snapshot=serve)
    poller.start()
    # the shipped rules, with the dead-letter alert's window and `for` shortened for a test
    d = thresholds.DEFAULT
    t = replace(d, dead_letter_messages=replace(d.dead_letter_messages, window="1m", for_="0s"))
    prom = prometheus_factory(
        {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "scrape_configs": [
                {
                    "job_name": "kafka-vitals",
                    "static_configs": [{"targets": [webhook_receiver.address]}],
                }
            ],
            "alerting": {
                "alertmanagers": [{"static_configs": [{"targets": [alertmanager.address]}]}]
            },
        },
        {"kafka-vitals.rules.yml": outputs.rules_yaml(t)},
    )
    series = f'kafka_deadletter_messages_total{{topic="{dlt}"}}'
    prom.wait_for_value(f"count_over_time({series}[1m])", lambda v: v >= 3, timeout=60)
    assert prom.query_value(series) == 0
    assert not [a for a in prom.alerts() if a["labels"].get("topic") == dlt]

    clients.produce_messages(bootstrap, dlt, 4)
    alert = webhook_receiver.wait_for_alert("KafkaDeadLetterMessages", timeout=90)
    assert alert["labels"]["topic"] == dlt
    assert alert["labels"]["source_topic"] == source
    assert alert["labels"]["severity"] == "warning"
    assert alert["annotations"]["runbook_url"].endswith("/KafkaDeadLetterMessages.md")
    assert prom.query_value(series) == 4


# --- headroom -------------------------------------------------------------------------------


def test_four_members_on_three_partitions_leave_one_idle(
    kafka_single: KafkaCluster, make_poller: PollerFactory, unique_name: Callable[[str], str]
) -> None:
    bootstrap = kafka_single.bootstrap_servers
    prefix = unique_name("idle")
    topic, group = f"{prefix}-orders", f"{prefix}-group"
    clients.create_topic(bootstrap, topic, partitions=3)
    clients.produce_messages(bootstrap, topic, 30, keyed=True)
    poller = make_poller(prefix, planned_consumers_by_topic={topic: 4})

    with ConsumerThreads(bootstrap, group, topic, 4):
        snap = poll_until(
            poller,
            lambda s: (
                s.value(admin.GROUP_MEMBERS, group) == 4
                and s.value(cat.GROUP_IDLE_MEMBERS, group) is not None
            ),
            "a Stable group of 4 members",
            timeout=90,
        )
    assert group_state(snap, group) == "Stable"
    assert snap.value(cat.GROUP_IDLE_MEMBERS, group) == 1
    assert snap.value(cat.GROUP_TOPIC_MEMBERS, group, topic) == 3
    assert snap.value(cat.GROUP_PLANNED_MEMBERS, group, topic) == 4
    assert snap.value(cat.GROUP_PARTITION_HEADROOM, group, topic) == 0.75


# --- lag status -----------------------------------------------------------------------------


def test_lag_status_ok_stall_stop_rewind(
    kafka_single: KafkaCluster, make_poller: PollerFactory, unique_name: Callable[[str], str]
) -> None:
    bootstrap = kafka_single.bootstrap_servers
    prefix = unique_name("st")
    topic, group = f"{prefix}-events", f"{prefix}-group"
    clients.create_topic(bootstrap, topic)
    clients.produce_messages(bootstrap, topic, 50)
    poller = make_poller(prefix)

    consumer = tools.start_console_consumer(
        bootstrap, topic, group, properties={"auto.commit.interval.ms": "500"}, jmx=False
    )
    try:
        # caught up: OK
        snap = poll_until(
            poller,
            lambda s: (
                s.value(admin.GROUP_LAG, group, topic, "0") == 0 and group_status(s, group) == "OK"
            ),
            "the console consumer to catch up",
            timeout=90,
        )
        assert partition_statuses(snap, group) == {0: "OK"}

        # paused (SIGSTOP) while messages keep coming: STALL, the member still owns it
        consumer.pause()
        clients.produce_messages(bootstrap, topic, 20)
        snap = poll_until(poller, lambda s: group_status(s, group) == "STALL", "STALL", timeout=30)
        assert snap.value(admin.GROUP_MEMBERS, group) == 1
        assert snap.value(admin.GROUP_LAG, group, topic, "0") == 20
        assert partition_statuses(snap, group) == {0: "STALL"}

        # resumed: it catches up and commits, OK again
        consumer.resume()
        poll_until(poller, lambda s: group_status(s, group) == "OK", "OK after resume")
    finally:
        consumer.resume()
        consumer.stop()

    # consumer gone, lag growing: STOP
    clients.produce_messages(bootstrap, topic, 10)
    snap = poll_until(poller, lambda s: group_status(s, group) == "STOP", "STOP", timeout=60)
    assert snap.value(admin.GROUP_MEMBERS, group) == 0
    assert snap.value(admin.GROUP_LAG, group, topic, "0") == 10

    # kafka-consumer-groups --reset-offsets --to-earliest: REWIND
    assert tools.reset_offsets(bootstrap, group, topic) == {0: 0}
    snap = poll_until(poller, lambda s: group_status(s, group) == "REWIND", "REWIND", timeout=30)
    assert snap.value(admin.GROUP_CURRENT_OFFSET, group, topic, "0") == 0
    # once the rewind leaves the window, the stopped group is STOP again
    snap = poll_until(poller, lambda s: group_status(s, group) == "STOP", "STOP after REWIND")
    assert partition_statuses(snap, group) == {0: "STOP"}


# --- rebalance hygiene ----------------------------------------------------------------------


def stable_members(bootstrap: str, group: str, previous: set[str], n: int) -> set[str]:
    """Wait until the group is Stable with n members and a member set other than `previous`."""

    client = clients.admin_client(bootstrap)

    def attempt() -> set[str] | None:
        g = client.describe_consumer_groups([group], request_timeout=10)[group].result(timeout=15)
        ids = {m.member_id for m in g.members}
        return ids if g.state.name == "STABLE" and len(ids) == n and ids != previous else None

    found: set[str] = wait_for(attempt, 90.0, f"{group} Stable with {n} new members", interval=0.2)
    return found


def test_rolling_restart_counts_rebalances(
    kafka_single: KafkaCluster, make_poller: PollerFactory, unique_name: Callable[[str], str]
) -> None:
    bootstrap = kafka_single.bootstrap_servers
    prefix = unique_name("rr")
    topic, group = f"{prefix}-orders", f"{prefix}-group"
    clients.create_topic(bootstrap, topic, partitions=3)
    poller = make_poller(prefix, interval=0.5)
    poller.start()

    def settled_with(n: int, after: float = 0.0) -> Callable[[Snapshot], bool]:
        return lambda s: (
            s.taken_at > after
            and group_state(s, group) == "Stable"
            and s.value(admin.GROUP_MEMBERS, group) == n
            and s.value(cat.GROUP_IDLE_MEMBERS, group) == 0
        )

    consumers = [
        tools.start_console_consumer(bootstrap, topic, group, f"{group}-{i}", jmx=False)
        for i in range(3)
    ]
    try:
        snap = wait_snapshot(poller, settled_with(3), "3 consumers in a Stable group")
        before = snap.value(admin.GROUP_REBALANCES, group)
        assert before is not None
        members = stable_members(bootstrap, group, set(), 3)
        for i in range(3):
            consumers[i].stop()
            consumers[i] = tools.start_console_consumer(
                bootstrap, topic, group, f"{group}-{i}", jmx=False
            )
            # the group has settled with the new member; only a poll started after that counts,
            # or two restarts could fall between the same two polls
            members = stable_members(bootstrap, group, members, 3)
            settled_at = time.time()
            snap = wait_snapshot(
                poller, settled_with(3, after=settled_at), f"Stable again after restart {i}"
            )
    finally:
        for c in consumers:
            c.stop()

    after = snap.value(admin.GROUP_REBALANCES, group)
    assert after is not None and after >= before + 3
    assert snap.value(cat.GROUP_DYNAMIC_MEMBERS, group) == 3
    assert snap.value(cat.GROUP_REBALANCE_PROTOCOL, group, "eager", "range") == 1
    spent = snap.value(cat.GROUP_REBALANCING_SECONDS, group)
    assert spent is not None and spent >= 0
