"""Interned labels and cached Empty-group descriptions are released with their group or topic.

The admin source interns every group id (`listed_from`) and topic name, so that labels compare by
identity across cycles, and keeps the last description of each Empty group (`DescribeCache`).
CPython's interned strings are mortal: one is freed once nothing refers to it. So a string that
can be interned afresh after the churn is one nothing in the exporter holds any more; these tests
check that for churned ids and topics, through the describe cache and through every collector and
the renderer, without a broker.
"""

from __future__ import annotations

import gc
import sys
from types import SimpleNamespace

from confluent_kafka import ConsumerGroupState, ConsumerGroupType

from exporter.collectors.base import REGISTRY, CycleData
from exporter.config import Config
from exporter.render import Renderer
from exporter.snapshot import SnapshotBuilder
from exporter.sources.admin_model import (
    Broker,
    ClusterView,
    GroupDescription,
    Member,
    Offsets,
    PartitionMeta,
    TopicMeta,
)
from exporter.sources.group_cache import DescribeCache, listed_from

import exporter.collectors  # noqa: F401  isort: skip

BROKERS = frozenset({1})


def _held_elsewhere(text: str) -> bool:
    """True while some object still refers to the interned string equal to `text`."""
    fresh = "".join(list(text))  # a new object, equal to text
    return sys.intern(fresh) is not fresh


def _group_name(n: int) -> str:
    return f"churn-group-{n:06d}"


def _topic_name(n: int) -> str:
    return f"churn-topic-{n:06d}"


def _listing(ids: list[str]) -> list[SimpleNamespace]:
    """The group listing as confluent-kafka answers it: every group Empty and classic."""
    return [
        SimpleNamespace(group_id=gid, state=ConsumerGroupState.EMPTY,
                        type=ConsumerGroupType.CLASSIC, is_simple_consumer_group=False)
        for gid in ids
    ]  # fmt: skip


def _describe_cycle(cache: DescribeCache, ids: list[str], now: float) -> dict[str, object]:
    """One cycle of the admin source's list-and-describe, as far as the cache is concerned."""
    listed = listed_from(_listing(ids))
    to_describe, reused = cache.plan(listed, BROKERS, now)
    described = {
        gid: GroupDescription(gid, "Empty", "classic", "range", 1, False, ()) for gid in to_describe
    }
    cache.remember(described, now)
    cache.keep_only({g.group_id for g in listed})
    return dict(reused)


def test_cached_descriptions_of_deleted_empty_groups_are_released() -> None:
    cache = DescribeCache(300.0)
    reused_total = 0
    for n in range(40):  # 50 new Empty ids a cycle, each listed for two cycles, then deleted
        ids = ["keep"] + [_group_name(i) for i in range(50 * max(0, n - 1), 50 * (n + 1))]
        reused_total += len(_describe_cycle(cache, ids, float(n)))
        assert len(cache) == len(ids)  # the ids deleted the cycle before are gone from it
    assert reused_total >= 39 * 50  # the second listing reused the Empty description
    del ids  # the test's own last listing
    _describe_cycle(cache, ["keep"], 100.0)  # every churned group deleted
    assert len(cache) == 1
    gc.collect()
    held = [_group_name(i) for i in range(2000) if _held_elsewhere(_group_name(i))]
    assert not held, f"{len(held)} deleted group ids still held, e.g. {held[:3]}"
    assert _held_elsewhere("keep")  # the check does see a string the cache holds


def _view(t: float, cycle: int | None) -> ClusterView:
    """Topic `keep` always; in cycle `cycle` a topic and ten groups that exist only then, with
    their names interned as the admin source interns them."""
    keep = sys.intern("keep-topic")
    topics = {keep: TopicMeta(keep, (PartitionMeta(keep, 0, 1, (1,), (1,)),))}
    groups: dict[str, GroupDescription] = {}
    committed: dict[str, dict[tuple[str, int], int]] = {}
    offsets = {(keep, 0): Offsets(0, int(t))}
    if cycle is not None:
        name = sys.intern(_topic_name(cycle))
        topics[name] = TopicMeta(name, tuple(PartitionMeta(name, p, 1, (1,), (1,))
                                             for p in range(3)))  # fmt: skip
        for p in range(3):
            offsets[(name, p)] = Offsets(0, 100 + cycle)
        for i in range(10):
            gid = sys.intern(_group_name(10 * cycle + i))
            stable = i % 2 == 0
            members = (
                (Member(f"m{i}", f"c{i}", "/127.0.0.1", None, ((name, 0),)),) if stable else ()
            )
            groups[gid] = GroupDescription(gid, "Stable" if stable else "Empty", "classic",
                                           "range", 1, not members, members)  # fmt: skip
            committed[gid] = {(name, p): 50 for p in range(3)}
    return ClusterView(taken_at=t, brokers=(Broker(1, "b1", 9092),), topics=topics,
                       groups=groups, committed=committed, offsets=offsets)  # fmt: skip


def test_interned_group_ids_and_topic_names_are_released_once_gone() -> None:
    config = Config()
    collectors = [factory(config) for _, factory in sorted(REGISTRY.items())]
    renderer = Renderer()

    def cycle(t: float, n: int | None) -> None:
        out = SnapshotBuilder()
        for c in collectors:
            if c.name != "own":
                c.collect(CycleData(now=t, cluster=_view(t, n)), out)
        renderer.render(out.build(t))

    for n in range(50):  # 500 group ids and 50 topics, each in one cycle only
        cycle(10.0 + n, n)
    assert _held_elsewhere(_topic_name(49)) and _held_elsewhere(_group_name(495))  # still there
    for t in range(3):  # the churned groups and topics are gone from the cluster
        cycle(200.0 + t, None)
    gc.collect()
    groups = [_group_name(i) for i in range(500) if _held_elsewhere(_group_name(i))]
    topics = [_topic_name(i) for i in range(50) if _held_elsewhere(_topic_name(i))]
    assert not groups, f"{len(groups)} gone group ids still held, e.g. {groups[:3]}"
    assert not topics, f"{len(topics)} gone topic names still held, e.g. {topics[:3]}"
    assert _held_elsewhere("keep-topic")
