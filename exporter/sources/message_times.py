"""Exact lag in seconds: the timestamps of the messages at the lagging groups' committed offsets.

The `message_times` stage of the admin source, after the log-end offsets. With
`poll.lag_seconds_mode`:

- `interpolated`: nothing is read; lag in seconds comes from the log-end history alone.
- `exact`: every partition on which a group lags is read at the group's committed offset.
- `auto`: only where interpolation would extrapolate: the committed offset lies below the first
  log end the exporter saw of the partition (since it started, or since the log end last went
  back), as for every stopped group after a restart, or messages written before the exporter
  started. Inside that history interpolation is within one poll interval and costs nothing.

What is read and how often:
- at most one read per partition per cycle (the lowest offset not known yet; other groups' offsets
  on the same partition follow in the next cycles), all of them in one `PartitionReader.read`
  (batched per broker, with the stage's deadline);
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
import time
from collections.abc import Mapping
from typing import Any

from exporter.config import LagSecondsMode
from exporter.sources.admin_model import MessageTimes, Offsets, TopicPartition
from exporter.sources.partition_reader import PartitionReader

log = logging.getLogger(__name__)

Key = tuple[str, int, int]
"""(topic, partition, offset)"""


class MessageTimesSource:
    """Decides which offsets to read, reads them, and keeps the answers between cycles."""

    def __init__(
        self, mode: LagSecondsMode, client_properties: Mapping[str, Any], retry_denied: float
    ) -> None:
        self.mode = mode
        self._reader = PartitionReader(client_properties)
        self._first_end: dict[TopicPartition, int] = {}
        self._last_end: dict[TopicPartition, int] = {}
        self._known: dict[Key, float] = {}
        self._denied: dict[str, float] = {}
        self._retry_denied = retry_denied
        self.reads: dict[str, int] = {}

    def close(self) -> None:
        self._reader.close()

    def fetch(
        self,
        committed: Mapping[str, Mapping[TopicPartition, int]],
        offsets: Mapping[TopicPartition, Offsets],
        taken_at: float,
        timeout_seconds: float,
    ) -> MessageTimes:
        """This cycle's message times for the lagging partitions (see the module docstring)."""
        self._observe(offsets)
        wanted = self._wanted(committed, offsets)
        known = self._known
        kept = {k: v for k, v in known.items() if k in wanted}
        now = time.monotonic()
        first: dict[TopicPartition, int] = {}
        for key in sorted(wanted):
            topic, partition, offset = key
            tp = (topic, partition)
            if key in kept or tp in first or self._denied.get(topic, 0.0) > now:
                continue
            first[tp] = offset
        times = dict(kept)
        if first:
            answers = self._reader.read(first, timeout_seconds)
            for tp, read in answers.items():
                self.reads[read.outcome] = self.reads.get(read.outcome, 0) + 1
                key = (*tp, first[tp])
                if read.outcome == "found":  # a message's timestamp never changes: kept
                    times[key] = kept[key] = read.timestamp
                elif read.outcome == "end":  # nothing to consume now; asked again next cycle
                    times[key] = taken_at
                if read.outcome == "denied":
                    self._denied[tp[0]] = now + self._retry_denied
                    log.info("no Read on topic, lag seconds interpolated topic=%r reason=%r",
                             tp[0], read.reason)  # fmt: skip
        self._known = kept
        return MessageTimes(self.mode, times, dict(self.reads))

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
