"""The end-to-end probe: produce to every partition of the probe topic, consume, commit, time it.

A source runner (see `exporter.poller`), run in a supervised child process of its own like every
librdkafka client. It keeps one producer and one consumer for its whole life:

- the producer writes, each cycle, `probe.messages_per_partition` sequence-numbered messages to
  every probed partition, with the configured `acks` and a delivery timeout of the probe's
  deadline, so a broker that does not answer fails its messages instead of holding the cycle;
- the consumer is *assigned* the probed partitions (never subscribed): it never joins the group,
  so no rebalance ever stops it, a broker scope sidecar reads exactly the partitions its broker
  leads, and another instance committing other partitions under the same group never disturbs
  it. A partition newly assigned starts at its log end, read before anything is produced to it.
  The consumer keeps fetching between cycles, so a message that arrives after its deadline is
  still seen (and counted late) in a later cycle;
- after the messages are in (or the deadline passed), the offsets consumed are committed under
  `probe.group_id`, one commit per leader broker's partitions, each timed, bounded by the
  deadline as well.

What a message carries: a run id (random per process, so that messages of an earlier exporter
run or of another instance are ignored), the cycle, the partition and a sequence number. Its
latencies are timed with this process's monotonic clock, so no clock needs to agree with another.

Every call has a deadline: metadata and new assignments take at most the runner's own timeout
less `probe.deadline_seconds`; produce and consume, then the commits, each the deadline, bounded
by what is left of the runner's timeout. In
`broker` scope only the partitions the broker beside it leads are probed (the previous cycle's
Admin API view says which broker that is); in `shard` scope shard 0 probes them all.
"""

from __future__ import annotations

import functools
import logging
import random
import time
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer
from confluent_kafka import TopicPartition as KafkaTP
from confluent_kafka.admin import AdminClient

from exporter.config import Config
from exporter.sources import probe_assign, probe_topic
from exporter.sources.admin_convert import client_properties
from exporter.sources.admin_model import ClusterView
from exporter.sources.probe_model import (
    READING_KEY,
    CommitProbe,
    PartitionProbe,
    ProbeFailure,
    ProbeReading,
    decode,
    encode,
)
from exporter.sources.stages import RunnerKind, SourceFailed, describe_error

log = logging.getLogger(__name__)

OVERDUE_KEPT = 100_000
"""Messages past their deadline remembered, to count them late if they still arrive."""
CONSUME_SLICE_SECONDS = 0.005
"""How long one consume call waits: the resolution of the end-to-end latency measured."""


class ProbeSource:
    """The probe runner: `poll(cluster, timeout)` runs one probe cycle."""

    name = "probe"
    kind: RunnerKind = "probe"

    def __init__(self, config: Config) -> None:
        self._config = config
        self._probe = config.probe
        # Nagle off, as the Java clients have it: small requests leave at once, not after the
        # last one's acknowledgement (tens of milliseconds more end-to-end latency otherwise)
        base = {
            **client_properties(config.kafka),
            "allow.auto.create.topics": False,
            "socket.nagle.disable": True,
        }
        deadline_ms = max(1, int(self._probe.deadline_seconds * 1000))
        self._producer = Producer(
            {
                **base,
                "client.id": f"{config.kafka.client_id}-probe",
                "acks": self._probe.acks,
                "linger.ms": 0,
                "enable.idempotence": False,
                "message.timeout.ms": deadline_ms,
                "request.timeout.ms": deadline_ms,
            }
        )
        self._consumer = Consumer(
            {
                **base,
                "client.id": f"{config.kafka.client_id}-probe",
                "group.id": self._probe.group_id,
                "enable.auto.commit": False,
                "enable.auto.offset.store": False,
                "enable.partition.eof": False,
                "auto.offset.reset": "latest",
                "fetch.wait.max.ms": 10,
                "fetch.min.bytes": 1,
                "on_commit": self._committed,
            }
        )
        self._admin = AdminClient(base)
        self._run = random.getrandbits(63)
        self._cycle = 0
        self._topic_ok = False
        self._last_leader: dict[int, int] = {}
        """Partition -> the last leader the metadata named for it."""
        self._assigned: dict[int, int] = {}
        """Partition -> its leader when last assigned."""
        self._seq: dict[int, int] = {}
        self._pending: dict[tuple[int, int], tuple[float, int]] = {}
        """(partition, seq) of this cycle's messages not consumed yet -> (sent at, leader)."""
        self._overdue: OrderedDict[tuple[int, int], int] = OrderedDict()
        """(partition, seq) of messages counted lost -> their leader then."""
        self._acks: dict[int, list[float]] = {}
        self._unacked: set[tuple[int, int]] = set()
        """(partition, seq) of this cycle's messages the producer has not reported on yet."""
        self._late: dict[int, int] = {}
        self._commits: dict[frozenset[int], float | None] = {}
        self._commit_ok: dict[frozenset[int], bool] = {}

    # ---- the runner interface --------------------------------------------------------------

    def poll(
        self, cluster: ClusterView | None = None, timeout: float | None = None
    ) -> Mapping[str, object]:
        t0 = time.monotonic()
        end = t0 + (timeout if timeout is not None else self._config.poll.stage_timeout_seconds)
        try:
            if not self._topic_ok:
                problem = probe_topic.ensure(self._admin, self._probe, end - time.monotonic())
                if problem is not None:
                    raise _Failed(problem)
                self._topic_ok = True
                log.info("probe topic checked topic=%s", self._probe.topic)
            # metadata and new assignments may take what the messages' deadline leaves
            before = end - self._probe.deadline_seconds
            leaders = self._leaders(cluster, before - time.monotonic())
            self._assign(leaders, before)
            self._cycle += 1
            counts = self._produce(leaders)
            stop = min(end, time.monotonic() + self._probe.deadline_seconds)
            e2e, consumed = self._consume_until(stop)
            lost = self._expire()
            commits = self._commit(consumed, leaders, end)
        except _Failed as exc:
            raise SourceFailed(str(exc), {READING_KEY: ProbeFailure(str(exc))}) from None
        except (KafkaException, BufferError, RuntimeError) as exc:
            why = f"probe: {describe_error(exc)}"
            raise SourceFailed(why, {READING_KEY: ProbeFailure(why)}) from None
        partitions = tuple(
            PartitionProbe(
                partition=p,
                leader=leader,
                sent=counts.get(p, 0),
                produce_seconds=tuple(self._acks.pop(p, ())),
                end_to_end_seconds=tuple(e2e.get(p, ())),
                lost=lost.get(p, 0),
                late=self._late.pop(p, 0),
            )
            for p, leader in sorted(leaders.items())
        )
        return {READING_KEY: ProbeReading(partitions, commits, time.monotonic() - t0)}

    def close(self) -> None:
        try:
            self._producer.flush(1.0)
            self._consumer.close()
        except (KafkaException, RuntimeError) as exc:
            log.debug("probe close failed error=%r", describe_error(exc))

    # ---- the phases of a cycle -----------------------------------------------------------------

    def _leaders(self, cluster: ClusterView | None, timeout: float) -> dict[int, int]:
        """Partition -> leader of every partition this instance probes. A partition without a
        leader is probed under the broker that led it last (its messages are lost until a leader
        is back: that broker's partitions are unavailable); one never led since start is left
        out.

        The metadata request goes to one broker, which may be the one that hangs: once leaders
        are known, it waits at most 1 s plus a tenth of the messages' deadline, and the cycle
        goes on with the last leaders known (the producer routes by its own metadata anyway)."""
        if self._last_leader:
            timeout = min(timeout, 1.0 + self._probe.deadline_seconds / 10)
        try:
            meta = self._producer.list_topics(topic=self._probe.topic, timeout=max(0.1, timeout))
        except KafkaException as exc:
            if not self._last_leader:
                raise
            log.info("probe metadata failed, last leaders used error=%r", describe_error(exc))
            return self._scoped(dict(self._last_leader), cluster)
        topic = meta.topics.get(self._probe.topic)
        if topic is None or topic.error is not None:
            why = topic.error.str() if topic is not None and topic.error is not None else "missing"
            self._topic_ok = False
            raise _Failed(f"probe topic {self._probe.topic!r}: {why}")
        for p in topic.partitions.values():
            if p.leader >= 0:
                self._last_leader[p.id] = p.leader
        leaders = {
            p.id: self._last_leader[p.id]
            for p in topic.partitions.values()
            if p.id in self._last_leader
        }
        return self._scoped(leaders, cluster)

    def _scoped(self, leaders: dict[int, int], cluster: ClusterView | None) -> dict[int, int]:
        """The partitions of `leaders` this instance probes (see the module docstring)."""
        share = cluster.share if cluster is not None else None
        if self._config.scope == "broker":
            if share is None or share.scope != "broker":
                raise _Failed("probe: the broker beside this instance is not known yet")
            return {p: leader for p, leader in leaders.items() if leader == share.me}
        if self._config.scope == "shard" and (share is None or not share.cluster_wide):
            return {}
        return leaders

    def _assign(self, leaders: dict[int, int], until: float) -> None:
        """See `probe_assign.assign`."""
        probe_assign.assign(self._consumer, self._probe.topic, self._assigned, leaders, until)

    def _produce(self, leaders: Mapping[int, int]) -> dict[int, int]:
        """Produce this cycle's messages; the number sent per partition."""
        counts: dict[int, int] = {}
        size = self._probe.payload_bytes
        for p, leader in leaders.items():
            for _ in range(self._probe.messages_per_partition):
                seq = self._seq.get(p, 0)
                self._seq[p] = seq + 1
                value = encode(self._run, self._cycle, p, seq, size)
                sent = time.monotonic()
                self._pending[(p, seq)] = (sent, leader)
                counts[p] = counts.get(p, 0) + 1
                try:
                    self._producer.produce(
                        self._probe.topic,
                        value,
                        partition=p,
                        on_delivery=functools.partial(self._delivered, p, seq, sent),
                    )
                    self._unacked.add((p, seq))
                except (BufferError, KafkaException) as exc:  # counted lost at the deadline
                    log.debug("probe produce refused partition=%d error=%r", p,
                              describe_error(exc))  # fmt: skip
        self._producer.poll(0)
        return counts

    def _consume_until(self, stop: float) -> tuple[dict[int, list[float]], dict[int, int]]:
        """Consume until every message of this cycle is in and acknowledged, or `stop`; the
        end-to-end latencies and the highest offset consumed per partition."""
        e2e: dict[int, list[float]] = {}
        consumed: dict[int, int] = {}
        while True:
            self._producer.poll(0)
            now = time.monotonic()
            if (not self._pending and not self._unacked) or now >= stop:
                break
            batch = self._consumer.consume(500, timeout=min(CONSUME_SLICE_SECONDS, stop - now))
            self._take(batch, e2e, consumed)
        self._producer.poll(0)
        return e2e, consumed

    def _take(
        self, batch: list[Any], e2e: dict[int, list[float]], consumed: dict[int, int]
    ) -> None:
        now = time.monotonic()
        for message in batch:
            if message.error() is not None:
                if message.error().code() != KafkaError._PARTITION_EOF:
                    log.debug("probe consumer error error=%r", message.error().str())
                continue
            p = message.partition()
            consumed[p] = max(consumed.get(p, -1), message.offset())
            decoded = decode(message.value())
            if decoded is None or decoded[0] != self._run:
                continue
            key = (p, decoded[3])
            entry = self._pending.pop(key, None)
            if entry is not None:
                e2e.setdefault(p, []).append(now - entry[0])
            elif self._overdue.pop(key, None) is not None:
                self._late[p] = self._late.get(p, 0) + 1

    def _expire(self) -> dict[int, int]:
        """Count this cycle's messages not consumed as lost; remember them to count them late."""
        lost: dict[int, int] = {}
        for key, (_, leader) in self._pending.items():
            lost[key[0]] = lost.get(key[0], 0) + 1
            self._overdue[key] = leader
        self._pending.clear()
        self._unacked.clear()  # reported later, if ever: their latency then
        while len(self._overdue) > OVERDUE_KEPT:
            self._overdue.popitem(last=False)
        return lost

    def _commit(
        self, consumed: Mapping[int, int], leaders: Mapping[int, int], end: float
    ) -> tuple[CommitProbe, ...]:
        """Commit the offsets consumed, one commit per leader's partitions, each timed; bounded
        by the deadline and what is left of the runner's timeout."""
        by_leader: dict[int, list[int]] = {}
        for p in consumed:
            by_leader.setdefault(leaders.get(p, -1), []).append(p)
        self._commits.clear()
        self._commit_ok.clear()
        started: dict[frozenset[int], tuple[int, float]] = {}
        for leader, parts in sorted(by_leader.items()):
            offsets = [KafkaTP(self._probe.topic, p, consumed[p] + 1) for p in sorted(parts)]
            key = frozenset(parts)
            started[key] = (leader, time.monotonic())
            self._commits[key] = None
            self._consumer.commit(offsets=offsets, asynchronous=True)
        stop = min(end, time.monotonic() + self._probe.deadline_seconds)
        e2e: dict[int, list[float]] = {}
        more: dict[int, int] = {}
        while any(v is None for v in self._commits.values()) and time.monotonic() < stop:
            # serves the commit callbacks; messages arriving meanwhile are late ones
            self._take(self._consumer.consume(500, timeout=CONSUME_SLICE_SECONDS), e2e, more)
        out = []
        for key, (leader, at) in sorted(started.items(), key=lambda kv: kv[1][0]):
            done = self._commits.get(key)
            seconds = (done - at) if done is not None else time.monotonic() - at
            out.append(CommitProbe(leader, seconds, done is not None and self._commit_ok[key]))
        return tuple(out)

    # ---- callbacks (served by poll and consume, in this thread) --------------------------------

    def _delivered(
        self, partition: int, seq: int, sent: float, err: KafkaError | None, _msg: Any
    ) -> None:
        self._unacked.discard((partition, seq))
        if err is None:
            self._acks.setdefault(partition, []).append(time.monotonic() - sent)
        else:
            log.debug("probe delivery failed partition=%d error=%r", partition, err.str())

    def _committed(self, err: KafkaError | None, partitions: list[KafkaTP]) -> None:
        key = frozenset(tp.partition for tp in partitions)
        if key in self._commits:
            self._commits[key] = time.monotonic()
            failed = err is not None or any(tp.error is not None for tp in partitions)
            self._commit_ok[key] = not failed
            if failed:
                log.info("probe commit failed error=%r", err.str() if err else "partition error")


class _Failed(Exception):
    """The probe cannot run this cycle; the message is one line for the user."""
