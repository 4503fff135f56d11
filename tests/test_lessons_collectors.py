"""The four lessons collectors over hand-built ClusterViews, poll after poll (no broker)."""

from __future__ import annotations

from dataclasses import replace
from types import MappingProxyType
from weakref import WeakKeyDictionary

import pytest

from exporter.catalog import lessons as cat
from exporter.collectors.base import REGISTRY, admin_data
from exporter.collectors.dead_letters import DeadLettersCollector
from exporter.collectors.headroom import HeadroomCollector
from exporter.collectors.lag_status import LagStatusCollector
from exporter.collectors.rebalance_hygiene import RebalanceHygieneCollector
from exporter.config import Config, LessonsConfig, PollConfig
from exporter.domain.offset_history import OffsetHistory
from exporter.snapshot import Snapshot, SnapshotBuilder
from exporter.sources.admin_model import (
    ClusterView,
    GroupDescription,
    Member,
    Offsets,
    PartitionMeta,
    TopicMeta,
    TopicPartition,
)


def topic(name: str, partitions: int, internal: bool = False) -> TopicMeta:
    parts = tuple(PartitionMeta(name, p, 1, (1,), (1,)) for p in range(partitions))
    return TopicMeta(name, parts, internal)


def member(name: str, *assignment: TopicPartition, instance: str | None = None) -> Member:
    return Member(name, name, "/127.0.0.1", instance, tuple(assignment))


def group(
    gid: str, state: str, *members: Member, assignor: str = "range", kind: str = "classic"
) -> GroupDescription:
    return GroupDescription(gid, state, kind, assignor, 1, False, tuple(members))


_HISTORIES: WeakKeyDictionary[object, OffsetHistory] = WeakKeyDictionary()
"""The offset history each collector reads here, as the poller's would be: one per collector."""


def lag_status(config: Config) -> LagStatusCollector:
    """A lag status collector and the offset history it reads, both made from `config`."""
    c = LagStatusCollector(config)
    _HISTORIES[c] = OffsetHistory.of(config)
    return c


def run(collector: object, view: ClusterView | None) -> Snapshot:
    """One cycle of `collector` on `view`, its offset history fed with the view first."""
    out = SnapshotBuilder()
    now = view.taken_at if view is not None else 0.0
    data = admin_data(now, view, _HISTORIES.setdefault(collector, OffsetHistory.of(Config())))
    collector.collect(data, out)  # type: ignore[attr-defined]
    return out.build(now)


def lessons_config(**kw: object) -> Config:
    return Config(lessons=LessonsConfig(**kw))  # type: ignore[arg-type]


def test_registered_by_name() -> None:
    for name in ("dead_letters", "headroom", "rebalance_hygiene", "lag_status"):
        assert name in REGISTRY


def test_no_cluster_data_gives_no_series() -> None:
    config = Config()
    for cls in (
        DeadLettersCollector,
        HeadroomCollector,
        RebalanceHygieneCollector,
        LagStatusCollector,
    ):
        assert run(cls(config), None).series_count == 0
        assert run(cls(config), ClusterView(taken_at=1.0)).series_count == 0


# --- dead letters ---------------------------------------------------------------------------

DLT_TOPICS = {
    "payments": topic("payments", 2),
    "payments.DLT": topic("payments.DLT", 2),
    "payments-retry-1": topic("payments-retry-1", 1),
    "gone.DLT": topic("gone.DLT", 1),
    "__consumer_offsets.DLT": topic("__consumer_offsets.DLT", 1, internal=True),
}


def dlt_view(at: float, ends: dict[TopicPartition, Offsets], **kw: object) -> ClusterView:
    return ClusterView(
        taken_at=at,
        topics=MappingProxyType(DLT_TOPICS),
        offsets=MappingProxyType(ends),
        **kw,  # type: ignore[arg-type]
    )


def ends(dlt0: int, dlt1: int, start0: int = 0) -> dict[TopicPartition, Offsets]:
    return {
        ("payments.DLT", 0): Offsets(start0, dlt0),
        ("payments.DLT", 1): Offsets(0, dlt1),
        ("payments-retry-1", 0): Offsets(0, 4),
        ("gone.DLT", 0): Offsets(0, 0),
        ("__consumer_offsets.DLT", 0): Offsets(0, 9),
    }


def test_dead_letters_messages_depth_and_newest() -> None:
    c = DeadLettersCollector(Config())
    snap = run(c, dlt_view(100.0, ends(3, 2)))
    labels = ("payments.DLT", "payments", "dlt")
    assert snap.value(cat.DEADLETTER_MESSAGES, *labels) == 5
    assert snap.value(cat.DEADLETTER_MESSAGES, "payments-retry-1", "payments", "retry") == 4
    assert snap.value(cat.DEADLETTER_MESSAGES, "gone.DLT", "", "dlt") == 0
    assert len(snap.samples(cat.DEADLETTER_MESSAGES)) == 3  # internal topics are not considered
    assert snap.value(cat.DEADLETTER_DEPTH, *labels, "") == 5
    assert snap.samples(cat.DEADLETTER_NEWEST_TIMESTAMP) == ()  # no move seen yet

    snap = run(c, dlt_view(130.0, ends(3, 2)))
    assert snap.samples(cat.DEADLETTER_NEWEST_TIMESTAMP) == ()
    snap = run(c, dlt_view(160.0, ends(4, 2, start0=2)))
    assert snap.value(cat.DEADLETTER_MESSAGES, *labels) == 6
    assert snap.value(cat.DEADLETTER_DEPTH, *labels, "") == 4
    assert snap.value(cat.DEADLETTER_NEWEST_TIMESTAMP, *labels) == 160.0
    snap = run(c, dlt_view(190.0, ends(4, 2)))
    assert snap.value(cat.DEADLETTER_NEWEST_TIMESTAMP, *labels) == 160.0


def test_dead_letters_skip_a_topic_with_a_missing_offset() -> None:
    c = DeadLettersCollector(Config())
    partial = ends(3, 2)
    del partial[("payments.DLT", 1)]
    snap = run(c, dlt_view(100.0, partial))
    assert snap.value(cat.DEADLETTER_MESSAGES, "payments.DLT", "payments", "dlt") is None
    assert snap.value(cat.DEADLETTER_MESSAGES, "payments-retry-1", "payments", "retry") == 4


def test_dead_letters_without_offsets_forget_nothing_and_emit_nothing() -> None:
    c = DeadLettersCollector(Config())
    run(c, dlt_view(100.0, ends(3, 2)))
    snap = run(c, ClusterView(taken_at=130.0, topics=MappingProxyType(DLT_TOPICS)))
    assert snap.series_count == 0
    snap = run(c, dlt_view(160.0, ends(5, 2)))
    labels = ("payments.DLT", "payments", "dlt")
    assert snap.value(cat.DEADLETTER_NEWEST_TIMESTAMP, *labels) == 160.0


def test_dead_letters_depth_from_replay_group() -> None:
    config = lessons_config(replay_groups=MappingProxyType({"payments.DLT": "replayer"}))
    c = DeadLettersCollector(config)
    committed = MappingProxyType({"replayer": {("payments.DLT", 0): 2}})
    snap = run(c, dlt_view(100.0, ends(3, 2), committed=committed))
    assert snap.value(cat.DEADLETTER_DEPTH, "payments.DLT", "payments", "dlt", "replayer") == 1 + 2
    # the replay group has not committed at all: depth from the log start
    snap = run(c, dlt_view(130.0, ends(3, 2), committed=MappingProxyType({})))
    assert snap.value(cat.DEADLETTER_DEPTH, "payments.DLT", "payments", "dlt", "replayer") == 5
    # committed offsets unknown this poll: no depth rather than a wrong one
    snap = run(c, dlt_view(160.0, ends(3, 2)))
    assert {s.labels[0] for s in snap.samples(cat.DEADLETTER_DEPTH)} == {
        "gone.DLT",
        "payments-retry-1",
    }


def test_dead_letters_user_patterns() -> None:
    config = lessons_config(dead_letter_patterns=(r"(?P<source>.+)_dead",))
    c = DeadLettersCollector(config)
    topics = {"orders": topic("orders", 1), "orders_dead": topic("orders_dead", 1)}
    view = ClusterView(
        taken_at=1.0,
        topics=MappingProxyType(topics),
        offsets=MappingProxyType({("orders_dead", 0): Offsets(0, 7)}),
    )
    assert run(c, view).value(cat.DEADLETTER_MESSAGES, "orders_dead", "orders", "dlt") == 7


def test_dead_letters_bad_user_pattern_fails_at_start() -> None:
    with pytest.raises(ValueError, match=r"lessons.dead_letter_patterns\[0\]"):
        DeadLettersCollector(lessons_config(dead_letter_patterns=("no-group",)))


# --- headroom -------------------------------------------------------------------------------

FOUR_ON_THREE = group(
    "g", "Stable", member("a", ("t", 0)), member("b", ("t", 1)), member("c", ("t", 2)), member("d")
)


def headroom_view(*groups: GroupDescription, committed: object = None) -> ClusterView:
    return ClusterView(
        taken_at=1.0,
        topics=MappingProxyType({"t": topic("t", 3), "u": topic("u", 12)}),
        groups=MappingProxyType({g.group_id: g for g in groups}),
        committed=committed,  # type: ignore[arg-type]
    )


def test_headroom_four_members_on_three_partitions() -> None:
    snap = run(HeadroomCollector(Config()), headroom_view(FOUR_ON_THREE))
    assert snap.value(cat.GROUP_IDLE_MEMBERS, "g") == 1
    assert snap.value(cat.GROUP_TOPIC_MEMBERS, "g", "t") == 3
    assert snap.value(cat.GROUP_PARTITION_HEADROOM, "g", "t") == 0.75
    assert snap.samples(cat.GROUP_PLANNED_MEMBERS) == ()


def test_headroom_with_plans() -> None:
    config = lessons_config(
        planned_consumers_by_group=MappingProxyType({"g": 10}),
        planned_consumers_by_topic=MappingProxyType({"u": 4, "t": 2}),
    )
    committed = MappingProxyType({"g": {("u", 0): 1}, "h": {("t", 0): 1}})
    view = headroom_view(FOUR_ON_THREE, group("h", "Empty"), committed=committed)
    snap = run(HeadroomCollector(config), view)
    assert snap.value(cat.GROUP_PLANNED_MEMBERS, "g", "t") == 10
    assert snap.value(cat.GROUP_PLANNED_MEMBERS, "g", "u") == 10
    assert snap.value(cat.GROUP_PARTITION_HEADROOM, "g", "u") == 1.2
    assert snap.value(cat.GROUP_TOPIC_MEMBERS, "g", "u") == 0
    # the empty group h: no members, but its plan on t still gives a ratio
    assert snap.value(cat.GROUP_IDLE_MEMBERS, "h") == 0
    assert snap.value(cat.GROUP_TOPIC_MEMBERS, "h", "t") == 0
    assert snap.value(cat.GROUP_PARTITION_HEADROOM, "h", "t") == 1.5


def test_headroom_rebalancing_group_has_no_idle_count() -> None:
    view = headroom_view(replace(FOUR_ON_THREE, state="PreparingRebalance"))
    snap = run(HeadroomCollector(Config()), view)
    assert snap.samples(cat.GROUP_IDLE_MEMBERS) == ()
    assert snap.samples(cat.GROUP_TOPIC_MEMBERS) == ()
    assert snap.value(cat.GROUP_PARTITION_HEADROOM, "g", "t") == 0.75


def test_headroom_topic_not_in_metadata_has_no_ratio() -> None:
    committed = MappingProxyType({"g": {("deleted", 0): 1}})
    snap = run(HeadroomCollector(Config()), headroom_view(FOUR_ON_THREE, committed=committed))
    assert snap.value(cat.GROUP_PARTITION_HEADROOM, "g", "deleted") is None
    assert snap.value(cat.GROUP_TOPIC_MEMBERS, "g", "deleted") == 0


# --- rebalance hygiene ----------------------------------------------------------------------


def hygiene_view(at: float, state: str, *gs: GroupDescription) -> ClusterView:
    base = group("g", state, member("a", instance="pod-a"), member("b"), assignor="range")
    return ClusterView(
        taken_at=at, groups=MappingProxyType({"g": base, **{x.group_id: x for x in gs}})
    )


def test_hygiene_counts_seconds_rebalancing() -> None:
    config = Config(poll=PollConfig(interval_seconds=30.0))
    c = RebalanceHygieneCollector(config)
    states = ["Stable", "PreparingRebalance", "CompletingRebalance", "Stable", "Stable"]
    totals = []
    for i, state in enumerate(states):
        snap = run(c, hygiene_view(100.0 + 30 * i, state))
        totals.append(snap.value(cat.GROUP_REBALANCING_SECONDS, "g"))
    assert totals == [0.0, 15.0, 45.0, 60.0, 60.0]
    # a long gap (failed polls) is capped at two intervals
    snap = run(c, hygiene_view(1000.0, "PreparingRebalance"))
    assert snap.value(cat.GROUP_REBALANCING_SECONDS, "g") == 60.0 + 30.0


def test_hygiene_membership_and_protocol() -> None:
    coop = group("k", "Stable", member("x", instance="i"), assignor="cooperative-sticky")
    new = group("n", "Stable", member("y"), assignor="uniform", kind="consumer")
    snap = run(RebalanceHygieneCollector(Config()), hygiene_view(1.0, "Stable", coop, new))
    assert snap.value(cat.GROUP_DYNAMIC_MEMBERS, "g") == 1
    assert snap.value(cat.GROUP_DYNAMIC_MEMBERS, "k") == 0
    assert snap.value(cat.GROUP_REBALANCE_PROTOCOL, "g", "eager", "range") == 1
    assert snap.value(cat.GROUP_REBALANCE_PROTOCOL, "k", "cooperative", "cooperative-sticky") == 1
    assert snap.value(cat.GROUP_REBALANCE_PROTOCOL, "n", "consumer", "uniform") == 1


def test_hygiene_deleted_group_starts_again_from_zero() -> None:
    c = RebalanceHygieneCollector(Config())
    run(c, hygiene_view(0.0, "PreparingRebalance"))
    run(c, hygiene_view(30.0, "PreparingRebalance"))
    run(c, ClusterView(taken_at=60.0, groups=MappingProxyType({})))
    snap = run(c, hygiene_view(90.0, "PreparingRebalance"))
    assert snap.value(cat.GROUP_REBALANCING_SECONDS, "g") == 0.0


# --- lag status -----------------------------------------------------------------------------


def lag_view(
    at: float, committed: int, end: int, *members: Member, state: str = "Stable"
) -> ClusterView:
    return ClusterView(
        taken_at=at,
        topics=MappingProxyType({"t": topic("t", 1)}),
        groups=MappingProxyType({"g": group("g", state, *members)}),
        committed=MappingProxyType({"g": {("t", 0): committed}}),
        offsets=MappingProxyType({("t", 0): Offsets(0, end)}),
    )


def statuses(snap: Snapshot) -> tuple[list[tuple[str, ...]], list[tuple[str, ...]]]:
    return (
        [s.labels for s in snap.samples(cat.PARTITION_STATUS)],
        [s.labels for s in snap.samples(cat.GROUP_STATUS)],
    )


def test_lag_status_stall_then_ok() -> None:
    c = lag_status(lessons_config(lag_status_window=3))
    owner = member("a", ("t", 0))
    seen = [statuses(run(c, lag_view(float(i), 5, 10 + i, owner))) for i in range(3)]
    assert seen[0] == ([("g", "t", "0", "UNKNOWN")], [("g", "UNKNOWN")])
    assert seen[2] == ([("g", "t", "0", "STALL")], [("g", "STALL")])
    assert statuses(run(c, lag_view(3.0, 13, 13, owner))) == (
        [("g", "t", "0", "OK")],
        [("g", "OK")],
    )


def test_lag_status_stop_when_group_is_empty() -> None:
    c = lag_status(lessons_config(lag_status_window=2))
    for i in range(2):
        snap = run(c, lag_view(float(i), 5, 10, state="Empty"))
    assert statuses(snap) == ([("g", "t", "0", "STOP")], [("g", "STOP")])


def test_lag_status_ownership_unknown_while_rebalancing() -> None:
    c = lag_status(lessons_config(lag_status_window=2))
    for i in range(2):
        snap = run(c, lag_view(float(i), 5, 10, state="PreparingRebalance"))
    assert statuses(snap) == ([("g", "t", "0", "STALL")], [("g", "STALL")])


def test_lag_status_rewind() -> None:
    c = lag_status(lessons_config(lag_status_window=5))
    run(c, lag_view(0.0, 10, 10, state="Empty"))
    assert statuses(run(c, lag_view(1.0, 0, 10, state="Empty")))[1] == [("g", "REWIND")]


def test_lag_status_topic_granularity_drops_partition_series() -> None:
    config = Config(poll=PollConfig(lag_granularity="topic"))
    snap = run(lag_status(config), lag_view(0.0, 10, 10))
    assert statuses(snap) == ([], [("g", "OK")])


def test_hygiene_partial_group_listing_forgets_nothing() -> None:
    c = RebalanceHygieneCollector(Config())
    run(c, hygiene_view(0.0, "PreparingRebalance"))
    partial = ClusterView(taken_at=30.0, groups=MappingProxyType({}), failed_stages=("groups",))
    run(c, partial)
    snap = run(c, hygiene_view(60.0, "PreparingRebalance"))
    assert snap.value(cat.GROUP_REBALANCING_SECONDS, "g") == 60.0


def test_lag_status_partial_commits_forget_nothing() -> None:
    c = lag_status(lessons_config(lag_status_window=2))
    run(c, lag_view(0.0, 5, 10, state="Empty"))
    partial = replace(
        lag_view(1.0, 5, 10, state="Empty"),
        committed=MappingProxyType({}),
        failed_stages=("committed",),
    )
    assert run(c, partial).series_count == 0
    snap = run(c, lag_view(2.0, 5, 10, state="Empty"))
    assert statuses(snap)[1] == [("g", "STOP")]


def test_lag_status_window_of_one_counts_as_two() -> None:
    c = lag_status(lessons_config(lag_status_window=1))
    owner = member("a", ("t", 0))
    assert statuses(run(c, lag_view(0.0, 5, 10, owner)))[1] == [("g", "UNKNOWN")]
    assert statuses(run(c, lag_view(1.0, 5, 10, owner)))[1] == [("g", "STALL")]
