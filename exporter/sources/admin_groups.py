"""The Admin API source's consumer-group stages: `groups` (list the groups, describe them) and
`committed` (their committed offsets, from the Admin API or from the offsets log).

`GroupStages` keeps what these stages remember between cycles: the describe cache of Empty groups
(`group_cache`), every group the last listing gave, and the groups the last cycle described.
`exporter.sources.admin.AdminSource` runs them with its one client, on its deadlines; a stage that
fails with a partial result worth keeping raises `StageFailed` carrying it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from confluent_kafka import ConsumerGroupTopicPartitions
from confluent_kafka.admin import AdminClient

from exporter.config import PollConfig
from exporter.ownership import Share
from exporter.sources.admin_convert import group_from
from exporter.sources.admin_model import GroupDescription, PartitionMeta
from exporter.sources.admin_model import TopicPartition as TP
from exporter.sources.filters import Filters
from exporter.sources.group_cache import DescribeCache, listed_from
from exporter.sources.offsets_log import LogBehind, OffsetsLogSource
from exporter.sources.stages import (
    Deadline,
    Gathered,
    StageFailed,
    batches,
    describe_error,
    gather_windowed,
)

Committed = dict[str, dict[TP, int]]
"""Committed offsets by group id, then partition."""
CommitTimes = dict[str, dict[TP, float]]
"""When each committed offset was committed (Unix time), by group id, then partition."""


class GroupStages:
    """The `groups` and `committed` stages, and what they remember between cycles."""

    def __init__(self, poll: PollConfig, filters: Filters, request_cap: float) -> None:
        self._poll = poll
        self._filters = filters
        self._cap = request_cap
        self._describe_cache = DescribeCache(poll.empty_group_describe_seconds)
        self.listed: frozenset[str] = frozenset()
        """Every group the last listing gave (before the share was taken)."""
        self.described: tuple[str, ...] = ()
        """The groups the last `groups` stage asked to describe (the others reused one)."""

    def list_and_describe(
        self,
        client: AdminClient,
        broker_ids: frozenset[int],
        share: Share,
        deadline: Deadline,
        offsets_leaders: Sequence[int] = (),
    ) -> tuple[list[str], dict[str, GroupDescription]]:
        """The ids of this instance's groups and their descriptions; `offsets_leaders`, the
        leader of each `__consumer_offsets` partition, says which reused descriptions still
        name the group's coordinator (`group_cache`)."""
        cap = self._cap
        listing = client.list_consumer_groups(request_timeout=deadline.request_timeout(cap)).result(
            timeout=deadline.remaining()
        )
        listed = listed_from(g for g in listing.valid or () if self._filters.group(g.group_id))
        self.listed = frozenset(g.group_id for g in listed)
        if not share.everything:
            listed = [g for g in listed if share.group(g.group_id)]
        ids = [g.group_id for g in listed]
        problems = [describe_error(e) for e in listing.errors or ()]
        now = time.monotonic()
        to_describe, reused = self._describe_cache.plan(listed, broker_ids, now, offsets_leaders)
        self.described = tuple(to_describe)
        gathered = gather_windowed(
            batches(to_describe, self._poll.describe_batch_size),
            lambda batch: client.describe_consumer_groups(
                list(batch), request_timeout=deadline.request_timeout(cap)
            ),
            max(1, self._poll.offsets_in_flight // 4),
            deadline,
            convert=lambda desc: group_from(desc, self._filters.topic),
        )
        described: dict[str, GroupDescription] = gathered.results
        self._describe_cache.remember(described, now)
        if not listing.errors:
            self._describe_cache.keep_only(set(ids))
        groups = {gid: g for gid in ids if (g := described.get(gid) or reused.get(gid))}
        problems += _problems(gathered, "describe failed for ", "describe of ")
        if problems:
            raise StageFailed("; ".join(problems), (ids, groups), gathered.timed_out)
        return ids, groups

    def committed(
        self,
        client: AdminClient,
        group_ids: Sequence[str],
        partitions: Mapping[str, tuple[PartitionMeta, ...]],
        deadline: Deadline,
    ) -> Committed:
        """The groups' committed offsets through the Admin API, one group per request."""
        cap = self._cap
        # topic as answered -> (the metadata's interned name, its partition count)
        known = {t: (t, len(ps)) for t, ps in partitions.items()}

        def offsets_of(result: Any) -> dict[TP, int]:
            out: dict[TP, int] = {}
            for tp in result.topic_partitions or ():
                offset, partition = int(tp.offset), int(tp.partition)
                if offset < 0 or tp.error is not None:
                    continue
                topic = known.get(tp.topic)
                if topic is not None and 0 <= partition < topic[1]:
                    out[(topic[0], partition)] = offset
            return out

        gathered = gather_windowed(
            group_ids,
            lambda gid: client.list_consumer_group_offsets(
                [ConsumerGroupTopicPartitions(gid)], request_timeout=deadline.request_timeout(cap)
            ),
            self._poll.offsets_in_flight,
            deadline,
            convert=offsets_of,
        )
        out: Committed = gathered.results
        problems = _problems(gathered, "failed for ", "")
        if problems:
            raise StageFailed("committed offsets " + "; ".join(problems), out, gathered.timed_out)
        return out

    def committed_from_log(
        self,
        offsets_log: OffsetsLogSource,
        partitions: Mapping[str, tuple[PartitionMeta, ...]],
        share: Share,
        deadline: Deadline,
    ) -> tuple[Committed, CommitTimes]:
        """The offsets log's committed offsets, kept as the Admin API's are: groups that pass
        the filter, partitions in this cycle's metadata."""
        known = {t: (t, len(ps)) for t, ps in partitions.items()}  # the metadata's own strings
        filtered = self._filters.group

        def groups(gid: str) -> bool:
            return filtered(gid) and share.group(gid)

        def kept(view: Any) -> tuple[Committed, CommitTimes]:
            committed: Committed = {}
            times: CommitTimes = {}
            for gid, entries in view.offsets.items():
                if not groups(gid):
                    continue
                mine: dict[TP, int] = {}
                at: dict[TP, float] = {}
                commit_times = view.commit_times[gid]
                for tp, offset in entries.items():
                    topic = known.get(tp[0])
                    if topic is not None and 0 <= tp[1] < topic[1]:
                        # one key object in both maps: the view pickles (and the exporter's
                        # process unpickles) it once
                        key = (topic[0], tp[1])
                        mine[key] = offset
                        at[key] = commit_times[tp]
                if mine:
                    committed[gid] = mine
                    times[gid] = at
            return committed, times

        try:
            return kept(offsets_log.committed(deadline))
        except LogBehind as exc:
            raise StageFailed(str(exc), kept(exc.view)) from None


def _problems(gathered: Gathered[str], failed: str, unanswered: str) -> list[str]:
    """What went wrong with the groups' requests: the first failure and how many failed, and how
    many were not answered by the deadline; each line led by its prefix."""
    out = []
    if gathered.errors:
        gid, why = next(iter(gathered.errors.items()))
        out.append(f"{failed}{len(gathered.errors)} groups ({gid!r}: {why})")
    if gathered.unfinished:
        out.append(f"{unanswered}{gathered.unfinished} groups not answered in time")
    return out
