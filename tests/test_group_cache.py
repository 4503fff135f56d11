"""The describe plan: which groups a cycle describes, and when an Empty group is not described."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from confluent_kafka import ConsumerGroupState, ConsumerGroupType

from exporter.ownership import offsets_partition
from exporter.sources.admin_model import GroupDescription, Member, PartitionMeta
from exporter.sources.group_cache import (
    DescribeCache,
    Listed,
    leaders_of,
    listed_from,
    refresh_fraction,
)

BROKERS = frozenset({1, 2, 3})
TTL = 300.0


def desc(gid: str, state: str = "Empty", *, coordinator: int = 1, simple: bool = False,
         kind: str = "classic") -> GroupDescription:  # fmt: skip
    members = () if state == "Empty" else (Member("m-1", "c", "/10.0.0.1", None, (("t", 0),)),)
    return GroupDescription(gid, state, kind, "range", coordinator, simple, members)


def listed(
    gid: str, state: str = "Empty", *, simple: bool = False, kind: str = "classic"
) -> Listed:
    return Listed(gid, state, kind, simple)


def cache_with(*descriptions: GroupDescription, at: float = 0.0) -> DescribeCache:
    cache = DescribeCache(TTL)
    cache.remember({d.group_id: d for d in descriptions}, at)
    return cache


def test_an_unknown_group_is_described() -> None:
    assert DescribeCache(TTL).plan([listed("a")], BROKERS, 0.0) == (["a"], {})


def test_an_empty_group_reuses_its_empty_description_until_its_refresh() -> None:
    d = desc("a")
    cache = cache_with(d)
    due = TTL * refresh_fraction("a")
    assert cache.plan([listed("a")], BROKERS, due - 0.001) == ([], {"a": d})
    assert cache.plan([listed("a")], BROKERS, due) == (["a"], {})


def test_refreshes_fall_between_half_and_all_of_the_time_and_spread() -> None:
    fractions = [refresh_fraction(f"group-{i}") for i in range(2000)]
    assert all(0.5 <= f < 1.0 for f in fractions)
    # spread: every tenth of the range gets some of them
    buckets = {int((f - 0.5) * 20) for f in fractions}
    assert buckets == set(range(10))
    assert refresh_fraction("group-1") == refresh_fraction("group-1")


@pytest.mark.parametrize(
    ("now", "before"),
    [
        (listed("a", "Stable"), desc("a")),  # a member joined
        (listed("a", "PreparingRebalance"), desc("a")),
        (listed("a"), desc("a", "Stable")),  # the last member left: describe once more
        (listed("a", simple=True), desc("a")),
        (listed("a", kind="consumer"), desc("a")),
        (listed("a", "Unknown"), desc("a")),  # a listing without states
    ],
)
def test_any_change_or_a_group_with_members_is_described(
    now: Listed, before: GroupDescription
) -> None:
    assert cache_with(before).plan([now], BROKERS, 1.0) == (["a"], {})


def test_a_coordinator_that_left_the_cluster_is_described_again() -> None:
    cache = cache_with(desc("a", coordinator=3))
    assert cache.plan([listed("a")], frozenset({1, 2}), 1.0) == (["a"], {})


def test_a_group_whose_offsets_partition_changed_leader_is_described_again() -> None:
    # 50 offsets partitions, each led by broker 1, 2 or 3 in turn
    leaders = tuple(1 + p % 3 for p in range(50))
    part = offsets_partition("a", 50)
    cache = cache_with(desc("a", coordinator=leaders[part]))
    assert cache.plan([listed("a")], BROKERS, 1.0, leaders) == (
        [],
        {"a": desc("a", coordinator=leaders[part])},
    )
    # its partition moved to another live broker: the description names the old coordinator
    moved = tuple(1 + (leaders[p] % 3) if p == part else leaders[p] for p in range(50))
    assert cache.plan([listed("a")], BROKERS, 1.0, moved) == (["a"], {})
    # without a leader for it (or without the topic), a live coordinator is kept as before
    leaderless = tuple(-1 if p == part else leaders[p] for p in range(50))
    assert cache.plan([listed("a")], BROKERS, 1.0, leaderless)[0] == []
    assert cache.plan([listed("a")], BROKERS, 1.0, ())[0] == []


def test_leaders_of_a_topic_in_partition_order() -> None:
    parts = [PartitionMeta("__consumer_offsets", p, leader, (leader,), (leader,))
             for p, leader in ((2, 3), (0, 1))]  # fmt: skip
    assert leaders_of(parts) == (1, -1, 3)
    assert leaders_of(()) == leaders_of(None) == ()


def test_zero_describes_every_group_every_cycle() -> None:
    cache = DescribeCache(0.0)
    cache.remember({"a": desc("a")}, 0.0)
    assert cache.plan([listed("a")], BROKERS, 0.0) == (["a"], {})


def test_plan_keeps_listing_order_and_splits() -> None:
    cache = cache_with(desc("b"), desc("d"))
    got = cache.plan([listed("a"), listed("b"), listed("c", "Stable"), listed("d")], BROKERS, 1.0)
    assert got == (["a", "c"], {"b": desc("b"), "d": desc("d")})


def test_reused_descriptions_keep_their_age_and_fresh_ones_restart_it() -> None:
    cache = cache_with(desc("a"))
    due = TTL * refresh_fraction("a")
    cache.plan([listed("a")], BROKERS, due / 2)  # reused: nothing remembered
    assert cache.plan([listed("a")], BROKERS, due) == (["a"], {})
    cache.remember({"a": desc("a")}, due)
    assert cache.plan([listed("a")], BROKERS, due + 1.0) == ([], {"a": desc("a")})


def test_keep_only_forgets_groups_no_longer_listed() -> None:
    cache = cache_with(desc("a"), desc("b"))
    cache.keep_only({"b"})
    assert len(cache) == 1
    assert cache.plan([listed("a"), listed("b")], BROKERS, 1.0) == (["a"], {"b": desc("b")})


def test_listed_from_converts_dedupes_and_sorts() -> None:
    def listing(gid: str, state: object, kind: object, simple: bool) -> SimpleNamespace:
        return SimpleNamespace(
            group_id=gid, state=state, type=kind, is_simple_consumer_group=simple
        )

    got = listed_from(
        [
            listing("b", ConsumerGroupState.STABLE, ConsumerGroupType.CONSUMER, False),
            listing("a", ConsumerGroupState.EMPTY, ConsumerGroupType.CLASSIC, True),
            listing("b", ConsumerGroupState.EMPTY, ConsumerGroupType.CLASSIC, False),
            listing("c", None, None, False),
        ]
    )
    assert got == [
        Listed("a", "Empty", "classic", True),
        Listed("b", "Stable", "consumer", False),
        Listed("c", "Unknown", "unknown", False),
    ]
