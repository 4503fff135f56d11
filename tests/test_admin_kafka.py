"""The Admin API source and collectors against a real Kafka: lag equals what
`kafka-consumer-groups --describe` prints, deleted groups and topics vanish, Empty groups stay
(and are not described again while they stay Empty)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from typing import Any

import pytest
from confluent_kafka import Producer, TopicPartition

from exporter.catalog import admin as cat
from exporter.catalog import own
from exporter.config import Config, FiltersConfig, KafkaConfig, PollConfig
from exporter.poller import Poller
from exporter.snapshot import Snapshot
from exporter.sources import admin_offsets
from exporter.sources.admin import AdminSource
from exporter.sources.admin_model import ClusterView, Offsets
from exporter.sources.admin_offsets import OFFSETS_GROUP_ID
from exporter.sources.stages import Deadline
from harness import clients, tools
from harness.cluster import KafkaCluster
from harness.procs import wait_for

pytestmark = pytest.mark.kafka


def vitals_config(bootstrap: str, topics: Iterable[str], groups: Iterable[str]) -> Config:
    """A config that exports only this test's topics and groups, with short deadlines."""
    return Config(
        kafka=KafkaConfig(bootstrap_servers=bootstrap, request_timeout_seconds=10),
        filters=FiltersConfig(
            topic_allow=tuple(re.escape(t) for t in topics),
            group_allow=tuple(re.escape(g) for g in groups),
        ),
        poll=PollConfig(interval_seconds=1, stage_timeout_seconds=20),
    )


def by_labels(snap: Snapshot, metric: object) -> dict[tuple[str, ...], float]:
    return {s.labels: s.value for s in snap.samples(metric)}  # type: ignore[arg-type]


def assert_matches_describe(snap: Snapshot, rows: list[tools.GroupOffsetRow]) -> int:
    """Every describe row agrees with the snapshot; returns how many rows had an offset."""
    committed = by_labels(snap, cat.GROUP_CURRENT_OFFSET)
    lag = by_labels(snap, cat.GROUP_LAG)
    ends = by_labels(snap, cat.PARTITION_CURRENT_OFFSET)
    with_offset = 0
    for r in rows:
        key = (r.group, r.topic, str(r.partition))
        assert ends[(r.topic, str(r.partition))] == r.log_end_offset, r
        if r.current_offset is None:
            assert key not in committed and key not in lag, r
            continue
        with_offset += 1
        assert committed[key] == r.current_offset, r
        assert lag[key] == r.lag, r
    groups = {r.group for r in rows}
    ours = {k for k in committed if k[0] in groups}
    assert ours == {
        (r.group, r.topic, str(r.partition)) for r in rows if r.current_offset is not None
    }
    return with_offset


@pytest.fixture
def names(unique_name: Callable[[str], str]) -> dict[str, str]:
    return {k: unique_name(k) for k in ("orders", "payments", "active", "empty", "partial")}


@pytest.fixture
def poller(kafka_single: KafkaCluster, names: dict[str, str]) -> Iterator[Poller]:
    topics = (names["orders"], names["payments"])
    groups = (names["active"], names["empty"], names["partial"])
    p = Poller(vitals_config(kafka_single.bootstrap_servers, topics, groups))
    yield p
    p.stop()


def test_lag_equals_consumer_groups_describe_then_groups_and_topics_vanish(
    kafka_single: KafkaCluster, names: dict[str, str], poller: Poller
) -> None:
    bootstrap = kafka_single.bootstrap_servers
    orders, payments = names["orders"], names["payments"]
    active, empty, partial = names["active"], names["empty"], names["partial"]
    clients.create_topic(bootstrap, orders, partitions=3)
    clients.create_topic(bootstrap, payments, partitions=3)
    for p in range(3):
        clients.produce_messages(bootstrap, orders, 40 + 10 * p, partition=p)
        clients.produce_messages(bootstrap, payments, 30, partition=p)
    # Empty group with offsets on both topics; a group that committed only some partitions
    clients.commit_offsets(bootstrap, empty, {(orders, 0): 5, (orders, 1): 50, (orders, 2): 60,
                                              (payments, 0): 0, (payments, 2): 29})  # fmt: skip
    clients.commit_offsets(bootstrap, partial, {(payments, 1): 12})

    consumer = tools.start_console_consumer(
        bootstrap, orders, active, properties={"auto.commit.interval.ms": "500"}
    )
    try:

        def consumed() -> bool:
            rows = tools.describe_group(bootstrap, active)
            return len(rows) == 3 and all(r.lag == 0 for r in rows)

        wait_for(consumed, 120, f"group {active} to consume {orders}", interval=1)
        consumer.pause()  # no more commits while comparing
        for p in range(3):
            clients.produce_messages(bootstrap, orders, 7 * (p + 1), partition=p)

        rows = tools.describe_group(bootstrap, active)
        rows += tools.describe_group(bootstrap, empty)
        rows += tools.describe_group(bootstrap, partial)
        snap = poller.poll_once()
        assert poller.ready
        assert snap.value(own.UP, "admin", "") == 1
        assert not [s for s in snap.samples(own.POLL_ERRORS) if s.value]

        assert assert_matches_describe(snap, rows) == 3 + 5 + 1
        assert snap.value(cat.GROUP_LAG, active, orders, "2") == 21
        assert snap.value(cat.GROUP_LAG_SUM, active, orders) == 42
        assert snap.value(cat.GROUP_LAG_MAX, empty) == 42  # orders p0: 47 - 5
        # partitions without a committed offset: no series, counted
        assert snap.value(cat.GROUP_UNCOMMITTED_PARTITIONS, partial, payments) == 2
        assert snap.value(cat.GROUP_UNCOMMITTED_PARTITIONS, empty, payments) == 1
        assert snap.value(cat.GROUP_UNCOMMITTED_PARTITIONS, empty, orders) == 0
        assert snap.value(cat.GROUP_UNCOMMITTED_PARTITIONS, active, orders) == 0
        assert snap.value(cat.GROUP_LAG, partial, payments, "0") is None

        states = {labels[0]: labels[1] for labels in by_labels(snap, cat.GROUP_STATE)}
        assert states == {active: "Stable", empty: "Empty", partial: "Empty"}
        assert snap.value(cat.GROUP_MEMBERS, active) == 1
        assert snap.value(cat.GROUP_MEMBERS, empty) == 0
        info = {labels[0]: labels for labels in by_labels(snap, cat.GROUP_INFO)}
        assert info[active][1:3] == ("classic", "range")
        assert info[empty][4] == "true"  # simple: offsets only, never had members
        assert snap.value(cat.TOPIC_PARTITIONS, orders) == 3
        assert snap.value(cat.TOPIC_MIN_INSYNC_REPLICAS, orders) == 1
        assert snap.value(cat.PARTITION_OLDEST_OFFSET, orders, "0") == 0
        assert snap.value(cat.BROKERS) == 1

        # every consumer stops: the group goes Empty and its lag stays visible
        consumer.resume()
        consumer.stop()
    finally:
        consumer.kill()

    def empty_state() -> Snapshot | None:
        s = poller.poll_once()
        return s if s.value(cat.GROUP_STATE, active, "Empty") == 1 else None

    snap = wait_for(empty_state, 60, f"group {active} to be Empty", interval=1)
    rows = tools.describe_group(bootstrap, active)
    assert assert_matches_describe(snap, rows) == 3
    assert snap.value(cat.GROUP_MEMBERS, active) == 0
    assert (snap.value(cat.GROUP_REBALANCES, active) or 0) >= 1
    # with no member left, its lag stays visible and grows with what is produced (the resumed
    # consumer may have consumed and committed everything before it stopped: lag 0 then)
    lag_before = snap.value(cat.GROUP_LAG_SUM, active, orders)
    assert lag_before is not None
    clients.produce_messages(bootstrap, orders, 5, partition=0)
    snap = poller.poll_once()
    assert snap.value(cat.GROUP_LAG_SUM, active, orders) == lag_before + 5

    # a deleted group and a deleted topic vanish in the next poll
    tools.delete_group(bootstrap, empty)
    clients.delete_topic(bootstrap, payments)
    snap = poller.poll_once()
    everything = [
        (m.name, s.labels) for m, samples in snap.families.items() for s in samples
    ]  # fmt: skip
    assert not [x for x in everything if empty in x[1]]
    assert not [x for x in everything if payments in x[1]]
    assert snap.value(cat.GROUP_LAG_SUM, active, orders) is not None
    assert snap.value(own.UP, "admin", "") == 1
    assert not [s for s in snap.samples(own.POLL_ERRORS) if s.value]

    # an open transaction: the log end served is the high watermark (its records count as lag),
    # not the last stable offset a read_committed reader gets
    lag_before = snap.value(cat.GROUP_LAG_SUM, active, orders)
    assert lag_before is not None
    end = clients.end_offsets(bootstrap, orders)[1]
    producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": f"{orders}-tx"})
    producer.init_transactions(30)
    producer.begin_transaction()
    for _ in range(3):
        producer.produce(orders, b"open", partition=1)
    producer.flush(30)
    try:
        snap = poller.poll_once()
        assert clients.end_offsets(bootstrap, orders)[1] == end + 3
        assert snap.value(cat.PARTITION_CURRENT_OFFSET, orders, "1") == end + 3
        assert snap.value(cat.GROUP_LAG_SUM, active, orders) == lag_before + 3
    finally:
        producer.abort_transaction(30)
    # the offsets stage's consumer never shows up as a group (librdkafka insists on a group.id)
    listed = clients.admin_client(bootstrap).list_consumer_groups().result(30)
    assert OFFSETS_GROUP_ID not in {g.group_id for g in listed.valid}
    clients.delete_topic(bootstrap, orders)
    tools.delete_group(bootstrap, active)


def test_filters_internal_topics_and_series_cap(
    kafka_single: KafkaCluster, unique_name: Callable[[str], str]
) -> None:
    bootstrap = kafka_single.bootstrap_servers
    keep, drop = unique_name("keep"), unique_name("drop") + ".DLT"
    kept_group, dropped_group = unique_name("gkeep"), unique_name("gdrop")
    clients.create_topic(bootstrap, keep, partitions=2)
    clients.create_topic(bootstrap, drop)
    clients.commit_offsets(bootstrap, kept_group, {(keep, 0): 0, (drop, 0): 0})
    clients.commit_offsets(bootstrap, dropped_group, {(keep, 0): 0})
    filters = FiltersConfig(
        topic_allow=(re.escape(keep), re.escape(drop), "__consumer_offsets"),
        topic_deny=(r".*\.DLT",),
        group_allow=(re.escape(kept_group), re.escape(dropped_group)),
        group_deny=(re.escape(dropped_group),),
    )
    kafka = KafkaConfig(bootstrap_servers=bootstrap)
    poller = Poller(Config(kafka=kafka, filters=filters))
    try:
        snap = poller.poll_once()
    finally:
        poller.stop()
    exported = {t for (t,) in by_labels(snap, cat.TOPIC_PARTITIONS) if not t.startswith("__")}
    assert exported == {keep}
    # internal topics: replication health whatever the filters say, but no offsets
    assert snap.value(cat.TOPIC_PARTITIONS, "__consumer_offsets") == 10
    assert snap.value(cat.PARTITION_UNDER_REPLICATED, "__consumer_offsets", "0") == 0
    assert snap.value(cat.PARTITION_OFFLINE, "__consumer_offsets", "0") == 0
    assert snap.value(cat.PARTITION_CURRENT_OFFSET, "__consumer_offsets", "0") is None
    assert set(by_labels(snap, cat.GROUP_CURRENT_OFFSET)) == {(kept_group, keep, "0")}
    assert {labels[0] for labels in by_labels(snap, cat.GROUP_STATE)} == {kept_group}
    # the denied topic is left out of every family, uncommitted counts included
    assert set(by_labels(snap, cat.GROUP_UNCOMMITTED_PARTITIONS)) == {(kept_group, keep)}

    internal = replace(filters, include_internal_topics=True)
    poller = Poller(Config(kafka=kafka, filters=internal, poll=PollConfig(series_cap=3)))
    try:
        snap = poller.poll_once()
    finally:
        poller.stop()
    offsets_partitions = snap.value(cat.TOPIC_PARTITIONS, "__consumer_offsets")
    assert offsets_partitions == 10  # the harness's offsets.topic.num.partitions
    # other tests on this cluster may have made __transaction_state
    internals = sum(v for (t,), v in by_labels(snap, cat.TOPIC_PARTITIONS).items() if t != keep)
    assert len(snap.samples(cat.PARTITION_LEADER)) == 3
    assert snap.value(own.SERIES_DROPPED, cat.PARTITION_LEADER.name) == 2 + internals - 3
    assert snap.value(own.SERIES, cat.PARTITION_LEADER.name) == 3
    clients.delete_topic(bootstrap, keep)
    clients.delete_topic(bootstrap, drop)
    for g in (kept_group, dropped_group):
        tools.delete_group(bootstrap, g)


def test_new_consumer_protocol_group(
    kafka_single: KafkaCluster, unique_name: Callable[[str], str]
) -> None:
    """A KIP-848 group (group.protocol=consumer) is described with type consumer and its lag."""
    bootstrap = kafka_single.bootstrap_servers
    topic, group = unique_name("topic"), unique_name("group")
    clients.create_topic(bootstrap, topic, partitions=2)
    for p in range(2):
        clients.produce_messages(bootstrap, topic, 10, partition=p)
    poller = Poller(vitals_config(bootstrap, [topic], [group]))
    consumer = tools.start_console_consumer(
        bootstrap, topic, group,
        properties={"group.protocol": "consumer", "auto.commit.interval.ms": "500"},
    )  # fmt: skip
    try:

        def settled() -> Snapshot | None:
            s = poller.poll_once()
            lags = [s.value(cat.GROUP_LAG, group, topic, str(p)) for p in range(2)]
            stable = s.value(cat.GROUP_STATE, group, "Stable") == 1
            return s if stable and lags == [0, 0] else None

        snap = wait_for(settled, 120, f"group {group} Stable and caught up", interval=1)
        info = next(iter(by_labels(snap, cat.GROUP_INFO)))
        assert info[:2] == (group, "consumer")
        assert info[4] == "false"
        assert snap.value(cat.GROUP_MEMBERS, group) == 1
        consumer.pause()
        clients.produce_messages(bootstrap, topic, 5, partition=1)
        rows = tools.describe_group(bootstrap, group)
        assert assert_matches_describe(poller.poll_once(), rows) == 2
    finally:
        consumer.kill()
        poller.stop()
    clients.delete_topic(bootstrap, topic)


def described(source: AdminSource) -> tuple[str, ...]:
    """The groups the source's last fetch described (read afresh: a fetch changes it)."""
    return source.described


def test_empty_groups_are_described_again_only_when_due_or_changed(
    kafka_single: KafkaCluster, unique_name: Callable[[str], str]
) -> None:
    bootstrap = kafka_single.bootstrap_servers
    topic, idle, busy = unique_name("dc-topic"), unique_name("dc-idle"), unique_name("dc-busy")
    clients.create_topic(bootstrap, topic, partitions=2)
    clients.produce_messages(bootstrap, topic, 10, partition=0)
    clients.commit_offsets(bootstrap, idle, {(topic, 0): 4})
    clients.commit_offsets(bootstrap, busy, {(topic, 0): 2})
    config = vitals_config(bootstrap, [topic], [idle, busy])
    source = AdminSource(config)
    every = AdminSource(replace(config, poll=replace(config.poll, empty_group_describe_seconds=0)))

    def fetch(s: AdminSource = source) -> ClusterView:
        result = s.fetch()
        assert result.view is not None and result.view.groups is not None
        assert not result.view.failed_stages, result.stages
        return result.view

    first = fetch()
    assert set(source.described) == {idle, busy}
    assert {g: d.state for g, d in (first.groups or {}).items()} == {idle: "Empty", busy: "Empty"}
    # both still Empty: nothing is described, the groups and their offsets are all there
    second = fetch()
    assert source.described == ()
    assert second.groups == first.groups
    assert second.committed == {idle: {(topic, 0): 4}, busy: {(topic, 0): 2}}
    # 0 describes every group every cycle
    fetch(every)
    fetch(every)
    assert set(every.described) == {idle, busy}

    consumer = tools.start_console_consumer(bootstrap, topic, busy, jmx=False)
    try:

        def joined() -> ClusterView | None:
            view = fetch()
            g = (view.groups or {})[busy]
            return view if g.state == "Stable" and len(g.members) == 1 else None

        wait_for(joined, 60, f"{busy} Stable with its member", interval=0.5)
        assert described(source) == (busy,)  # a group with members is described every cycle
        fetch()
        assert described(source) == (busy,)
    finally:
        consumer.stop()

    def left() -> ClusterView | None:
        view = fetch()
        g = (view.groups or {})[busy]
        return view if g.state == "Empty" else None

    view = wait_for(left, 60, f"{busy} Empty again", interval=0.5)
    assert (view.groups or {})[busy].members == ()
    assert busy in source.described  # the change to Empty is described once
    fetch()
    assert source.described == ()


def test_racks_are_asked_again_only_when_the_brokers_change_or_they_expire(
    kafka_single: KafkaCluster, unique_name: Callable[[str], str]
) -> None:
    source = AdminSource(vitals_config(kafka_single.bootstrap_servers, [], []))
    asked: list[float] = []
    real = source._client.describe_cluster

    def counted(**kwargs: Any) -> Any:
        asked.append(1)
        return real(**kwargs)

    source._client.describe_cluster = counted  # type: ignore[method-assign]
    try:
        views = [source.fetch().view for _ in range(3)]
        assert len(asked) == 1, "the racks were asked again with the same brokers"
        racks = [[b.rack for b in v.brokers or ()] for v in views if v is not None]
        assert len(racks) == 3 and racks[0] == racks[1] == racks[2]
        source._racks_until = 0.0  # as if RACKS_TTL_SECONDS had passed
        source.fetch()
        assert len(asked) == 2
        source._racks_of = frozenset()  # as if a broker had joined, left or moved
        source.fetch()
        assert len(asked) == 3
    finally:
        source.close()


def test_offsets_reader_reads_in_chunks_carries_the_unread_and_replaces_its_consumers(
    kafka_single: KafkaCluster, unique_name: Callable[[str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The offsets stage's reader itself (in this process: the poller runs it in a child), in
    lists of 2 partitions: every log end and start equals the broker's; a partition without a
    leader is not asked and keeps its last offsets; fresh consumers read the same."""
    bootstrap = kafka_single.bootstrap_servers
    topic = unique_name("chunks")
    clients.create_topic(bootstrap, topic, partitions=5)
    for p in range(5):
        clients.produce_messages(bootstrap, topic, 3 + p, partition=p)
    admin = clients.admin_client(bootstrap)
    deleted = admin.delete_records([TopicPartition(topic, 4, 2)])  # log start of p4: 2
    deleted[TopicPartition(topic, 4, 2)].result(30)
    monkeypatch.setattr(admin_offsets, "CHUNK", 2)
    reader = admin_offsets.OffsetsReader({"bootstrap.servers": bootstrap}, 10.0)
    try:
        wanted = [(topic, p) for p in range(5)]
        leaders = dict.fromkeys(wanted, kafka_single.nodes[0].node_id)
        got, carried = reader.read(wanted, wanted[3:], leaders, Deadline.after(20))
        ends = clients.end_offsets(bootstrap, topic)
        assert got == {
            (topic, 0): Offsets(-1, ends[0]), (topic, 1): Offsets(-1, ends[1]),
            (topic, 2): Offsets(-1, ends[2]), (topic, 3): Offsets(0, ends[3]),
            (topic, 4): Offsets(2, ends[4]),
        }  # fmt: skip
        assert carried == frozenset()
        clients.produce_messages(bootstrap, topic, 2, partition=0)
        clients.produce_messages(bootstrap, topic, 2, partition=1)
        reader.replace()
        got, carried = reader.read(wanted, [], {**leaders, (topic, 1): -1}, Deadline.after(20))
        assert got[(topic, 0)].end == ends[0] + 2
        assert got[(topic, 1)] == Offsets(-1, ends[1])  # no leader: not asked, carried
        assert carried == frozenset({(topic, 1)})
    finally:
        reader.close()
    clients.delete_topic(bootstrap, topic)
