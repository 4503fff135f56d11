"""Exact lag in seconds: the timestamps of the messages at the lagging groups' committed offsets.

The `message_times` stage of the admin source, after the log-end offsets. Most of its reads start
earlier, in a worker thread, as soon as the committed offsets are in (`start_early`), and run
beside the log-end offsets stage: a committed offset below the log end of the last cycle lags
now too (a log end only moves forward, and where it went back the stage drops the answer). The
stage itself waits for them and reads only the partitions that started to lag since the last
cycle. With `poll.lag_seconds_mode`:

- `interpolated`: nothing is read; lag in seconds comes from the log-end history alone.
- `exact`: every partition on which a group lags is read at the group's committed offset.
- `auto`: only where interpolation would extrapolate: the committed offset lies below the first
  log end the exporter saw of the partition (since it started, or since the log end last went
  back), as for every stopped group after a restart, or messages written before the exporter
  started. Inside that history interpolation is within one poll interval and costs nothing.

What is read and how often:
- at most one read per partition per cycle (the lowest offset not known yet; other groups' offsets
  on the same partition follow in the next cycles), in at most two `PartitionReader.read` calls,
  the early one and the stage's own (each batched per broker, with a stage deadline; one reader,
  so never two at once);
- an answer is reused while the committed offset does not move: a message's timestamp never
  changes, so a stopped group costs one read;
- nothing lagging, nothing read.

The answers (`exporter.sources.partition_reader` has the reasons):
- `found`: the message's own timestamp; at a later offset when the records in between are gone by
  compaction, aborted, or control records: the oldest message a consumer would get.
- `end`: nothing left to consume from that offset: lag in seconds 0.
- `out_of_range` (deleted by retention between the two reads), `denied` (no Read on the topic),
  `error`, `timeout`: no exact value; the collector falls back to interpolation for that
  partition. Every outcome is counted in `kafka_vitals_message_reads_total{outcome}`; `denied`
  is not retried for `poll.topic_config_ttl_seconds`, and never fails the cycle.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Collection, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any

from exporter.config import LagSecondsMode
from exporter.sources.admin_model import MessageTimes, Offsets, TopicPartition
from exporter.sources.partition_reader import PartitionReader, Read

log = logging.getLogger(__name__)

Key = tuple[str, int, int]
"""(topic, partition, offset)"""


@dataclass(frozen=True, slots=True)
class EarlyReads:
    """The reads one cycle started before its log-end offsets were known."""

    first: Mapping[TopicPartition, int]
    """The offset read of each partition."""
    answers: Future[dict[TopicPartition, Read]]


def first_unknown(
    wanted: Collection[Key],
    known: Collection[Key],
    skip: Collection[TopicPartition],
    denied: Mapping[str, float],
    now: float,
) -> dict[TopicPartition, int]:
    """The offset to read of each partition: the lowest wanted one whose answer is not known, on
    partitions not in `skip` (read already this cycle) and topics not `denied` until after `now`."""
    first: dict[TopicPartition, int] = {}
    for key in sorted(wanted):
        topic, partition, offset = key
        tp = (topic, partition)
        if key in known or tp in first or tp in skip or denied.get(topic, 0.0) > now:
            continue
        first[tp] = offset
    return first


class MessageTimesSource:
    """Decides which offsets to read, reads them, and keeps the answers between cycles."""

    def __init__(
        self, mode: LagSecondsMode, client_properties: Mapping[str, Any], retry_denied: float
    ) -> None:
        self.mode = mode
        self._reader = PartitionReader(client_properties)
        self._reading = threading.Lock()
        """Held while the reader reads: one consumer, one read at a time."""
        self._pool: ThreadPoolExecutor | None = None
        self._first_end: dict[TopicPartition, int] = {}
        self._last_end: dict[TopicPartition, int] = {}
        self._known: dict[Key, float] = {}
        self._denied: dict[str, float] = {}
        self._retry_denied = retry_denied
        self.reads: dict[str, int] = {}

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        if self._reading.acquire(timeout=5.0):  # an early read still running has its deadline
            try:
                self._reader.close()
            finally:
                self._reading.release()

    def start_early(
        self, committed: Mapping[str, Mapping[TopicPartition, int]], timeout_seconds: float
    ) -> EarlyReads | None:
        """Start reading, in a worker thread, the partitions that lag for certain before this
        cycle's log ends are read (see the module docstring); None when there is nothing to read
        or the reader is still busy (an earlier read not done by its deadline)."""
        first = first_unknown(self._early(committed), self._known, (), self._denied,
                              time.monotonic())  # fmt: skip
        if not first:
            return None
        if not self._reading.acquire(blocking=False):
            return None
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="message-times")
        try:
            answers = self._pool.submit(self._read_locked, first, timeout_seconds)
        except RuntimeError:  # closed meanwhile
            self._reading.release()
            return None
        return EarlyReads(first, answers)

    def _read_locked(
        self, first: Mapping[TopicPartition, int], timeout_seconds: float
    ) -> dict[TopicPartition, Read]:
        try:
            return self._reader.read(first, timeout_seconds)
        finally:
            self._reading.release()

    def fetch(
        self,
        committed: Mapping[str, Mapping[TopicPartition, int]],
        offsets: Mapping[TopicPartition, Offsets],
        taken_at: float,
        timeout_seconds: float,
        early: EarlyReads | None = None,
    ) -> MessageTimes:
        """This cycle's message times for the lagging partitions (see the module docstring):
        the answers of `early` (this cycle's `start_early`), and a read of the rest."""
        deadline = time.monotonic() + max(0.0, timeout_seconds)
        self._observe(offsets)
        wanted = self._wanted(committed, offsets)
        kept = {k: v for k, v in self._known.items() if k in wanted}
        times = dict(kept)
        read: dict[TopicPartition, tuple[int, Read]] = {}
        if early is not None:
            try:
                answers = early.answers.result(timeout=max(0.0, deadline - time.monotonic()))
            except FutureTimeout:
                answers = {}
            read.update(_paired(early.first, answers))
        late = first_unknown(wanted, kept, read, self._denied, time.monotonic())
        if late:
            if self._reading.acquire(timeout=max(0.0, deadline - time.monotonic())):
                try:
                    answers = self._reader.read(late, max(0.0, deadline - time.monotonic()))
                finally:
                    self._reading.release()
            else:
                answers = {}
            read.update(_paired(late, answers))
        now = time.monotonic()
        for tp, (offset, answer) in read.items():
            self.reads[answer.outcome] = self.reads.get(answer.outcome, 0) + 1
            key = (*tp, offset)
            if key in wanted:  # an early read of a partition whose log end went back: dropped
                if answer.outcome == "found":  # a message's timestamp never changes: kept
                    times[key] = kept[key] = answer.timestamp
                elif answer.outcome == "end":  # nothing to consume now; asked again next cycle
                    times[key] = taken_at
            if answer.outcome == "denied":
                self._denied[tp[0]] = now + self._retry_denied
                log.info("no Read on topic, lag seconds interpolated topic=%r reason=%r",
                         tp[0], answer.reason)  # fmt: skip
        self._known = kept
        return MessageTimes(self.mode, times, dict(self.reads))

    def _early(self, committed: Mapping[str, Mapping[TopicPartition, int]]) -> set[Key]:
        """The committed offsets that lag for certain before this cycle's log ends are known:
        below the last cycle's log end (`exact`), below the first log end seen (`auto`)."""
        bound = self._last_end if self.mode == "exact" else self._first_end
        out: set[Key] = set()
        for by_tp in committed.values():
            for tp, offset in by_tp.items():
                end = bound.get(tp)
                if end is not None and offset < end:
                    out.add((*tp, offset))
        return out

    def _observe(self, offsets: Mapping[TopicPartition, Offsets]) -> None:
        first, last = self._first_end, self._last_end
        for tp, o in offsets.items():
            if o.end < 0:
                continue
            before = last.get(tp)
            if before is None or o.end < before:
                first[tp] = o.end
            last[tp] = o.end
        for tp in [tp for tp in last if tp not in offsets]:
            del last[tp]
            first.pop(tp, None)

    def _wanted(
        self,
        committed: Mapping[str, Mapping[TopicPartition, int]],
        offsets: Mapping[TopicPartition, Offsets],
    ) -> set[Key]:
        exact = self.mode == "exact"
        first_end = self._first_end
        out: set[Key] = set()
        for by_tp in committed.values():
            for tp, offset in by_tp.items():
                o = offsets.get(tp)
                if o is None or offset >= o.end:
                    continue
                if exact or offset < first_end.get(tp, o.end):
                    out.add((*tp, offset))
        return out


def _paired(
    asked: Mapping[TopicPartition, int], answers: Mapping[TopicPartition, Read]
) -> dict[TopicPartition, tuple[int, Read]]:
    """Each partition asked, with the offset asked and its answer (none in time: a timeout)."""
    return {tp: (offset, answers.get(tp, Read("timeout"))) for tp, offset in asked.items()}
