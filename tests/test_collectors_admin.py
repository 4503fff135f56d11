"""The Admin API collectors over hand-built cluster views (no broker needed)."""

from __future__ import annotations

import pickle
from collections.abc import Mapping
from dataclasses import replace
from types import MappingProxyType
from weakref import WeakKeyDictionary

from exporter.catalog import admin as cat
from exporter.catalog import own
from exporter.collectors.base import REGISTRY, Collector, PollHealth, admin_data
from exporter.config import Config, PollConfig
from exporter.domain.offset_history import OffsetHistory
from exporter.ownership import share_of
from exporter.snapshot import Snapshot, SnapshotBuilder
from exporter.sources.admin_model import (
    Broker,
    ClusterView,
    GroupDescription,
    Member,
    Offsets,
    OffsetsLogStatus,
    PartitionMeta,
    TopicMeta,
)
from exporter.sources.stages import StageOutcome

import exporter.collectors  # noqa: F401  isort: skip


def topic(
    name: str, n: int, replicas: tuple[int, ...] = (1,), min_isr: int | None = None
) -> TopicMeta:
    return TopicMeta(
        name, tuple(PartitionMeta(name, p, replicas[0], replicas, replicas) for p in range(n)),
        min_insync_replicas=min_isr,
    )  # fmt: skip


def group(gid: str, state: str = "Stable", members: tuple[Member, ...] = ()) -> GroupDescription:
    return GroupDescription(gid, state, "classic", "range", 1, not members, members)


def member(mid: str, *tps: tuple[str, int]) -> Member:
    return Member(mid, "client", "/127.0.0.1", None, tuple(tps))


def run(name: str, view: ClusterView | None, config: Config | None = None) -> Snapshot:
    return run_with(make(name, config), view)


_HISTORIES: WeakKeyDictionary[Collector, OffsetHistory] = WeakKeyDictionary()
"""The offset history each collector made here reads, as the poller's would be: one per run."""


def make(name: str, config: Config | None = None) -> Collector:
    c = REGISTRY[name](config or Config())
    _HISTORIES[c] = OffsetHistory.of(config or Config())
    return c


def run_with(c: Collector, view: ClusterView | None, **kw: object) -> Snapshot:
    """One cycle of `c` on `view`, its offset history fed with the view first (the poller's way)."""
    out = SnapshotBuilder()
    history = _HISTORIES.setdefault(c, OffsetHistory.of(Config()))
    data = admin_data(view.taken_at if view else 0.0, view, history)
    c.collect(replace(data, **kw), out)  # type: ignore[arg-type]
    return out.build(0.0)


def values(snap: Snapshot, metric: object) -> Mapping[tuple[str, ...], float]:
    return {s.labels: s.value for s in snap.samples(metric)}  # type: ignore[arg-type]


VIEW = ClusterView(
    taken_at=1000.0,
    brokers=(Broker(1, "b1", 9092, "r1"), Broker(2, "b2", 9092)),
    topics={"orders": topic("orders", 3), "idle": topic("idle", 1)},
    groups={
        "active": group(
            "active", members=(member("m1", ("orders", 0), ("orders", 1), ("orders", 2)),)
        ),
        "empty": group("empty", "Empty"),
    },
    committed={
        "active": {("orders", 0): 90, ("orders", 1): 200},  # p1 above the log end: clamped
        "empty": {("orders", 0): 10, ("idle", 0): 5},
    },
    offsets={
        ("orders", 0): Offsets(0, 100),
        ("orders", 1): Offsets(0, 150),
        ("orders", 2): Offsets(0, 50),
        ("idle", 0): Offsets(2, 5),
    },
)  # fmt: skip


def test_brokers() -> None:
    snap = run("brokers", VIEW)
    assert snap.value(cat.BROKERS) == 2
    assert values(snap, cat.BROKER_INFO) == {("1", "b1:9092", "r1"): 1, ("2", "b2:9092", ""): 1}
    assert run("brokers", None).series_count == 0


def test_partitions_health_from_metadata() -> None:
    t = TopicMeta(
        "t",
        (
            PartitionMeta("t", 0, 1, (1, 2, 3), (1, 2, 3)),
            PartitionMeta("t", 1, 2, (1, 2, 3), (2, 3)),
            PartitionMeta("t", 2, -1, (1, 2, 3), (1,)),
        ),
        min_insync_replicas=2,
    )
    view = ClusterView(taken_at=1.0, topics={"t": t}, offsets={("t", 0): Offsets(3, 9)})
    snap = run("partitions", view)
    assert snap.value(cat.TOPIC_PARTITIONS, "t") == 3
    assert snap.value(cat.TOPIC_MIN_INSYNC_REPLICAS, "t") == 2
    assert values(snap, cat.PARTITION_LEADER) == {("t", "0"): 1, ("t", "1"): 2, ("t", "2"): -1}
    assert [s.value for s in snap.samples(cat.PARTITION_LEADER_IS_PREFERRED)] == [1, 0, 0]
    assert [s.value for s in snap.samples(cat.PARTITION_IN_SYNC_REPLICA)] == [3, 2, 1]
    assert [s.value for s in snap.samples(cat.PARTITION_REPLICAS)] == [3, 3, 3]
    assert [s.value for s in snap.samples(cat.PARTITION_UNDER_REPLICATED)] == [0, 1, 1]
    assert [s.value for s in snap.samples(cat.PARTITION_OFFLINE)] == [0, 0, 1]
    assert [s.value for s in snap.samples(cat.PARTITION_UNDER_MIN_ISR)] == [0, 0, 1]
    assert values(snap, cat.PARTITION_CURRENT_OFFSET) == {("t", "0"): 9}
    assert values(snap, cat.PARTITION_OLDEST_OFFSET) == {("t", "0"): 3}


def test_internal_topics_left_out_by_filters_keep_replication_health() -> None:
    internal = TopicMeta(
        "__consumer_offsets",
        (PartitionMeta("__consumer_offsets", 0, 2, (1, 2), (2,)),),
        internal=True,
        min_insync_replicas=2,
    )
    view = replace(VIEW, replication_only={internal.name: internal})
    snap = run("partitions", view)
    labels = ("__consumer_offsets", "0")
    assert snap.value(cat.PARTITION_UNDER_REPLICATED, *labels) == 1
    assert snap.value(cat.PARTITION_UNDER_MIN_ISR, *labels) == 1
    assert snap.value(cat.PARTITION_LEADER, *labels) == 2
    assert snap.value(cat.TOPIC_PARTITIONS, "__consumer_offsets") == 1
    assert snap.value(cat.PARTITION_CURRENT_OFFSET, *labels) is None
    # nothing else sees them: no lag, no uncommitted counts
    lag = run("consumer_lag", view)
    assert all(s.labels[1] != "__consumer_offsets" for s in lag.samples(cat.GROUP_LAG))


FAMILIES = {m.name: m for m in cat.ALL}


def series(snap: Snapshot) -> dict[tuple[str, tuple[str, ...]], float]:
    return {(m.name, s.labels): s.value for m in snap.columns for s in snap.samples(m)}


def test_partitions_of_a_share_are_what_the_series_filter_keeps() -> None:
    """Broker and shard scope: the collector walks only the share's topics and partitions, and
    serves exactly what the whole cluster's series keep through the share's series filter."""
    led = {"orders": (1, 2, 1), "idle": (2,), "x1": (1, -1), "x2": (2, 2)}
    topics = {
        name: TopicMeta(name, tuple(PartitionMeta(name, p, leader, (1, 2), (1,))
                                    for p, leader in enumerate(leaders)), min_insync_replicas=2)
        for name, leaders in led.items()
    }  # fmt: skip
    offsets = {(t, p): Offsets(1, 9) for t, leaders in led.items() for p in range(len(leaders))}
    view = ClusterView(taken_at=1.0, topics=topics, offsets=offsets)
    whole = run("partitions", view)
    leaders = [(t, p, leader) for t, ls in led.items() for p, leader in enumerate(ls)]
    shares = [share_of("broker", b, 1, (1, 2), leaders) for b in (1, 2)]
    shares += [share_of("shard", i, 2, (), ()) for i in range(2)]
    for share in shares:
        got = series(run("partitions", replace(view, share=share)))
        want = {
            key: value
            for key, value in series(whole).items()
            if (test := share.series_filter(FAMILIES[key[0]])) is None or test(key[1])
        }
        assert got == want and got, share
    assert sum(len(series(run("partitions", replace(view, share=s)))) for s in shares[2:]) == len(
        series(whole)
    )


def test_the_view_crosses_a_process_boundary_unchanged() -> None:
    """The Admin API child pickles the view (its many small records as constructor calls)."""
    view = replace(VIEW, replication_only={"__consumer_offsets": topic("__consumer_offsets", 2)})
    again = pickle.loads(pickle.dumps(view, protocol=pickle.HIGHEST_PROTOCOL))
    assert again == view and type(again.topics["orders"].partitions[0]) is PartitionMeta


def test_partitions_without_min_isr_or_offsets() -> None:
    snap = run("partitions", ClusterView(taken_at=1.0, topics={"t": topic("t", 2)}))
    assert not snap.samples(cat.PARTITION_UNDER_MIN_ISR)
    assert not snap.samples(cat.TOPIC_MIN_INSYNC_REPLICAS)
    assert not snap.samples(cat.PARTITION_CURRENT_OFFSET)
    assert len(snap.samples(cat.PARTITION_LEADER)) == 2


def test_lag_matches_consumer_groups_semantics() -> None:
    c = make("consumer_lag")
    snap = run_with(c, VIEW)
    assert values(snap, cat.GROUP_CURRENT_OFFSET) == {
        ("active", "orders", "0"): 90,
        ("active", "orders", "1"): 200,
        ("empty", "idle", "0"): 5,
        ("empty", "orders", "0"): 10,
    }
    assert values(snap, cat.GROUP_LAG) == {
        ("active", "orders", "0"): 10,
        ("active", "orders", "1"): 0,
        ("empty", "idle", "0"): 0,
        ("empty", "orders", "0"): 90,
    }
    # partition 2 of orders has no committed offset: no series, counted
    assert snap.value(cat.GROUP_LAG, "active", "orders", "2") is None
    assert values(snap, cat.GROUP_UNCOMMITTED_PARTITIONS) == {
        ("active", "orders"): 1,
        ("empty", "idle"): 0,
        ("empty", "orders"): 2,
    }
    assert snap.value(cat.GROUP_CURRENT_OFFSET_SUM, "active", "orders") == 290
    assert snap.value(cat.GROUP_LAG_SUM, "active", "orders") == 10
    assert snap.value(cat.GROUP_LAG_MAX, "active") == 10
    assert snap.value(cat.GROUP_LAG_MAX, "empty") == 90
    assert snap.value(own.LAG_CLAMPED) == 1
    run_with(c, VIEW)
    assert run_with(c, VIEW).value(own.LAG_CLAMPED) == 3


def test_offset_past_log_end_is_its_own_signal() -> None:
    # kafka-consumer-groups shows lag -50 on active/orders/1: lag stays 0 (it must not cancel
    # the 10 of partition 0 in the sum); the 50 past the end is served on its own
    snap = run("consumer_lag", VIEW)
    assert values(snap, cat.GROUP_OFFSET_PAST_LOG_END) == {("active", "orders", "1"): 50}
    assert values(snap, cat.GROUP_PARTITIONS_PAST_LOG_END) == {
        ("active", "orders"): 1,
        ("empty", "idle"): 0,
        ("empty", "orders"): 0,
    }
    assert snap.value(cat.GROUP_LAG_SUM, "active", "orders") == 10
    # rare, so served at topic granularity too
    topic_only = run("consumer_lag", VIEW, Config(poll=PollConfig(lag_granularity="topic")))
    assert values(topic_only, cat.GROUP_OFFSET_PAST_LOG_END) == {("active", "orders", "1"): 50}


def test_carried_log_end_keeps_lag_and_is_counted() -> None:
    c = make("consumer_lag")
    before = run_with(c, VIEW)
    # orders/0 lost its leader: the source carried its last offsets and says so
    outage = replace(VIEW, taken_at=1030.0, carried_offsets=frozenset({("orders", 0)}))
    during = run_with(c, outage)
    for metric in (cat.GROUP_LAG, cat.GROUP_LAG_SUM, cat.GROUP_LAG_MAX):
        assert values(during, metric) == values(before, metric)
    assert values(before, cat.GROUP_LOG_END_UNREAD_PARTITIONS) == {("active",): 0, ("empty",): 0}
    assert values(during, cat.GROUP_LOG_END_UNREAD_PARTITIONS) == {("active",): 1, ("empty",): 1}


def test_lag_seconds_needs_history_then_grows() -> None:
    c = make("consumer_lag")
    first = run_with(c, VIEW)
    # one point per partition: caught-up partitions are 0, lagging ones unknown
    assert values(first, cat.GROUP_LAG_SECONDS) == {
        ("active", "orders", "1"): 0.0,
        ("empty", "idle", "0"): 0.0,
    }
    later = replace(VIEW, taken_at=1030.0)
    snap = run_with(c, later)
    # log ends did not move: lag is the time since they were first seen
    assert snap.value(cat.GROUP_LAG_SECONDS, "active", "orders", "0") == 30.0
    assert snap.value(cat.GROUP_LAG_SECONDS, "empty", "idle", "0") == 0.0
    assert snap.value(cat.GROUP_LAG_SECONDS_MAX, "active") == 30.0


def test_topic_granularity_drops_per_partition_families() -> None:
    cfg = Config(poll=PollConfig(lag_granularity="topic"))
    snap = run("consumer_lag", VIEW, cfg)
    for metric in (cat.GROUP_CURRENT_OFFSET, cat.GROUP_LAG, cat.GROUP_LAG_SECONDS):
        assert not snap.samples(metric)
    assert snap.value(cat.GROUP_LAG_SUM, "empty", "orders") == 90
    assert snap.value(cat.GROUP_LAG_MAX, "empty") == 90
    assert snap.value(cat.GROUP_UNCOMMITTED_PARTITIONS, "active", "orders") == 1


def test_failed_offsets_stage_keeps_committed_offsets_only() -> None:
    snap = run("consumer_lag", replace(VIEW, offsets=None))
    assert len(snap.samples(cat.GROUP_CURRENT_OFFSET)) == 4
    assert len(snap.samples(cat.GROUP_CURRENT_OFFSET_SUM)) == 3
    for metric in (cat.GROUP_LAG, cat.GROUP_LAG_SUM, cat.GROUP_LAG_MAX, cat.GROUP_LAG_SECONDS):
        assert not snap.samples(metric)


def test_failed_committed_stage_drops_lag_and_down_source_drops_all() -> None:
    snap = run("consumer_lag", replace(VIEW, committed=None))
    assert snap.families.keys() == {own.LAG_CLAMPED}
    snap = run("consumer_lag", None)
    assert snap.families.keys() == {own.LAG_CLAMPED}


def test_uncommitted_counts_need_group_descriptions() -> None:
    snap = run("consumer_lag", replace(VIEW, groups=None))
    assert not snap.samples(cat.GROUP_UNCOMMITTED_PARTITIONS)


def test_active_group_that_never_committed() -> None:
    view = replace(
        VIEW,
        groups={"new": group("new", members=(member("m", ("orders", 0), ("orders", 1)),))},
        committed={"new": {}},
    )
    snap = run("consumer_lag", view)
    assert values(snap, cat.GROUP_UNCOMMITTED_PARTITIONS) == {("new", "orders"): 3}
    assert not snap.samples(cat.GROUP_LAG)


def test_groups_state_members_info() -> None:
    snap = run("groups", VIEW)
    assert values(snap, cat.GROUP_MEMBERS) == {("active",): 1, ("empty",): 0}
    assert values(snap, cat.GROUP_STATE) == {("active", "Stable"): 1, ("empty", "Empty"): 1}
    assert values(snap, cat.GROUP_INFO) == {
        ("active", "classic", "range", "1", "false"): 1,
        ("empty", "classic", "range", "1", "true"): 1,
    }
    assert values(snap, cat.GROUP_REBALANCES) == {("active",): 0, ("empty",): 0}


def test_rebalances_observed_between_polls() -> None:
    c = make("groups")

    def poll(*groups: GroupDescription, failed: tuple[str, ...] = ()) -> Snapshot:
        view = ClusterView(taken_at=1.0, groups={g.group_id: g for g in groups},
                           failed_stages=failed)  # fmt: skip
        return run_with(c, view)

    a = member("a", ("t", 0), ("t", 1))
    b = member("b", ("t", 1))
    a_half = member("a", ("t", 0))
    assert poll(group("g", members=(a,))).value(cat.GROUP_REBALANCES, "g") == 0
    assert poll(group("g", members=(a,))).value(cat.GROUP_REBALANCES, "g") == 0
    # seen rebalancing: one, however many polls it lasts
    assert poll(group("g", "PreparingRebalance", (a,))).value(cat.GROUP_REBALANCES, "g") == 1
    assert poll(group("g", "CompletingRebalance", (a,))).value(cat.GROUP_REBALANCES, "g") == 1
    assert poll(group("g", members=(a_half, b))).value(cat.GROUP_REBALANCES, "g") == 1
    # membership changed between two stable polls: one more
    assert poll(group("g", members=(a,))).value(cat.GROUP_REBALANCES, "g") == 2
    # all members left: Empty
    assert poll(group("g", "Empty")).value(cat.GROUP_REBALANCES, "g") == 3
    # a partial listing forgets nothing; a complete one forgets the group
    assert poll(failed=("groups",)).series_count == 0
    assert poll(group("g", "Empty")).value(cat.GROUP_REBALANCES, "g") == 3
    poll()
    assert poll(group("g", "Empty")).value(cat.GROUP_REBALANCES, "g") == 0


def test_own_health() -> None:
    c = make("own", Config(poll=PollConfig(interval_seconds=15)))
    bad = PollHealth(
        started_at=100.0, seconds=2.5,
        stages=(StageOutcome("metadata", 2.5, "_TRANSPORT: down"),),
        admin_up=False, series={}, dropped={"kafka_consumergroup_lag": 4},
    )  # fmt: skip
    snap = run_with(c, None, health=bad)
    assert snap.value(own.UP, "admin", "") == 0
    assert snap.value(own.POLL_ERRORS, "metadata") == 1
    assert snap.value(own.POLL_ERRORS, "offsets") == 0
    assert snap.value(own.POLL_DURATION, "cycle") == 2.5
    assert snap.value(own.LAST_POLL) == 100.0
    assert snap.value(own.LAST_POLL_SUCCESS) is None
    assert snap.value(own.POLL_INTERVAL) == 15
    assert snap.value(own.SERIES_DROPPED, "kafka_consumergroup_lag") == 4
    assert len(snap.samples(own.BUILD_INFO)) == 1
    good = PollHealth(
        started_at=130.0, seconds=0.5,
        stages=tuple(StageOutcome(s, 0.1) for s in ("metadata", "groups", "offsets")),
        admin_up=True, series={"kafka_brokers": 1, own.UP.name: 2}, dropped={},
    )  # fmt: skip
    snap = run_with(c, None, health=good)
    assert snap.value(own.UP, "admin", "") == 1
    assert snap.value(own.POLL_ERRORS, "metadata") == 1
    assert snap.value(own.LAST_POLL_SUCCESS) == 130.5
    assert snap.value(own.SERIES, "kafka_brokers") == 1
    assert snap.value(own.SERIES, own.UP.name) == 3
    series = values(snap, own.SERIES)
    assert snap.value(own.SERIES, own.SERIES.name) == len(series)
    assert run_with(c, None).series_count == 0


def test_every_admin_family_is_emitted_by_some_collector() -> None:
    out = SnapshotBuilder()
    view = replace(
        VIEW,
        topics={"orders": topic("orders", 3, min_isr=1), "idle": topic("idle", 1)},
        commit_times={"active": {("orders", 0): 999.5}},
    )
    for name in ("brokers", "partitions", "consumer_lag", "groups", "commit_times"):
        c = make(name)
        history = OffsetHistory.of(Config())
        c.collect(admin_data(1.0, view, history), out)
        c.collect(admin_data(2.0, replace(view, taken_at=1030.0), history), out)
    emitted = out.build(0.0).families.keys()
    assert set(cat.ALL) - set(emitted) == set()


def test_collectors_registered() -> None:
    assert {"brokers", "partitions", "consumer_lag", "groups", "own"} <= set(REGISTRY)
    assert Config().collectors == MappingProxyType({})


def test_commit_times_only_with_the_log_source_and_per_partition() -> None:
    times = {"b": {("orders", 1): 5.5, ("orders", 0): 7.0}, "a": {("idle", 0): 1.25}}
    snap = run("commit_times", replace(VIEW, commit_times=times))
    assert values(snap, cat.GROUP_LAST_COMMIT) == {
        ("a", "idle", "0"): 1.25,
        ("b", "orders", "0"): 7.0,
        ("b", "orders", "1"): 5.5,
    }
    assert run("commit_times", VIEW).series_count == 0  # Admin API source: no commit times
    topic_only = Config(poll=PollConfig(lag_granularity="topic"))
    assert (
        run_with(make("commit_times", topic_only), replace(VIEW, commit_times=times)).series_count
        == 0
    )


def test_offsets_log_health() -> None:
    status = OffsetsLogStatus(
        ready=False, denied=False, records=12, skipped={"corrupt": 2}, behind=40, partitions=5
    )
    snap = run("offsets_log", replace(VIEW, committed_source="log", offsets_log=status))
    assert values(snap, own.COMMITTED_SOURCE) == {("log",): 1}
    assert snap.value(own.OFFSETS_LOG_READY) == 0
    assert snap.value(own.OFFSETS_LOG_RECORDS) == 12
    assert snap.value(own.OFFSETS_LOG_BEHIND) == 40
    assert values(snap, own.OFFSETS_LOG_SKIPPED) == {
        ("unknown_key_version",): 0,
        ("unknown_value_version",): 0,
        ("corrupt",): 2,
    }
    assert not values(snap, own.OFFSETS_LOG_LOAD_SECONDS)
    loaded = replace(status, ready=True, behind=0, loaded_seconds=0.5)
    snap = run("offsets_log", replace(VIEW, committed_source="log", offsets_log=loaded))
    assert (
        snap.value(own.OFFSETS_LOG_READY) == 1 and snap.value(own.OFFSETS_LOG_LOAD_SECONDS) == 0.5
    )
    admin_only = run("offsets_log", VIEW)
    assert values(admin_only, own.COMMITTED_SOURCE) == {("admin",): 1}
    assert admin_only.series_count == 1
