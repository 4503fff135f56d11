"""Committed offsets read from the `__consumer_offsets` log instead of asked group by group.

A background thread owns one consumer that is only *assigned* the partitions of the offsets topic
(it never subscribes, never joins a group, never commits; librdkafka insists on a `group.id`, which
is set but never used). It reads every partition from the start, with
`isolation.level=read_committed` so that an offset committed inside a transaction counts only once
the transaction commits (aborted ones never), then follows the log. Records are parsed and applied
by the pure `offsets_log_state`.

Never half-read: when a partition is assigned, its end (the last stable offset) is noted; its
groups are served only once the reader has passed that end. Until every partition followed at
start has, `ready` is False and `committed()` raises `LogNotReady`: no committed offsets, so no
lag series. A partition followed later is left out of the view until it is read to its own end.
Each cycle, `committed(deadline)` asks for the partitions' current ends and waits until the reader
has passed them (or the deadline: `LogBehind`, with the view so far), so that the committed offsets
are read before the log-end offsets of the data topics, as the Admin API source does.

`follow` (optional; without it, every partition) returns the offsets partitions to follow, or
None while that is not known yet (nothing is assigned, not ready); it is asked about once a
second. Broker scope passes the partitions its broker leads (`admin.followed_offsets_partitions`).

`status()` returns a plain `OffsetsLogStatus` for the exporter's own series. `denied` is set
when the principal may not read or describe the offsets topic (mode `auto` then uses the Admin API).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    IsolationLevel,
    KafkaError,
    KafkaException,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient, OffsetSpec  # type: ignore[attr-defined]

from exporter.config import Config
from exporter.sources.admin_convert import RdkafkaLog, client_properties
from exporter.sources.admin_model import OffsetsLogStatus
from exporter.sources.offsets_log_state import CommittedView, OffsetsLogState
from exporter.sources.stages import Deadline, describe_error

log = logging.getLogger(__name__)

OFFSETS_TOPIC = "__consumer_offsets"
READER_GROUP_ID = "kafka-vitals-offsets-reader"
"""Required by librdkafka for a consumer; never joined (assign only, no commits, no offsets
fetched)."""
BATCH = 2000
POLL_SECONDS = 0.2
FOLLOW_CHECK_SECONDS = 1.0
RETRY_SECONDS = 5.0
DENIED_RETRY_SECONDS = 60.0
_DENIED = frozenset(
    {
        KafkaError.TOPIC_AUTHORIZATION_FAILED,
        KafkaError.CLUSTER_AUTHORIZATION_FAILED,
        KafkaError.GROUP_AUTHORIZATION_FAILED,
    }
)


class LogNotReady(Exception):
    """The log has not been read up to its end as of start (or the reader is not running)."""


class LogBehind(Exception):
    """The reader did not reach the current end of the log before the deadline."""

    def __init__(self, reason: str, view: CommittedView) -> None:
        super().__init__(reason)
        self.view = view


@dataclass(slots=True)
class _Progress:
    reached: dict[int, int] = field(default_factory=dict)
    """Offsets partition -> the next offset the reader will read."""
    start_end: dict[int, int] = field(default_factory=dict)
    """Offsets partition -> its end when assigned; not loaded until reached."""
    loaded: set[int] = field(default_factory=set)

    def advance(self, partition: int, offset: int) -> None:
        if offset > self.reached.get(partition, 0):
            self.reached[partition] = offset
        end = self.start_end.get(partition)
        if end is not None and self.reached.get(partition, 0) >= end:
            self.loaded.add(partition)
            del self.start_end[partition]

    def behind(self, ends: Mapping[int, int]) -> int:
        return sum(max(0, e - self.reached.get(p, 0)) for p, e in ends.items())


class OffsetsLogSource:
    """Follows the offsets log in a thread; see the module docstring."""

    def __init__(
        self,
        config: Config,
        follow: Callable[[], frozenset[int] | None] | None = None,
        topic: str = OFFSETS_TOPIC,
    ) -> None:
        self._config = config
        self._follow = follow
        self._topic = topic
        props = client_properties(config.kafka)
        props["logger"] = RdkafkaLog(logging.getLogger("exporter.librdkafka"))
        self._admin_props = dict(props)
        self._admin = AdminClient(self._admin_props)
        self._consumer_props = {
            **props,
            "group.id": READER_GROUP_ID,
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "isolation.level": "read_committed",
            "enable.partition.eof": True,
            "auto.offset.reset": "earliest",
            "fetch.max.bytes": 16 * 1024 * 1024,
        }
        self._state = OffsetsLogState()
        self._progress = _Progress()
        self._followed: frozenset[int] = frozenset()
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._denied = False
        self._assigned = False
        """The first assignment was made (possibly of no partition at all)."""
        self._loaded_once = False
        self._error = ""
        self._last_ends: dict[int, int] = {}
        self.started_at = time.monotonic()
        self.loaded_seconds: float | None = None
        """Seconds from start until the log was read up to its end as of start."""

    # ---- life cycle ------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="offsets-log", daemon=True)
        self._thread.start()

    def close(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    # ---- what the poller asks --------------------------------------------------------------

    @property
    def ready(self) -> bool:
        with self._cond:
            return self._ready_locked()

    @property
    def denied(self) -> bool:
        return self._denied

    def status(self) -> OffsetsLogStatus:
        with self._cond:
            ends = self._last_ends or self._progress.start_end
            return OffsetsLogStatus(
                ready=self._ready_locked(),
                denied=self._denied,
                records=self._state.records,
                skipped=dict(self._state.skipped),
                behind=self._progress.behind(ends),
                partitions=len(self._followed),
                error=self._error,
                loaded_seconds=self.loaded_seconds,
            )

    def committed(self, deadline: Deadline) -> CommittedView:
        """The committed offsets, read up to the log's end as of this call (see the docstring)."""
        with self._cond:
            if not self._ready_locked():
                behind = self._progress.behind(self._progress.start_end)
                why = self._error or f"{behind} records left to read"
                raise LogNotReady(f"offsets log not read to its end yet: {why}")
            followed = self._followed
        ends = self._ends(followed, deadline)
        with self._cond:
            self._last_ends = ends
            while not self._stop.is_set():
                # a partition no longer followed, or still being read, is not waited for
                behind = self._progress.behind(
                    {p: e for p, e in ends.items() if p in self._progress.loaded}
                )
                if not behind or deadline.expired:
                    break
                self._cond.wait(min(0.05, deadline.remaining()))
            view = self._state.view(self._progress.loaded)
        if behind:
            raise LogBehind(f"offsets log {behind} records behind its end at the deadline", view)
        return view

    def _ready_locked(self) -> bool:
        """Read to the end as of start once (latched: a partition followed later is served
        once read to its own end, and left out of the view until then)."""
        if not self._loaded_once and self._assigned and self._followed <= self._progress.loaded:
            self._loaded_once = True
        return self._loaded_once

    def _ends(self, partitions: frozenset[int], deadline: Deadline) -> dict[int, int]:
        """The last stable offset of each partition (read_committed); asked again, with a fresh
        client, until the deadline while a partition answers with an error (after a restart)."""
        cap = self._config.kafka.request_timeout_seconds
        out: dict[int, int] = {}
        while True:
            missing = [p for p in sorted(partitions) if p not in out]
            if not missing:
                return out
            futures = self._admin.list_offsets(
                {TopicPartition(self._topic, p): OffsetSpec.latest() for p in missing},  # type: ignore[no-untyped-call]
                isolation_level=IsolationLevel.READ_COMMITTED,
                request_timeout=deadline.request_timeout(cap),
            )
            error: BaseException | None = None
            for tp, fut in futures.items():
                try:
                    out[int(tp.partition)] = int(fut.result(timeout=deadline.remaining()).offset)
                except Exception as exc:
                    error = exc
            if error is None:
                continue
            # librdkafka 2.x may keep a stale leader epoch after a broker restart (as the
            # Admin API source notes): a fresh client recovers at once
            self._admin = AdminClient(self._admin_props)
            if deadline.remaining() < 0.2:
                raise error
            time.sleep(0.2)

    # ---- the reader thread -----------------------------------------------------------------

    def _run(self) -> None:
        consumer: Any = None
        while not self._stop.is_set():
            try:
                if consumer is None:
                    consumer = Consumer(self._consumer_props)
                self._read(consumer)
            except Exception as exc:  # one line, then try again; the poller reports not ready
                denied = _is_denied(exc)
                self._denied |= denied
                self._error = describe_error(exc)
                log.warning("offsets log reader failed denied=%s error=%r", denied, self._error)
                self._stop.wait(DENIED_RETRY_SECONDS if denied else RETRY_SECONDS)
        if consumer is not None:
            with contextlib.suppress(Exception):
                consumer.close()

    def _read(self, consumer: Any) -> None:
        last_check = 0.0
        while not self._stop.is_set():
            now = time.monotonic()
            if now - last_check >= FOLLOW_CHECK_SECONDS:
                self._refollow(consumer)
                last_check = now
            messages = consumer.consume(BATCH, POLL_SECONDS)
            if not messages:
                continue
            with self._cond:
                for msg in messages:
                    err = msg.error()
                    partition = msg.partition()
                    if err is None:
                        self._state.apply(partition, msg.key(), msg.value())
                        self._progress.advance(partition, msg.offset() + 1)
                    elif err.code() == KafkaError._PARTITION_EOF:
                        self._progress.advance(partition, msg.offset())
                    elif err.code() in _DENIED:
                        raise KafkaException(err)
                    else:
                        log.info(
                            "offsets log read error error=%r", describe_error(KafkaException(err))
                        )
                for tp in consumer.position(
                    [TopicPartition(self._topic, p) for p in self._followed]
                ):
                    if tp.offset >= 0:  # past control records (transaction markers)
                        self._progress.advance(tp.partition, tp.offset)
                self._note_loaded()
                self._cond.notify_all()

    def _refollow(self, consumer: Any) -> None:
        """Assign what `follow` asks for (all when None); read new ones from the start."""
        md = consumer.list_topics(self._topic, timeout=self._config.kafka.request_timeout_seconds)
        meta = md.topics.get(self._topic)
        if meta is None or meta.error is not None:
            err = meta.error if meta is not None else None
            raise KafkaException(err) if err is not None else RuntimeError("no offsets topic")
        wanted_all = frozenset(int(p) for p in meta.partitions)
        if self._follow is None:
            wanted = wanted_all
        else:
            asked = self._follow()
            if asked is None:  # not known yet (no metadata): wait, assign nothing
                return
            wanted = frozenset(asked) & wanted_all
        if wanted == self._followed:
            with self._cond:
                self._assigned = True
                self._note_loaded()
            return
        added, removed = wanted - self._followed, self._followed - wanted
        ends = self._ends(added, Deadline.after(self._config.poll.stage_timeout_seconds))
        if removed:
            consumer.incremental_unassign([TopicPartition(self._topic, p) for p in removed])
        with self._cond:
            for p in removed:
                self._state.forget(p)
                self._progress.loaded.discard(p)
                self._progress.reached.pop(p, None)
                self._progress.start_end.pop(p, None)
            for p in added:
                self._state.forget(p)
                self._progress.reached[p] = 0
                self._progress.loaded.discard(p)
                self._progress.start_end[p] = ends[p]
                self._progress.advance(p, 0)  # an empty partition is loaded at once
            self._followed = wanted
            self._assigned = True
            self._error = ""
            self._note_loaded()
        if added:
            consumer.incremental_assign(
                [TopicPartition(self._topic, p, OFFSET_BEGINNING) for p in sorted(added)]
            )
        log.info("offsets log following partitions=%d added=%d removed=%d",
                 len(wanted), len(added), len(removed))  # fmt: skip

    def _note_loaded(self) -> None:
        if self.loaded_seconds is None and self._ready_locked():
            self.loaded_seconds = time.monotonic() - self.started_at
            log.info("offsets log read to its end as of start seconds=%.3f records=%d offsets=%d",
                     self.loaded_seconds, self._state.records, self._state.entries)  # fmt: skip


def _is_denied(exc: BaseException) -> bool:
    err = exc.args[0] if exc.args else None
    try:
        return bool(err is not None and hasattr(err, "code") and err.code() in _DENIED)
    except Exception:  # pragma: no cover - a KafkaError-like object that misbehaves
        return False
