"""One series, one owner: the pure ownership rules (hashes, shares, series filter, broker id)."""

from __future__ import annotations

import itertools

import pytest

from exporter.catalog import admin, jmx, lessons, own
from exporter.ownership import (
    OwnershipError,
    find_broker_id,
    java_hash_code,
    kafka_abs,
    log_start_partitions,
    needed_partitions,
    offsets_partition,
    shard_of,
    share_of,
    stable_hash,
)


def test_java_hash_code_matches_java() -> None:
    # values of String.hashCode() as Java computes them
    assert java_hash_code("") == 0
    assert java_hash_code("a") == 97
    assert java_hash_code("hello") == 99162322
    assert java_hash_code("polygenelubricants") == -(2**31)
    assert java_hash_code("Aa") == java_hash_code("BB") == 2112
    assert java_hash_code("\U0001f600") == 1772899  # two UTF-16 code units, as Java counts


def test_kafka_abs_and_offsets_partition() -> None:
    assert kafka_abs(-(2**31)) == 0
    assert kafka_abs(-5) == 5
    assert offsets_partition("polygenelubricants", 50) == 0
    assert offsets_partition("hello", 50) == 99162322 % 50


def test_stable_hash_is_fnv1a() -> None:
    assert stable_hash("") == 0x811C9DC5
    assert stable_hash("a") == 0xE40C292C
    assert {shard_of(f"g{i}", 3) for i in range(100)} == {0, 1, 2}


LEADERS = [("t", 0, 1), ("t", 1, 2), ("t", 2, 3), ("u", 0, -1), ("u", 1, 4)]
"""Broker 4 is not live (a stale leader); u-0 has no leader."""


def test_broker_scope_every_partition_exactly_once() -> None:
    shares = [share_of("broker", b, 1, (1, 2, 3), LEADERS, (1, 2, 3, 3)) for b in (1, 2, 3)]
    for topic, partition, _ in LEADERS:
        owners = [s.me for s in shares if s.partition(topic, partition)]
        assert len(owners) == 1, (topic, partition, owners)
    assert shares[0].partition("u", 0) and shares[0].partition("u", 1)  # lowest live id takes them
    assert shares[1].partition("t", 1) and not shares[1].partition("t", 0)
    assert [s.cluster_wide for s in shares] == [True, False, False]


def test_broker_scope_groups_follow_the_coordinator() -> None:
    offsets_leaders = (1, 2, 3, -1)
    shares = [share_of("broker", b, 1, (1, 2, 3), LEADERS, offsets_leaders) for b in (1, 2, 3)]
    for i in range(200):
        group = f"group-{i}"
        owners = [s.me for s in shares if s.group(group)]
        assert len(owners) == 1
        leader = offsets_leaders[offsets_partition(group, 4)]
        assert owners[0] == (leader if leader > 0 else 1)


def test_broker_scope_stopped_broker_owns_nothing() -> None:
    gone = share_of("broker", 2, 1, (1, 3), LEADERS, (1, 2, 3))
    assert not gone.cluster_wide and not gone.partitions
    assert not any(gone.group(f"g{i}") for i in range(50))
    survivor = share_of("broker", 1, 1, (1, 3), LEADERS, (1, 2, 3))
    # groups whose offsets partition still names the stopped leader fall to the lowest live id
    assert all(
        survivor.group(g) for g in (f"g{i}" for i in range(50)) if survivor.coordinator(g) < 0
    )


def test_no_offsets_topic_yet_groups_go_to_the_cluster_wide_owner() -> None:
    first = share_of("broker", 1, 1, (1, 2), LEADERS, ())
    second = share_of("broker", 2, 1, (1, 2), LEADERS, ())
    assert first.group("g") and not second.group("g")


def test_shard_scope_splits_by_hash() -> None:
    shares = [share_of("shard", i, 3, (), ()) for i in range(3)]
    for name in (f"x{i}" for i in range(300)):
        assert sum(s.group(name) for s in shares) == 1
        assert sum(s.topic(name) for s in shares) == 1
        assert sum(s.partition(name, 7) for s in shares) == 1
        assert [s.partition(name, p) for s in shares for p in (0, 1)].count(True) == 2
    assert [s.cluster_wide for s in shares] == [True, False, False]


def test_partitions_of_a_topic_as_partition_says() -> None:
    shares = [
        share_of("cluster", 0, 1, (), ()),
        *(share_of("broker", b, 1, (1, 2, 3), LEADERS, (2,)) for b in (1, 2, 3, 4)),
        *(share_of("shard", i, 3, (), ()) for i in range(3)),
    ]
    for share in shares:
        for name, count in (("t", 3), ("u", 2), ("x3", 4), ("x4", 4)):
            got = share.partitions_of(name, [(name, p) for p in range(count)], lambda tp: tp[1])
            assert list(got) == [(name, p) for p in range(count) if share.partition(name, p)]


def test_cluster_scope_keeps_everything() -> None:
    share = share_of("cluster", 0, 1, (), ())
    assert share.everything and share.group("g") and share.partition("t", 0) and share.topic("t")
    assert all(share.series_filter(m) is None for m in admin.ALL)


def test_series_filter_by_labels() -> None:
    share = share_of("broker", 2, 1, (1, 2, 3), LEADERS, (2,))
    for metric in (*own.ALL, *jmx.ALL):
        assert share.series_filter(metric) is None
    lag = share.series_filter(admin.GROUP_LAG)
    assert lag is not None and lag(("g", "t", "0"))  # every group coordinated by 2, any partition
    offset = share.series_filter(admin.PARTITION_CURRENT_OFFSET)
    assert offset is not None and offset(("t", "1")) and not offset(("t", "0"))
    per_topic = share.series_filter(admin.TOPIC_PARTITIONS)
    assert per_topic is not None and not per_topic(("t",))
    brokers = share.series_filter(admin.BROKERS)
    assert brokers is not None and not brokers(())
    dlt = share.series_filter(lessons.DEADLETTER_DEPTH)
    assert dlt is not None and not dlt(("t.DLT", "t", "dead_letter", ""))
    first = share_of("broker", 1, 1, (1, 2, 3), LEADERS, (2,))
    assert first.series_filter(admin.BROKERS)(())  # type: ignore[misc]


def test_needed_partitions() -> None:
    every = [("t", 0), ("t", 1), ("t", 2), ("t.DLT", 0), ("t.DLT", 1)]
    share = share_of("broker", 2, 1, (1, 2), [("t", 0, 1), ("t", 1, 2), ("t", 2, 1)], ())
    assert needed_partitions(share, every, {"g": [("t", 2)]}) == [("t", 1), ("t", 2)]
    cluster_wide = share_of("broker", 1, 1, (1, 2), [("t", 1, 2)], ())
    got = needed_partitions(cluster_wide, every, None, lambda t: t.endswith(".DLT"))
    assert got == [("t.DLT", 0), ("t.DLT", 1)]
    assert needed_partitions(share_of("cluster", 0, 1, (), ()), every, None) == every


def test_log_start_offsets_only_where_a_series_shows_them() -> None:
    every = [("t", 0), ("t", 1), ("t", 2), ("t.DLT", 0), ("t.DLT", 1)]
    dlt = lambda t: t.endswith(".DLT")  # noqa: E731
    # broker 2 leads t-1; t-2 is needed for its group's lag alone: no log start for it
    share = share_of("broker", 2, 1, (1, 2), [("t", 0, 1), ("t", 1, 2), ("t", 2, 1)], ())
    needed = needed_partitions(share, every, {"g": [("t", 2)]}, dlt)
    assert log_start_partitions(share, needed, dlt) == [("t", 1)]
    # the cluster-wide broker reads the dead-letter topic whole (its backlog needs the start)
    first = share_of("broker", 1, 1, (1, 2), [("t", 0, 1), ("t", 1, 2), ("t", 2, 1)], ())
    needed = needed_partitions(first, every, {"g": [("t", 1)]}, dlt)
    assert log_start_partitions(first, needed, dlt) == [
        ("t", 0),
        ("t", 2),
        ("t.DLT", 0),
        ("t.DLT", 1),
    ]
    # a shard: its topics' partitions, not another shard's topic its group reads
    shard = share_of("shard", shard_of("t", 2), 2, (), ())
    other = next(f"u{i}" for i in range(100) if shard_of(f"u{i}", 2) != shard.me)
    both = [("t", 0), (other, 0)]
    assert log_start_partitions(shard, both) == [("t", 0)]
    cluster = share_of("cluster", 0, 1, (), ())
    assert log_start_partitions(cluster, every) == every


def test_find_broker_id() -> None:
    brokers = [(1, "kafka-0.kafka", 9092), (2, "kafka-1.kafka", 9092), (3, "10.0.0.3", 9093)]
    assert find_broker_id("kafka-1.kafka:9092", brokers) == 2
    assert find_broker_id("KAFKA-0.kafka:9092", brokers) == 1
    resolve = {"localhost": frozenset({"10.0.0.3"})}
    assert find_broker_id("localhost:9093", brokers, lambda h: resolve.get(h, frozenset({h}))) == 3
    with pytest.raises(OwnershipError, match=r"ambiguous.*1, 2"):
        find_broker_id("kafka-0.kafka:9092,kafka-1.kafka:9092", brokers)
    with pytest.raises(OwnershipError, match="no broker in the metadata"):
        find_broker_id("elsewhere:9092", brokers)


@pytest.mark.parametrize("count", [1, 2, 3, 7])
def test_every_series_one_owner_in_shards(count: int) -> None:
    shares = [share_of("shard", i, count, (), ()) for i in range(count)]
    names = ["", "a", "é", "\U0001f600", *map("".join, itertools.product("ab", repeat=4))]
    for metric, name in itertools.product((admin.GROUP_LAG, admin.PARTITION_LEADER), names):
        values = (name, "t", "0") if "consumergroup" in metric.labels else (name, "0")
        keep = [s.series_filter(metric) for s in shares]
        assert sum(bool(k and k(values)) for k in keep) == 1
