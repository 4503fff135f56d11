"""Nothing per group, topic or partition outlives its group, topic or partition.

A thousand group ids, each used in one cycle only, on topics that are created and deleted, go
through every registered collector and the renderer; once the cluster has none of them, every
dict, set or list the collectors and the poller's offset history keep (rebalance and hygiene
memories, lag-in-seconds histories, lag status windows, dead-letter windows, ...) and the
renderer's per-family caches are back to their size before the churn, so a process that has
seen a million ids holds what it held on day one."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from exporter.collectors.base import REGISTRY, admin_data
from exporter.config import Config
from exporter.domain.offset_history import OffsetHistory
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

import exporter.collectors  # noqa: F401  isort: skip


def topic_name(cycle: int) -> str:
    return f"churn-topic-{cycle:06d}"


def group_name(cycle: int, i: int) -> str:
    return f"churn-group-{cycle:06d}-{i}"


def _view(t: float, cycle: int | None) -> ClusterView:
    """Cycle `cycle`: a topic (3 partitions) and ten groups used only in this cycle, their names
    interned as the admin source interns them."""
    topics = {"keep": TopicMeta("keep", (PartitionMeta("keep", 0, 1, (1,), (1,)),))}
    groups: dict[str, GroupDescription] = {}
    committed: dict[str, dict[tuple[str, int], int]] = {}
    offsets = {("keep", 0): Offsets(0, int(t))}
    if cycle is not None:
        name = sys.intern(topic_name(cycle))
        topics[name] = TopicMeta(name, tuple(PartitionMeta(name, p, 1, (1,), (1,))
                                             for p in range(3)))  # fmt: skip
        for p in range(3):
            offsets[(name, p)] = Offsets(0, 100 + cycle)
        for i in range(10):
            gid = sys.intern(group_name(cycle, i))
            stable = i % 2 == 0
            members = (
                (Member(f"m{i}", f"c{i}", "/127.0.0.1", None, ((name, 0),)),) if stable else ()
            )
            groups[gid] = GroupDescription(gid, "Stable" if stable else "Empty", "classic",
                                           "range", 1, not members, members)  # fmt: skip
            committed[gid] = {(name, p): 50 for p in range(3)}
    return ClusterView(taken_at=t, brokers=(Broker(1, "b1", 9092),), topics=topics,
                       groups=groups, committed=committed, offsets=offsets)  # fmt: skip


def _held(obj: Any, depth: int = 0) -> int:
    """Entries in every container an object keeps, one level into plain helper objects."""
    names = list(getattr(obj, "__dict__", {})) + list(getattr(type(obj), "__slots__", ()))
    total = 0
    for name in names:
        value = getattr(obj, name, None)
        if isinstance(value, dict | set | list | frozenset):
            total += len(value)
        elif depth == 0 and not callable(value) and hasattr(value, "__slots__"):
            total += _held(value, depth + 1)  # e.g. the lag clock's histories
        elif depth == 0 and not callable(value) and hasattr(value, "__dict__"):
            total += _held(value, depth + 1)
    return total


def churn_pipeline() -> tuple[list[Any], Renderer, Callable[[float, int | None], None]]:
    """Every registered collector, the offset history they read, and a renderer, and one cycle
    through them: churn cycle `n`, or no churned group or topic with None."""
    config = Config()
    collectors = [factory(config) for _, factory in sorted(REGISTRY.items())]
    history = OffsetHistory.of(config)
    renderer = Renderer()

    def cycle(t: float, n: int | None) -> None:
        out = SnapshotBuilder()
        data = admin_data(t, _view(t, n), history)
        for c in collectors:
            if c.name != "own":
                c.collect(data, out)
        renderer.render(out.build(t))

    return [*collectors, history], renderer, cycle


def _name(part: object) -> str:
    """A collector's name; the poller's offset history, which the collectors read, by its own."""
    return str(getattr(part, "name", "offset_history"))


def test_nothing_per_group_topic_or_partition_outlives_it() -> None:
    collectors, renderer, cycle = churn_pipeline()

    for t in range(1, 4):  # warm-up without churn
        cycle(float(t), None)
    before = {_name(c): _held(c) for c in collectors}
    cached_before = renderer.cached_series
    for n in range(100):  # 1,000 group ids and 100 topics, each in one cycle only
        cycle(10.0 + n, n)
    during = {_name(c): _held(c) for c in collectors}
    reached = {k for k in during if during[k] > before[k]}
    print(f"state grown by the churn: {sorted(reached)}")
    assert {"offset_history", "groups"} <= reached, reached  # the churn did reach their state
    for t in range(3):  # the churned groups and topics are gone
        cycle(200.0 + t, None)
    after = {_name(c): _held(c) for c in collectors}
    grown = {k: (before[k], during[k], after[k]) for k in after if after[k] > before[k]}
    assert not grown, f"state kept for gone groups/topics (before, during, after): {grown}"
    assert renderer.cached_series == cached_before
