"""The Kafka Admin API source: one AdminClient for the life of the process, one request plan.

One `fetch()` runs the stages of a poll cycle, in this order, each timed, each with a deadline
(`poll.stage_timeout_seconds` for the stage, `kafka.request_timeout_seconds` for each request),
each able to fail alone:

1. `metadata`: `list_topics` (brokers, topics, partitions, leader, replicas, ISR) and
   `describe_cluster` (broker racks; asked again only when the set of brokers changes or
   `RACKS_TTL_SECONDS` have passed). Internal topics the filters leave out are kept apart, for
   their replication health only (`ClusterView.replication_only`). If it fails the cluster is
   unreachable: the other stages are skipped and `fetch()` reports the source down.
2. `groups`: `list_consumer_groups` once (de-duplicated, filtered), then
   `describe_consumer_groups` in batches of `poll.describe_batch_size`. Simple groups (no members,
   committed offsets only) are listed and described like the others. An Empty group that stays
   Empty reuses its last description for up to `poll.empty_group_describe_seconds` (see
   `group_cache`). With the committed offsets from the offsets log (which need no group) the
   stage runs in a thread beside stages 3-6, and is waited for before stage 7.
3. `committed`: `list_consumer_group_offsets`, one group per request (librdkafka takes one), through
   a window of `poll.offsets_in_flight` requests in flight. Only offsets >= 0 on partitions that
   exist in this cycle's metadata are kept, so offsets left on a deleted topic are ignored.
   With `committed_offsets.source: log` (or `auto` where the log may be read) they come from the
   `__consumer_offsets` reader instead (`exporter.sources.offsets_log`), read up to the log's end
   as of this stage, with the same group filter and the same partitions kept.
4. `offsets`: log-end offsets of every partition the series need and log-start offsets of those
   whose series show it (`ScopePlan.log_starts`: in `broker` and `shard` scope not the partitions
   needed only for a group's lag), `offsets_for_times` calls per leader and spec, all at once,
   from consumers beside the AdminClient that never subscribe, are never assigned a partition and
   never commit (`exporter.sources.admin_offsets`), read after the committed offsets so that lag
   can only be overstated. Offsets that could not be read (no leader, a leader that does not
   answer) are carried from the last cycle (`carry_offsets`).
5. `message_times` (not with `poll.lag_seconds_mode: interpolated`): the messages at lagging
   groups' committed offsets, for exact lag in seconds (`exporter.sources.message_times`). The
   reads of the offsets that lagged already at the last cycle's log ends start in a worker thread
   before the `offsets` stage and run beside it; this stage waits for them and reads the rest.
6. `payload_samples` (only with `schema_registry.payload_sampling`): the newest messages of each
   partition checked for the registry wire format and known schema ids
   (`exporter.sources.payload_samples`).
7. `topic_configs`: `describe_configs` for `min.insync.replicas`, cached for
   `poll.topic_config_ttl_seconds`.

The group stages (2, 3) live in `exporter.sources.admin_groups`, the log offsets (4) in
`exporter.sources.admin_offsets`, the topic configs (7) in `exporter.sources.topic_configs`, each
with what it keeps between cycles; this module holds the client, the plan of a cycle, and the
metadata stage.

Topic and group filters apply before any request that depends on them. The source never joins a
group, commits, or creates anything: it only reads.

One AdminClient serves every cycle, with one exception: after a cycle in which the cluster was
unreachable or a request timed out, the client (and the offsets stage's consumer with it) is
replaced by a fresh one. librdkafka 2.x keeps routing group requests to a broker handle it retired
while the broker was away, so after a broker restart every describe and committed-offsets request
of the old client times out for good (and may end in an internal assertion that aborts the
process); a fresh client recovers at once.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from sys import intern
from typing import Any, TypeVar, cast

from confluent_kafka.admin import AdminClient

from exporter.config import Config
from exporter.ownership import OFFSETS_TOPIC, Share
from exporter.sources.admin_convert import (
    RdkafkaLog,
    broker_from,
    client_properties,
    new_client,
    topics_from,
)
from exporter.sources.admin_groups import GroupStages
from exporter.sources.admin_model import Broker, ClusterView, GroupDescription, PartitionMeta
from exporter.sources.admin_model import TopicPartition as TP
from exporter.sources.admin_offsets import OffsetsReader
from exporter.sources.admin_scope import ScopePlan, followed_offsets_partitions, offsets_leaders
from exporter.sources.filters import Filters, is_internal_topic
from exporter.sources.group_cache import leaders_of
from exporter.sources.message_times import MessageTimesSource
from exporter.sources.offsets_log import OffsetsLogSource
from exporter.sources.payload_samples import PayloadSampler
from exporter.sources.stages import (
    ADMIN_STAGES,
    Deadline,
    StageFailed,
    StageOutcome,
    describe_error,
    is_timeout,
)
from exporter.sources.topic_configs import TopicConfigs

log = logging.getLogger(__name__)

STAGES = ADMIN_STAGES
_Parts = dict[str, tuple[PartitionMeta, ...]]
"""Partitions by topic name."""
R = TypeVar("R")
RACKS_TTL_SECONDS = 600.0
"""How long the brokers' racks are reused while the set of brokers stays the same."""


@dataclass(frozen=True, slots=True)
class AdminResult:
    """One fetch: the view (None when the cluster was unreachable) and how each stage went."""

    view: ClusterView | None
    stages: tuple[StageOutcome, ...]

    @property
    def up(self) -> bool:
        return self.view is not None


class AdminSource:
    """Reads the cluster through one AdminClient; see the module docstring for the plan."""

    def __init__(
        self,
        config: Config,
        offsets_log: OffsetsLogSource | None = None,
        whole_topic: Callable[[str], bool] | None = None,
    ) -> None:
        """`whole_topic`: see `ScopePlan` (which topics' series need all their offsets)."""
        self._mode = config.committed_offsets.source
        self._log = offsets_log
        self._follow: frozenset[int] | None = None
        """Broker scope: the offsets partitions this broker's share needs (None until known)."""
        if self._log is None and self._mode != "admin":
            follow = (lambda: self._follow) if config.scope == "broker" else None
            self._log = OffsetsLogSource(config, follow=follow)
            self._log.start()
        self._kafka = config.kafka
        self._poll = config.poll
        self._filters = Filters.from_config(config.filters)
        self._props = client_properties(config.kafka)
        self._props["logger"] = RdkafkaLog(logging.getLogger("exporter.librdkafka"))
        self._client = self._new_client()
        self._offsets_reader = OffsetsReader(self._props, config.kafka.request_timeout_seconds)
        self._replace_client = False
        self._last_racks: Mapping[int, str] = {}
        self._racks_of: frozenset[tuple[int, str, int]] = frozenset()
        self._racks_until = 0.0
        self.clients_created = 1
        self._times = (
            None
            if config.poll.lag_seconds_mode == "interpolated"
            else MessageTimesSource(
                config.poll.lag_seconds_mode, self._props, config.poll.topic_config_ttl_seconds
            )
        )
        sr = config.schema_registry
        self._payloads = (
            PayloadSampler(config, self._props) if sr.url and sr.payload_sampling else None
        )
        self._topic_configs = TopicConfigs(config.poll, config.kafka.request_timeout_seconds)
        self._groups = GroupStages(config.poll, self._filters, config.kafka.request_timeout_seconds)
        if self._payloads is not None:  # a topic's payload series need all its partitions
            sampled, dead_letters = self._payloads.checked, whole_topic
            whole_topic = lambda t: sampled(t) or (dead_letters is not None and dead_letters(t))  # noqa: E731
        self._plan = ScopePlan(config, whole_topic)

    def _new_client(self) -> AdminClient:
        return new_client(AdminClient, self._props)

    def close(self) -> None:
        """Serve pending log lines and stop the offsets-log reader; the client is freed with the
        object."""
        with contextlib.suppress(Exception):
            self._client.poll(0)
        self._offsets_reader.close()
        if self._log is not None:
            self._log.close()
        if self._times is not None:
            self._times.close()
        if self._payloads is not None:
            self._payloads.close()

    @property
    def described(self) -> tuple[str, ...]:
        """The groups the last `fetch()` asked to describe (the others reused a description)."""
        return self._groups.described

    @property
    def committed_from_log(self) -> bool:
        """Whether this cycle's committed offsets come from the offsets log."""
        if self._log is None or self._mode == "admin":
            return False
        return self._mode == "log" or not self._log.denied

    @property
    def ready(self) -> bool:
        """False while committed offsets should come from a log not read to its end as of start
        (the poller reads the same from `ClusterView.committed_ready`)."""
        return not self.committed_from_log or (self._log is not None and self._log.ready)

    # ---- one cycle -------------------------------------------------------------------------

    def fetch(self, on_stage: Callable[[str], None] | None = None) -> AdminResult:
        """One cycle's stages; `on_stage(name)` is called as each stage begins."""
        if self._replace_client:
            self._client = self._new_client()
            self._offsets_reader.replace()
            self.clients_created += 1
            self._replace_client = False
            log.info("admin client replaced after an unreachable cluster or a timeout")
        outcomes: list[StageOutcome] = []
        started = time.time()

        def timed(stage: str, fn: Callable[[Deadline], R]) -> tuple[R | None, StageOutcome, bool]:
            """(value or a failed stage's partial one, outcome, whether to renew the client)"""
            t0 = time.monotonic()
            error, value, replace = "", cast(Any, None), False
            try:
                value = fn(Deadline.after(self._poll.stage_timeout_seconds))
            except StageFailed as exc:
                error, value, replace = str(exc), exc.partial, exc.timed_out
            except Exception as exc:
                error = describe_error(exc)
                replace = is_timeout(exc) or stage == "metadata"
            seconds = time.monotonic() - t0
            if error:
                log.warning("admin stage failed stage=%s seconds=%.3f error=%r", stage, seconds,
                            error)  # fmt: skip
            else:
                log.debug("admin stage done stage=%s seconds=%.3f", stage, seconds)
            return value, StageOutcome(stage, seconds, error), replace

        def run(stage: str, fn: Callable[[Deadline], R]) -> R | None:
            if on_stage is not None:
                on_stage(stage)
            value, outcome, replace = timed(stage, fn)
            self._replace_client |= replace
            outcomes.append(outcome)
            return value

        def beside(stage: str, fn: Callable[[Deadline], R]) -> Callable[[], R | None]:
            """`run` in a thread beside the stages that follow; the call returned waits for it
            (its outcome keeps its place). `on_stage` is called here: it may write to a pipe."""
            if on_stage is not None:
                on_stage(stage)
            at, box = len(outcomes), []
            thread = threading.Thread(target=lambda: box.append(timed(stage, fn)), daemon=True)
            thread.start()

            def result() -> R | None:
                thread.join()
                value, outcome, replace = box[0]
                self._replace_client |= replace
                outcomes.insert(at, outcome)
                return value

            return result

        try:
            meta = run("metadata", self._metadata)
            if meta is None:
                return AdminResult(None, tuple(outcomes))
            brokers, controller_id, partitions, share, internal = meta
            if share.scope == "broker":
                self._follow = followed_offsets_partitions(share)
            broker_ids = frozenset(b.id for b in brokers)
            coordinators = leaders_of(internal.get(OFFSETS_TOPIC) or partitions.get(OFFSETS_TOPIC))
            stages, client = self._groups, self._client
            from_log = self.committed_from_log

            def describe(d: Deadline) -> tuple[list[str], dict[str, GroupDescription]]:
                return stages.list_and_describe(client, broker_ids, share, d, coordinators)

            group_ids: list[str] | None = None
            if from_log:  # the log's committed offsets need no group: described meanwhile
                listed_later = beside("groups", describe)
            else:
                listed = run("groups", describe)
                group_ids = listed[0] if listed is not None else None
                listed_later = lambda: listed  # noqa: E731
            committed = times = None
            if from_log:
                offsets_log = self._log
                assert offsets_log is not None
                read = run("committed", lambda d: stages.committed_from_log(offsets_log, partitions,
                                                                            share, d))  # fmt: skip
                committed, times = read if read is not None else (None, None)
            elif group_ids is not None:
                asked = self._plan.committed_groups(share, group_ids, stages.listed)
                committed = run(
                    "committed", lambda d: stages.committed(client, asked, partitions, d)
                )
            offsets_at = time.time()
            early = None  # the reads known to be needed already run beside the offsets stage
            if self._times is not None and committed is not None:
                early = self._times.start_early(committed, self._poll.stage_timeout_seconds)
            wanted = self._plan.offsets(share, partitions, committed)
            starts = self._plan.log_starts(share, wanted)
            ends_reader, leaders = self._offsets_reader, _leaders(partitions)
            ends = run("offsets", lambda d: ends_reader.read(wanted, starts, leaders, d))
            offsets, carried = ends if ends is not None else (None, frozenset[TP]())
            message_times = None
            if self._times is not None and committed is not None and offsets is not None:
                reader, at = self._times, offsets_at
                message_times = run("message_times", lambda d: reader.fetch(
                    committed, offsets, at, d.remaining(), early))  # fmt: skip
            payloads = None
            if self._payloads is not None and offsets is not None:
                sampler = self._payloads
                payloads = run("payload_samples",
                               lambda d: sampler.fetch(offsets, share, d.remaining()))  # fmt: skip
            listed = listed_later()
            groups = listed[1] if listed is not None else None
            every = {**internal, **partitions}
            configs = self._topic_configs
            min_isr = run("topic_configs", lambda d: configs.min_isr(client, every, d))
            topics = topics_from(partitions, min_isr or {})
            view = ClusterView(
                taken_at=offsets_at if offsets is not None else started,
                brokers=brokers,
                controller_id=controller_id,
                topics=topics,
                replication_only=topics_from(internal, min_isr or {}),
                groups=groups,
                committed=committed,
                offsets=offsets,
                committed_source="log" if from_log else "admin",
                commit_times=times,
                offsets_log=self._log.status() if self._log is not None else None,
                carried_offsets=carried,
                message_times=message_times,
                payload_samples=payloads,
                failed_stages=tuple(o.stage for o in outcomes if not o.ok),
                share=share,
            )
            return AdminResult(view, tuple(outcomes))
        finally:
            self._client.poll(0)

    # ---- stages ----------------------------------------------------------------------------

    def _metadata(
        self, deadline: Deadline
    ) -> tuple[tuple[Broker, ...], int, _Parts, Share, _Parts]:
        """Brokers, controller, the exported topics' partitions, this instance's share, and the
        partitions of the internal topics the filters leave out (their replication health is
        served all the same)."""
        cap = self._kafka.request_timeout_seconds
        md = self._client.list_topics(timeout=deadline.request_timeout(cap))
        racks = self._racks(md, deadline)
        brokers = tuple(
            sorted(
                (broker_from(b, racks.get(int(b.id), "")) for b in md.brokers.values()),
                key=lambda b: b.id,
            )
        )
        partitions: _Parts = {}
        internal: _Parts = {}
        for name, t in md.topics.items():
            if t.error is not None and not t.partitions:
                log.debug("topic metadata error topic=%r error=%s", name, t.error)
                continue
            into = partitions if self._filters.topic(name) else internal
            if into is internal and not is_internal_topic(name):
                continue
            name = intern(name)  # label strings compare by identity across cycles
            into[name] = tuple(
                PartitionMeta(name, int(p.id), int(p.leader), tuple(p.replicas), tuple(p.isrs))
                for p in sorted(t.partitions.values(), key=lambda p: p.id)
            )
        # the internal topics' partitions are owned like any other (their health series)
        share = self._plan.share(brokers, {**internal, **partitions}, offsets_leaders(md))
        return brokers, int(md.controller_id), partitions, share, internal

    def _racks(self, md: Any, deadline: Deadline) -> Mapping[int, str]:
        """The brokers' racks (`describe_cluster`), asked again only when the set of brokers
        changes or RACKS_TTL_SECONDS have passed: a rack is static, changed only by a restart."""
        seen = frozenset((int(b.id), str(b.host), int(b.port)) for b in md.brokers.values())
        now = time.monotonic()
        if seen == self._racks_of and now < self._racks_until:
            return self._last_racks
        cap = self._kafka.request_timeout_seconds
        try:
            described = self._client.describe_cluster(
                request_timeout=deadline.request_timeout(cap)
            ).result(timeout=deadline.remaining())
        except Exception as exc:  # racks are a nicety; the metadata is what counts
            log.debug("describe_cluster failed error=%r", describe_error(exc))
            return {}
        self._last_racks = {int(n.id): n.rack or "" for n in described.nodes or ()}
        self._racks_of, self._racks_until = seen, now + RACKS_TTL_SECONDS
        return self._last_racks


def _leaders(partitions: _Parts) -> dict[TP, int]:
    """The leader of every partition of this cycle's metadata (-1: none)."""
    return {(p.topic, p.partition): p.leader for ps in partitions.values() for p in ps}
