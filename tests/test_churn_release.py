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

from exporter.sources.admin_model import GroupDescription
from exporter.sources.group_cache import DescribeCache, listed_from
from tests.test_churn_memory import churn_pipeline, group_name, topic_name

BROKERS = frozenset({1})


def _held_elsewhere(text: str) -> bool:
    """True while some object still refers to the interned string equal to `text`."""
    fresh = "".join(list(text))  # a new object, equal to text
    return sys.intern(fresh) is not fresh


def _group_name(n: int) -> str:
    return f"churn-group-{n:06d}"


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


def test_interned_group_ids_and_topic_names_are_released_once_gone() -> None:
    collectors, renderer, cycle = churn_pipeline()
    for n in range(50):  # 500 group ids and 50 topics, each in one cycle only
        cycle(10.0 + n, n)
    assert _held_elsewhere(topic_name(49)) and _held_elsewhere(group_name(49, 5))  # still there
    for t in range(3):  # the churned groups and topics are gone from the cluster
        cycle(200.0 + t, None)
    gc.collect()
    groups = [g for n in range(50) for i in range(10) if _held_elsewhere(g := group_name(n, i))]
    topics = [topic_name(n) for n in range(50) if _held_elsewhere(topic_name(n))]
    assert not groups, f"{len(groups)} gone group ids still held, e.g. {groups[:3]}"
    assert not topics, f"{len(topics)} gone topic names still held, e.g. {topics[:3]}"
    assert collectors and renderer  # alive until here: what they hold counts above
