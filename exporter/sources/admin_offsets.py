"""The `offsets` stage of the Admin API source: log-end and log-start offsets, read per leader.

Why not the AdminClient's `list_offsets`: it makes one Python future per partition and spec (two
futures for each of 10,000 partitions in the large benchmark), and building, waiting for and
reading them cost more CPU than the requests themselves (docs/benchmarks.md). Here the offsets
are read with `offsets_for_times` of librdkafka consumers instead, which answers a list of
partitions with one C call and no future:

- a consumer is only ever used for `offsets_for_times`: it never subscribes, is never assigned
  a partition, never commits and fetches nothing. librdkafka insists on a `group.id`
  (`OFFSETS_GROUP_ID`): it looks up that group's coordinator at start (`FindCoordinator`) and
  does nothing else with it, so it never shows up as a group;
- the timestamps are Kafka's special ones: -1 asks the log end, -2 the log start, exactly the
  `ListOffsets` request that `OffsetSpec.latest()` and `OffsetSpec.earliest()` send;
- `isolation.level=read_uncommitted`, as the Admin API asks by default: the log end is the high
  watermark, which lag is measured against, not the last stable offset that a `read_committed`
  consumer (librdkafka's default) would get while a transaction is open;
- the partitions split by leader broker (this cycle's metadata) and spec, each leader's read in
  lists of at most `CHUNK` partitions (a short list costs librdkafka far less per partition than
  a long one), the leaders and specs at once in a few threads (the C call releases the GIL), each
  on a consumer of its own (confluent-kafka lets one thread at a time into a consumer) and each
  call given the stage's deadline: a call fails as a whole when its leader does not answer, so
  splitting by leader keeps a down or slow broker to its own partitions. Partitions without a
  leader are not asked at all (librdkafka would wait for one until the deadline). What was not
  read is carried from the last cycle (`carry_offsets`), a log start not read (its log end read)
  likewise;
- librdkafka refreshes a consumer's metadata of topics it is not assigned only every few minutes,
  so after a leader change an old consumer may keep asking the old leader (down, or no leader any
  more) until its call times out. So when a partition's leader differs from the last cycle's,
  every consumer is replaced before the read, and a fresh one reads the new leaders at once.

The consumers live beside the AdminClient, with the same client settings (security, secrets), are
replaced when the client is (`replace`) and closed with it.
"""

from __future__ import annotations

import contextlib
import logging
import queue
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any

from confluent_kafka import Consumer, KafkaException, TopicPartition

from exporter.sources.admin_convert import carry_offsets, carry_starts, new_client
from exporter.sources.admin_model import Offsets
from exporter.sources.admin_model import TopicPartition as TP
from exporter.sources.stages import Deadline, StageFailed, describe_error, is_timeout

log = logging.getLogger(__name__)

OFFSETS_GROUP_ID = "kafka-vitals-log-offsets"
"""The `group.id` librdkafka requires of a consumer; never joined or committed to."""
CONSUMER_PROPERTIES: Mapping[str, Any] = {
    "group.id": OFFSETS_GROUP_ID,
    "enable.auto.commit": False,
    "enable.auto.offset.store": False,
    "isolation.level": "read_uncommitted",
}
LOG_END, LOG_START = -1, -2
"""`ListOffsets` timestamps: the log end (high watermark) and the log start of a partition."""
CHUNK = 500
"""Partitions per call at most. librdkafka's cost per partition grows with the length of the list
(large benchmark, log ends and starts of 10,000 partitions: 1.28 s of CPU in one list per spec,
0.41 s in lists of 2,000, 0.15 s in lists of 500, 0.10 s in lists of 250), and every list is one
`ListOffsets` request: 500 keeps both small."""
THREADS = 4
"""Calls in flight at once, each on a consumer of its own (made when first needed): more calls
queue behind them (one call per leader and spec, one request each)."""

_Call = tuple[int, int, list[TP]]
"""(leader, timestamp, partitions) of one `offsets_for_times` call."""


def by_leader(partitions: Iterable[TP], leaders: Mapping[TP, int]) -> dict[int, list[TP]]:
    """The partitions grouped by their leader; those without one (or unknown) left out."""
    out: dict[int, list[TP]] = {}
    for tp in partitions:
        leader = leaders.get(tp, -1)
        if leader >= 0:
            out.setdefault(leader, []).append(tp)
    return out


def leaders_moved(last: Mapping[TP, int], now: Mapping[TP, int]) -> bool:
    """Whether a partition known last cycle has another leader now (or none, or one again). A new
    partition is no reason to replace the consumers: they ask the metadata of a topic never seen."""
    return any(last.get(tp, leader) != leader for tp, leader in now.items())


class OffsetsReader:
    """Reads log-end and log-start offsets per leader; keeps the last cycle's for carrying."""

    def __init__(self, props: Mapping[str, Any], request_timeout: float) -> None:
        """`props`: the AdminClient's librdkafka properties; `request_timeout`: the cap of one
        call (`kafka.request_timeout_seconds`). Invalid settings: ValueError, at once."""
        self._props = {**props, **CONSUMER_PROPERTIES}
        self._cap = request_timeout
        self._free: queue.SimpleQueue[Consumer] = queue.SimpleQueue()
        self._free.put(self._new_consumer())
        self._pool = ThreadPoolExecutor(THREADS, thread_name_prefix="offsets")
        self._last: dict[TP, Offsets] = {}
        self._leaders: dict[TP, int] | None = None
        self._pending: list[Future[Any]] = []

    def _new_consumer(self) -> Consumer:
        return new_client(Consumer, self._props)

    def replace(self) -> None:
        """Fresh consumers, as the AdminClient is replaced after a timeout; the old ones are
        closed once no call uses them any more (each call ends by its own deadline)."""
        old, pending = self._free, self._pending
        self._free, self._pending = queue.SimpleQueue(), []
        wait(pending, timeout=self._cap + 1.0)
        _close_all(old)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        wait(self._pending, timeout=self._cap + 1.0)
        _close_all(self._free)

    def read(
        self,
        partitions: Sequence[TP],
        log_starts: Sequence[TP],
        leaders: Mapping[TP, int],
        deadline: Deadline,
    ) -> tuple[dict[TP, Offsets], frozenset[TP]]:
        """Log-end offsets of `partitions` and log-start offsets of `log_starts` (a subset of
        them), read by the deadline; those not read carried from the last cycle (and the set of
        carried ones). StageFailed (timed out) when not one log end could be read."""
        if not partitions:
            self._last = {}
            return {}, frozenset()
        if self._leaders is not None and leaders_moved(self._leaders, leaders):
            log.info("leaders changed since the last cycle: fresh consumers")
            self.replace()
        self._leaders = dict(leaders)
        calls: list[_Call] = [
            (leader, spec, tps)
            for spec, asked in ((LOG_END, partitions), (LOG_START, log_starts))
            for leader, tps in by_leader(asked, leaders).items()
        ]
        free = self._free
        futures = {self._pool.submit(self._call, free, c, deadline): c for c in calls}
        self._pending = [f for f in self._pending if not f.done()] + list(futures)
        wait(futures, timeout=deadline.remaining())
        end: dict[TP, int] = {}
        start: dict[TP, int] = {}
        for fut, (leader, spec, tps) in futures.items():
            if not fut.done():
                log.info("log offsets not answered by the deadline leader=%d partitions=%d",
                         leader, len(tps))  # fmt: skip
                continue
            (end if spec == LOG_END else start).update(fut.result())
        carry_starts(log_starts, start, self._last)
        out = {tp: Offsets(start=start.get(tp, -1), end=e) for tp, e in end.items()}
        missing = len(partitions) - len(out)
        if missing == len(partitions):
            raise StageFailed(f"no log-end offset for any of {missing} partitions", None, True)
        out, carried = carry_offsets(partitions, out, self._last)
        if missing:
            log.info("log-end offset missing partitions=%d of=%d carried=%d",
                     missing, len(partitions), len(carried))  # fmt: skip
        self._last = out
        return out, carried

    def _call(
        self, free: queue.SimpleQueue[Consumer], call: _Call, deadline: Deadline
    ) -> dict[TP, int]:
        """One leader's partitions for one spec, in a pool thread, on a consumer of its own
        (calls on one consumer take turns), in lists of at most `CHUNK`: the offsets read, by
        partition. A list that fails as a whole (the leader down or slow) ends the leader's
        reads for this cycle: the rest would wait as long for nothing.

        A consumer whose call failed, as a whole or for some partitions, is closed: librdkafka
        refreshes a consumer's metadata of topics it is not assigned only every few minutes, so
        after a leader change it may keep asking the old leader (not the leader any more, or
        down), or fail at once for a partition it still sees without one. A failure other than
        a timeout is tried once more on a fresh consumer."""
        leader, spec, tps = call
        out: dict[TP, int] = {}
        consumer: Consumer | None = None
        try:
            for i in range(0, len(tps), CHUNK):
                chunk = tps[i : i + CHUNK]
                asked = [TopicPartition(topic, partition, spec) for topic, partition in chunk]
                for attempt in (1, 2):
                    if consumer is None:
                        try:
                            consumer = free.get_nowait()
                        except queue.Empty:
                            consumer = self._new_consumer()
                    try:
                        answers = consumer.offsets_for_times(
                            asked, timeout=deadline.request_timeout(self._cap)
                        )
                    except (KafkaException, RuntimeError) as exc:
                        with contextlib.suppress(Exception):
                            consumer.close()
                        consumer = None
                        log.info("log offsets failed leader=%d spec=%d partitions=%d attempt=%d "
                                 "error=%r", leader, spec, len(chunk), attempt,
                                 describe_error(exc))  # fmt: skip
                        if is_timeout(exc) or deadline.expired:
                            return out
                        continue
                    out.update(offsets_of(chunk, answers))
                    failed = sum(1 for a in answers if a.error is not None)
                    if not failed or attempt == 2 or deadline.expired:
                        break
                    with contextlib.suppress(Exception):
                        consumer.close()
                    consumer = None
                    log.info("log offsets partly failed, asked again on a fresh consumer "
                             "leader=%d spec=%d failed=%d of=%d", leader, spec, failed,
                             len(chunk))  # fmt: skip
                else:
                    return out
            return out
        finally:
            if consumer is not None:
                free.put(consumer)


def _close_all(free: queue.SimpleQueue[Consumer]) -> None:
    while True:
        try:
            consumer = free.get_nowait()
        except queue.Empty:
            return
        with contextlib.suppress(Exception):
            consumer.close()


def offsets_of(asked: Sequence[TP], answers: Sequence[Any]) -> dict[TP, int]:
    """The offsets of one call's answers, keyed by the partitions asked (their label strings kept
    across cycles); errors and missing offsets left out. librdkafka answers in the order asked;
    should it not, the answers are matched by name."""
    if len(answers) != len(asked) or any(
        a.partition != tp[1] or a.topic != tp[0] for tp, a in zip(asked, answers, strict=False)
    ):
        keys = {tp: tp for tp in asked}
        pairs = [(keys.get((a.topic, a.partition)), a) for a in answers]
    else:
        pairs = list(zip(asked, answers, strict=True))
    out: dict[TP, int] = {}
    for tp, answer in pairs:
        if tp is None:
            continue
        if answer.error is not None or answer.offset < 0:
            log.debug("log offset not read topic=%r partition=%d error=%r", tp[0], tp[1],
                      str(answer.error) if answer.error is not None else "no offset")  # fmt: skip
            continue
        out[tp] = int(answer.offset)
    return out
