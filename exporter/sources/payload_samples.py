"""Payloads against the schema contract: the newest messages of each topic, checked for the
registry wire format and for schema ids the registry knows.

The `payload_samples` stage of the admin source, after the log-end offsets, when
`schema_registry.payload_sampling` is on. Each cycle:

1. Which partitions: every partition with messages of the topics the value-subject check covers
   (the exported topics, less internal topics and `schema_registry.exclude_topic_patterns`) whose
   per-topic series this instance serves (`scope`: in broker scope the instance that serves the
   cluster-wide series reads every partition's log end of those topics for it), read
   from `max(log start, log end - payload_sample_messages)` up to this cycle's log end, all in one
   `PartitionReader.sample` (assign-only, one Fetch per broker, read_committed).
2. Each value is in the wire format when it starts with the magic byte 0 and a 4-byte big-endian
   schema id (`wire_schema_id`). Tombstones (null values) are no payload and are left out.
3. Schema ids not seen before are looked up with `GET /schemas/ids/<id>` (at most
   `LOOKUPS_PER_CYCLE`, within the same deadline): an answer means registered, a 404 unknown. A
   schema id never changes its schema, so a registered id is kept for good; an unknown one is
   asked again after `UNKNOWN_RECHECK_SECONDS` (it may be registered since). Messages whose id
   is not looked up yet are left out of this cycle's sample, never counted as unknown.

A topic without Read permission is skipped for `poll.topic_config_ttl_seconds` (counted as
`denied` in the reads, logged once); it never fails the stage. A registry that cannot be asked
fails the stage (its series are absent this cycle, never guessed).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Collection, Mapping
from typing import Any

from exporter.config import Config
from exporter.ownership import Share
from exporter.sources.admin_model import Offsets, PayloadSamples, TopicPartition, TopicPayloads
from exporter.sources.filters import is_internal_topic
from exporter.sources.partition_reader import PartitionReader
from exporter.sources.registry_http import NOT_FOUND, RegistryHttp

log = logging.getLogger(__name__)

MAGIC_BYTE = 0
LOOKUPS_PER_CYCLE = 100
"""Schema ids looked up per cycle at most; more follow in the next cycles."""
UNKNOWN_RECHECK_SECONDS = 60.0
"""An id the registry did not know is asked again after this long."""
KNOWN_IDS_MAX = 100_000
"""Registered ids remembered at most (then forgotten all at once, and looked up again)."""


def wire_schema_id(head: bytes) -> int | None:
    """The schema id of a value in the registry wire format (magic byte 0, then the id as 4
    bytes big-endian), or None when the value is not in it."""
    if len(head) < 5 or head[0] != MAGIC_BYTE:
        return None
    return int.from_bytes(head[1:5], "big")


class PayloadSampler:
    """Samples the newest messages, looks up their schema ids, keeps the answers between cycles."""

    def __init__(
        self,
        config: Config,
        client_properties: Mapping[str, Any],
        http: RegistryHttp | None = None,
    ) -> None:
        sr = config.schema_registry
        self._messages = sr.payload_sample_messages
        self._timeout = sr.payload_sample_timeout_seconds
        self._exclude = tuple(re.compile(p) for p in sr.exclude_topic_patterns)
        self._retry_denied = config.poll.topic_config_ttl_seconds
        self._reader = PartitionReader(client_properties)
        self._http = http if http is not None else RegistryHttp(sr)
        self._known: set[int] = set()
        self._unknown: dict[int, float] = {}
        """Schema id -> monotonic time it was found unknown."""
        self._denied: dict[str, float] = {}
        self.reads: dict[str, int] = {}

    def close(self) -> None:
        self._reader.close()
        self._http.close()

    def checked(self, topic: str) -> bool:
        """Whether the topic's payloads are checked (the value-subject check's topics)."""
        return not is_internal_topic(topic) and not any(p.fullmatch(topic) for p in self._exclude)

    def fetch(
        self, offsets: Mapping[TopicPartition, Offsets], share: Share | None, timeout: float
    ) -> PayloadSamples:
        """This cycle's sample (see the module docstring) of the topics whose per-topic series
        are this instance's (`share`; None: every topic)."""
        deadline = time.monotonic() + max(0.0, min(timeout, self._timeout))
        now = time.monotonic()
        wanted: dict[TopicPartition, tuple[int, int]] = {}
        for tp, o in offsets.items():
            first = max(o.start, o.end - self._messages, 0)
            if (
                o.end > first
                and self._denied.get(tp[0], 0.0) <= now
                and self.checked(tp[0])
                and (share is None or share.topic(tp[0]))
            ):
                wanted[tp] = (first, o.end)
        samples = self._reader.sample(wanted, deadline - time.monotonic())
        heads: dict[str, list[bytes]] = {}
        for tp in sorted(samples):
            got = samples[tp]
            self.reads[got.outcome] = self.reads.get(got.outcome, 0) + 1
            if got.outcome == "denied":
                if self._denied.get(tp[0], 0.0) <= now:
                    log.info("no Read on topic, payloads not sampled topic=%r reason=%r",
                             tp[0], got.reason)  # fmt: skip
                self._denied[tp[0]] = now + self._retry_denied
                continue
            if got.outcome in ("found", "end", "timeout") or got.heads:
                heads.setdefault(tp[0], []).extend(h for h in got.heads if h is not None)
        ids = {wire_schema_id(v) for values in heads.values() for v in values}
        ids.discard(None)
        self._look_up(ids, deadline)  # type: ignore[arg-type]
        topics = {t: self._count(values) for t, values in sorted(heads.items())}
        return PayloadSamples(topics, dict(self.reads))

    def _count(self, values: Collection[bytes]) -> TopicPayloads:
        sampled = raw = unknown = 0
        for value in values:
            schema_id = wire_schema_id(value)
            if schema_id is None:
                raw += 1
            elif schema_id in self._unknown:
                unknown += 1
            elif schema_id not in self._known:
                continue  # not looked up yet: left out of this sample
            sampled += 1
        return TopicPayloads(sampled, raw, unknown)

    def _look_up(self, ids: Collection[int], deadline: float) -> None:
        """Ask the registry for the ids not known yet (or unknown for a while)."""
        now = time.monotonic()
        asked = 0
        for schema_id in sorted(ids):
            if schema_id in self._known:
                continue
            since = self._unknown.get(schema_id)
            if since is not None and now - since < UNKNOWN_RECHECK_SECONDS:
                continue
            if asked >= LOOKUPS_PER_CYCLE:
                self._unknown.pop(schema_id, None)  # not asked again yet: not counted
                continue
            asked += 1
            answer = self._http.get(f"/schemas/ids/{schema_id}", deadline)
            if answer is NOT_FOUND:
                if since is None:
                    log.info("schema id unknown to the registry schema_id=%d", schema_id)
                self._unknown[schema_id] = now
            else:
                self._unknown.pop(schema_id, None)
                if len(self._known) >= KNOWN_IDS_MAX:
                    self._known.clear()
                self._known.add(schema_id)
