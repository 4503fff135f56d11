"""Reads the message at given offsets of given partitions, without joining a group.

A reusable source: exact lag in seconds reads the message at each lagging group's committed
offset with it (`read`), and the payload check of the schema contract samples the newest messages
of each partition with it (`sample`: the first bytes of each value over a range of offsets). It
returns plain dataclasses, so it can run behind any process boundary.

How it reads:
- one librdkafka consumer, kept between reads, only ever *assigned* partitions: it never joins a
  group, never commits, and stores no offsets (`group.id` is set only because the client
  requires one; no group request is ever made with it);
- a minimal fetch per partition (`max.partition.fetch.bytes`, `fetch.max.bytes` small; a broker
  still answers with at least one record batch), one Fetch request per broker for all the
  partitions it leads (librdkafka batches them), a partition paused as soon as it answered;
- a short `fetch.queue.backoff.ms`: librdkafka backs a partition's fetching off for that long
  whenever its queue is at `queued.min.messages`, which is 1 here, so after every answer; with
  the default (1 s) a read of 2,000 partitions took 0.6-1.3 ms a partition, with 10 ms
  0.15-0.2 ms (docs/benchmarks.md);
- `read_committed`, so what is read is what a transactional consumer would get;
- a deadline for the whole read: partitions that did not answer in time are `timeout`.

What a read answers, per partition (`Read.outcome`):
- `found`: the first message at or after the offset, with its own timestamp (CreateTime or
  LogAppendTime, whichever the topic uses). It lies past the offset asked for when the records in
  between are gone by compaction, belong to an aborted transaction, or are control records (a
  transaction marker takes an offset but is never delivered).
- `end`: nothing to read from the offset up to the end of the log (only markers, aborted records,
  or a still open transaction remain).
- `out_of_range`: the offset is no longer (retention) or not yet in the log.
- `denied`: the principal has no Read permission on the topic.
- `error`: any other error (no leader, unknown partition), with the reason.
- `timeout`: no answer before the deadline.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from confluent_kafka import (
    TIMESTAMP_LOG_APPEND_TIME,
    TIMESTAMP_NOT_AVAILABLE,
    Consumer,
    KafkaError,
    KafkaException,
    TopicPartition,
)

from exporter.sources.admin_model import TopicPartition as TP

log = logging.getLogger(__name__)

Outcome = Literal["found", "end", "out_of_range", "denied", "error", "timeout"]
OUTCOMES: tuple[Outcome, ...] = ("found", "end", "out_of_range", "denied", "error", "timeout")

READER_PROPERTIES: Mapping[str, Any] = {
    "group.id": "kafka-vitals-partition-reader",
    "enable.auto.commit": False,
    "enable.auto.offset.store": False,
    "enable.partition.eof": True,
    "auto.offset.reset": "error",
    "isolation.level": "read_committed",
    "max.partition.fetch.bytes": 4096,
    "fetch.max.bytes": 1 << 20,
    "fetch.wait.max.ms": 10,
    "fetch.error.backoff.ms": 50,
    "fetch.queue.backoff.ms": 10,
    "queued.min.messages": 1,
    "queued.max.messages.kbytes": 1024,
}
"""The consumer settings that make the reader assign-only and minimal (see the docstring)."""

_OUT_OF_RANGE = {KafkaError.OFFSET_OUT_OF_RANGE, KafkaError._AUTO_OFFSET_RESET}
_DENIED = {KafkaError.TOPIC_AUTHORIZATION_FAILED, KafkaError.CLUSTER_AUTHORIZATION_FAILED}


@dataclass(frozen=True, slots=True)
class Read:
    """What reading one partition from one offset gave."""

    outcome: Outcome
    offset: int = -1
    """Offset of the message found (`found` only)."""
    timestamp: float = -1.0
    """Its timestamp, unix seconds (`found` only)."""
    log_append_time: bool = False
    """The timestamp is the broker's LogAppendTime, not the producer's CreateTime."""
    reason: str = ""
    """Why, for `error` and `denied`."""


HEAD_BYTES = 5
"""Bytes of each value a sample keeps: the registry wire format's magic byte and schema id."""


@dataclass(frozen=True, slots=True)
class Sample:
    """What sampling one partition over a range of offsets gave."""

    outcome: Outcome
    """`found` when messages were read up to the end asked for (or the end of the log), `end`
    when there was none, else as for `Read` (the heads read before it are kept)."""
    heads: tuple[bytes | None, ...] = ()
    """The first `HEAD_BYTES` of each message's value in offset order; None for a null value
    (a tombstone)."""
    reason: str = ""


class PartitionReader:
    """Reads the first message at or after an offset of many partitions at once."""

    def __init__(
        self, client_properties: Mapping[str, Any], tuning: Mapping[str, Any] | None = None
    ) -> None:
        """`tuning`: consumer settings laid over `READER_PROPERTIES` (the benchmark's cases)."""
        self._props = {**client_properties, **READER_PROPERTIES, **(tuning or {})}
        self._consumer: Consumer | None = None

    def read(self, wanted: Mapping[TP, int], timeout_seconds: float) -> dict[TP, Read]:
        """Read every partition of `wanted` from its offset; every key gets an answer."""
        out: dict[TP, Read] = {}

        def take(key: TP, message: Any) -> bool:
            answer = _answer(message, wanted[key])
            if answer is None:
                return False
            out[key] = answer
            return True

        for tp in self._consume(wanted, timeout_seconds, take):
            out[tp] = Read("timeout")
        return out

    def sample(
        self, wanted: Mapping[TP, tuple[int, int]], timeout_seconds: float
    ) -> dict[TP, Sample]:
        """The messages of every partition of `wanted` from `first` up to `end` (exclusive),
        each as the first `HEAD_BYTES` of its value; every key gets an answer."""
        heads: dict[TP, list[bytes | None]] = {k: [] for k in wanted}
        out: dict[TP, Sample] = {}

        def take(key: TP, message: Any) -> bool:
            first, end = wanted[key]
            got = heads[key]
            error: KafkaError | None = message.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    out[key] = Sample("found" if got else "end", tuple(got))
                else:
                    read = _error_read(error)
                    out[key] = Sample(read.outcome, tuple(got), read.reason)
                return True
            offset = message.offset()
            if offset < first:
                return False
            if offset < end:
                value = message.value()
                got.append(None if value is None else bytes(value[:HEAD_BYTES]))
            if offset >= end - 1:
                out[key] = Sample("found" if got else "end", tuple(got))
                return True
            return False

        starts = {k: v[0] for k, v in wanted.items()}
        most = max((end - first for first, end in wanted.values()), default=1)
        for tp in self._consume(starts, timeout_seconds, take, max(1, most) + 1):
            out[tp] = Sample("timeout", tuple(heads[tp]))
        return out

    def _consume(
        self,
        starts: Mapping[TP, int],
        timeout_seconds: float,
        take: Callable[[TP, Any], bool],
        per_partition: int = 1,
    ) -> list[TP]:
        """Consume every partition of `starts` from its offset, handing each message (or error
        event) of a pending partition to `take` until it says the partition is done (then the
        partition is paused); return the partitions still pending at the deadline.
        `per_partition`: messages expected per partition (the size of a consume batch)."""
        if not starts:
            return []
        deadline = time.monotonic() + max(0.0, timeout_seconds)
        consumer = self._client()
        pending = set(starts)
        paused: list[TopicPartition] = []
        consumer.assign([TopicPartition(t, p, o) for (t, p), o in starts.items()])
        try:
            while pending:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                batch = consumer.consume(num_messages=len(pending) * per_partition,
                                         timeout=min(remaining, 0.2))  # fmt: skip
                done: list[TopicPartition] = []
                for message in batch:
                    tp = (message.topic(), message.partition())
                    if tp in pending:
                        hit = [tp]
                    elif _topic_wide_error(message):
                        hit = [k for k in pending if k[0] == tp[0]]
                    else:
                        # an answered partition's late event (an end of partition queued before
                        # it was paused) says nothing of the partitions still pending
                        hit = []
                    if not hit:
                        self._log_global(message.error())
                        continue
                    for key in hit:
                        if key in pending and take(key, message):
                            pending.discard(key)
                            done.append(TopicPartition(key[0], key[1]))
                if done:
                    consumer.pause(done)
                    paused.extend(done)
        finally:
            self._unassign(consumer, paused)
        return sorted(pending)

    def close(self) -> None:
        if self._consumer is not None:
            consumer, self._consumer = self._consumer, None
            try:
                consumer.close()
            except (KafkaException, RuntimeError) as exc:
                log.debug("partition reader close failed error=%r", str(exc))

    def _client(self) -> Consumer:
        if self._consumer is None:
            try:
                self._consumer = Consumer(self._props)
            except (KafkaException, ValueError, TypeError) as exc:
                raise ValueError(f"kafka: invalid reader setting: {exc}") from None
        return self._consumer

    def _unassign(self, consumer: Consumer, paused: list[TopicPartition]) -> None:
        try:
            if paused:
                consumer.resume(paused)  # the next assignment starts unpaused
            consumer.unassign()
        except (KafkaException, RuntimeError) as exc:  # a broken client is made anew next time
            log.info("partition reader unassign failed error=%r", str(exc))
            self.close()

    @staticmethod
    def _log_global(error: KafkaError | None) -> None:
        if error is not None:
            log.debug("partition reader client error error=%r", error.str())


def _topic_wide_error(message: Any) -> bool:
    """An error about a whole topic, with no partition (an unknown or unauthorized topic)."""
    partition = message.partition()
    return (
        message.error() is not None
        and message.topic() is not None
        and (partition is None or partition < 0)
    )


def _error_read(error: KafkaError) -> Read:
    """What an error event of a partition answers."""
    code = error.code()
    if code == KafkaError._PARTITION_EOF:
        return Read("end")
    if code in _OUT_OF_RANGE:
        return Read("out_of_range", reason=error.str())
    if code in _DENIED:
        return Read("denied", reason=error.str())
    return Read("error", reason=error.str())


def _answer(message: Any, offset: int) -> Read | None:
    """The answer a consumed message gives for a partition read from `offset`, or None if it
    answers nothing (a record before the offset)."""
    error: KafkaError | None = message.error()
    if error is not None:
        return _error_read(error)
    if message.offset() < offset:
        return None
    kind, ms = message.timestamp()
    if kind == TIMESTAMP_NOT_AVAILABLE or ms < 0:
        return Read("error", reason="message without a timestamp")
    return Read(
        "found",
        offset=int(message.offset()),
        timestamp=ms / 1000.0,
        log_append_time=kind == TIMESTAMP_LOG_APPEND_TIME,
    )
