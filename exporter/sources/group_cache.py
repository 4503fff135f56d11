"""Which consumer groups to describe in a cycle, and the last description of the others.

The group listing already tells each group's state, type and whether it is a simple group. For a
group with members, a describe is the only way to see them and their assignments, so such groups
are described every cycle. An Empty group has no members: a describe would only repeat its
assignor and coordinator, which change rarely. Clusters keep thousands of Empty groups (offsets of
stopped applications live for `offsets.retention.minutes`), and describing them every cycle is
most of the cost of the `groups` stage at that size.

So an Empty group's last description is reused while all of this holds:
- the listing still shows it Empty, with the same type and simple flag, and the last description
  showed it Empty too (any change of state is described at once);
- its coordinator is still the one Kafka's rule gives this cycle: the leader of its
  `__consumer_offsets` partition in the metadata (where that partition has no leader, or the
  metadata has no such topic, still a broker of the cluster);
- it was described less than its refresh time ago: between half and all of
  `poll.empty_group_describe_seconds`, a fraction fixed per group id, so that the refreshes of
  many groups described together spread over later cycles instead of coming back all at once.
  With the coordinator checked every cycle nothing of an Empty group's description can go stale
  unseen, so the refresh is a safety net and the default is long (an hour: 10,000 Empty groups
  cost about 110 describes a cycle at a 30 s interval, where 300 s cost about 1,300).

`empty_group_describe_seconds: 0` describes every group every cycle.
"""

from __future__ import annotations

import sys
import zlib
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from exporter.ownership import offsets_partition
from exporter.sources.admin_convert import group_state_name, group_type_name
from exporter.sources.admin_model import GroupDescription, PartitionMeta

EMPTY = "Empty"


@dataclass(frozen=True, slots=True)
class Listed:
    """One group as the group listing shows it."""

    group_id: str
    state: str
    type: str
    simple: bool


def listed_from(listings: Iterable[Any]) -> list[Listed]:
    """confluent-kafka's group listings as `Listed`, one per id (the first of a repeated id),
    sorted by id."""
    out: dict[str, Listed] = {}
    for g in listings:
        gid = sys.intern(str(g.group_id))  # one string per group across cycles: fast compares
        if gid not in out:
            state, kind = getattr(g, "state", None), getattr(g, "type", None)
            simple = bool(g.is_simple_consumer_group)
            out[gid] = Listed(gid, group_state_name(state), group_type_name(kind), simple)
    return [out[gid] for gid in sorted(out)]


def refresh_fraction(group_id: str) -> float:
    """A fixed fraction in [0.5, 1.0) of the refresh time for this group."""
    return 0.5 + (zlib.crc32(group_id.encode("utf-8", "replace")) % 1000) / 2000


class DescribeCache:
    """The last description of each listed group, and when it was taken (monotonic seconds)."""

    def __init__(self, refresh_seconds: float) -> None:
        self._refresh = refresh_seconds
        self._last: dict[str, tuple[GroupDescription, float]] = {}

    def __len__(self) -> int:
        return len(self._last)

    def plan(
        self,
        listed: Iterable[Listed],
        brokers: Collection[int],
        now: float,
        offsets_leaders: Sequence[int] = (),
    ) -> tuple[list[str], dict[str, GroupDescription]]:
        """(ids to describe now, in listing order; reused descriptions of the other groups).
        `offsets_leaders`: the leader of each `__consumer_offsets` partition (-1: none)."""
        describe: list[str] = []
        reused: dict[str, GroupDescription] = {}
        for g in listed:
            last = self._last.get(g.group_id)
            if last is not None and self._reusable(g, last, brokers, now, offsets_leaders):
                reused[g.group_id] = last[0]
            else:
                describe.append(g.group_id)
        return describe, reused

    def _reusable(
        self,
        g: Listed,
        last: tuple[GroupDescription, float],
        brokers: Collection[int],
        now: float,
        offsets_leaders: Sequence[int],
    ) -> bool:
        desc, at = last
        return (
            self._refresh > 0
            and g.state == EMPTY
            and desc.state == EMPTY
            and g.type == desc.type
            and g.simple == desc.simple
            and now - at < self._refresh * refresh_fraction(g.group_id)
            and _same_coordinator(g.group_id, desc.coordinator, brokers, offsets_leaders)
        )

    def remember(self, described: Mapping[str, GroupDescription], now: float) -> None:
        """Keep this cycle's fresh descriptions (not the reused ones: their age stays)."""
        for gid, desc in described.items():
            self._last[gid] = (desc, now)

    def keep_only(self, listed_ids: Collection[str]) -> None:
        """Forget groups the (complete) listing no longer shows."""
        for gid in [g for g in self._last if g not in listed_ids]:
            del self._last[gid]


def _same_coordinator(
    group_id: str, coordinator: int, brokers: Collection[int], offsets_leaders: Sequence[int]
) -> bool:
    """Whether `coordinator` still coordinates the group: the leader of its `__consumer_offsets`
    partition, or, where that is not known, a broker of the cluster."""
    if offsets_leaders:
        leader = offsets_leaders[offsets_partition(group_id, len(offsets_leaders))]
        if leader >= 0:
            return coordinator == leader
    return coordinator in brokers


def leaders_of(partitions: Iterable[PartitionMeta] | None) -> tuple[int, ...]:
    """The leader of each partition of one topic in partition order (-1 for none or a partition
    the metadata left out); empty without partitions."""
    parts = list(partitions or ())
    if not parts:
        return ()
    leaders = [-1] * (max(p.partition for p in parts) + 1)
    for p in parts:
        leaders[p.partition] = p.leader
    return tuple(leaders)
