"""The Schema Registry source: subjects, versions and compatibility through the Confluent API.

Runs as a source runner of the poller (stage `schema_registry`), beside the Admin API stages.
One poll, every request within one deadline (`schema_registry.timeout_seconds`):

1. `GET /config`: the global compatibility level. Its duration is the health latency.
2. `GET /subjects?offset=&limit=` page by page (Apicurio answers at most 1000 per request).
3. New schema ids: `GET /schemas/ids/<n>/versions` from the highest id seen so far upwards, until
   three ids in a row do not exist. Each answer names the subjects and versions using that id:
   those subjects are read again now. Ids only grow, so this finds every registration of new
   content in a few requests.
4. Per subject, for new subjects, subjects named in step 3 and then the `refresh_per_cycle`
   subjects read longest ago: `GET /subjects/<s>/versions`, `GET /config/<s>?defaultToGlobal=false`,
   and when the versions changed `GET /subjects/<s>/versions/latest` (schema type and id). These
   go through `concurrency` kept-alive connections at once. The oldest are read only while
   `refresh_budget_seconds` (from the start of the poll) lasts: those not started by then wait
   for the next poll, so a slow registry shortens the refresh instead of lengthening the poll.

The other subjects keep what an earlier poll read. Any failure fails the poll (one `RegistryError`,
one line); what was read before stays cached for the next poll, but nothing of a failed poll is
published.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote

from exporter.config import SchemaRegistryConfig
from exporter.sources.admin_model import ClusterView
from exporter.sources.registry_http import NOT_FOUND, RegistryHttp
from exporter.sources.registry_model import (
    CompatibilitySource,
    RegistryError,
    RegistryFailure,
    RegistryReading,
    SubjectInfo,
)
from exporter.sources.stages import RunnerKind, SourceFailed

log = logging.getLogger(__name__)

READING_KEY = "schema_registry"
"""The key of the `RegistryReading` in what the runner's `poll` returns."""
ID_MISSES = 3
"""Schema ids that must be missing in a row before the probe for new ids stops."""
ID_PROBES_MAX = 1000
"""New ids probed per poll at most; the rest follow in the next polls."""


@dataclass(frozen=True, slots=True)
class _Cached:
    info: SubjectInfo
    versions: tuple[int, ...]
    read_at: float


def _compat(answer: Any, where: str) -> str:
    if isinstance(answer, dict):
        level = answer.get("compatibilityLevel", answer.get("compatibility"))
        if isinstance(level, str) and level:
            return level
    raise RegistryError(f"GET {where}: no compatibility level in the answer", "bad_answer")


class SchemaRegistrySource:
    """Reads the registry; keeps what it read per subject between polls."""

    name = READING_KEY
    kind: RunnerKind = "schema_registry"

    def __init__(self, config: SchemaRegistryConfig) -> None:
        self._config = config
        self._http = RegistryHttp(config)
        self._pool = ThreadPoolExecutor(max_workers=config.concurrency,
                                        thread_name_prefix="registry")  # fmt: skip
        self._cache: dict[str, _Cached] = {}
        self._max_id = 0

    def poll(
        self, cluster: ClusterView | None = None, timeout: float | None = None
    ) -> Mapping[str, object]:
        """The runner interface: `{READING_KEY: RegistryReading}`; on failure `SourceFailed`
        carrying `{READING_KEY: RegistryFailure}`."""
        try:
            return {READING_KEY: self.read(timeout)}
        except RegistryError as exc:
            failure = RegistryFailure(exc.kind, str(exc))
            raise SourceFailed(str(exc), {READING_KEY: failure}) from exc

    def read(self, timeout: float | None = None) -> RegistryReading:
        limit = self._config.timeout_seconds
        deadline = time.monotonic() + (min(limit, timeout) if timeout else limit)
        started, t0 = time.time(), time.monotonic()
        requests0 = self._http.requests
        global_level = _compat(self._http.get("/config", deadline), "/config")
        latency = time.monotonic() - t0
        names = self._subjects(deadline)
        touched = self._new_ids(deadline)
        listed = set(names)
        for gone in self._cache.keys() - listed:
            del self._cache[gone]
        stale = sorted((c.read_at, n) for n, c in self._cache.items() if n not in touched)
        must = [n for n in names if n not in self._cache]
        must = list(dict.fromkeys(must + sorted(touched & listed)))
        first = set(must)
        oldest = [n for _, n in stale[: self._config.refresh_per_cycle] if n not in first]
        refresh = must + oldest
        now = time.monotonic()
        budget_end = t0 + self._config.refresh_budget_seconds  # the whole poll's budget
        futures = [self._pool.submit(self._subject, n, global_level, deadline, now)
                   for n in refresh]  # fmt: skip
        for fut in futures[: len(must)]:
            fut.exception()  # wait: new and changed subjects are read whatever the budget
        # the workers start the next request as soon as one ends, so the oldest not started
        # when the budget is spent are cancelled all at once (the running ones end)
        wait(futures[len(must) :], timeout=max(0.0, budget_end - time.monotonic()))
        for fut in futures[len(must) :]:
            fut.cancel()
        done = 0
        for name, fut in zip(refresh, futures, strict=True):
            if fut.cancelled():
                continue  # left for the next poll
            got = fut.result()
            done += 1
            if got is None:
                listed.discard(name)
                self._cache.pop(name, None)
            else:
                self._cache[name] = got
        subjects = {n: self._relabel(self._cache[n].info, global_level)
                    for n in names if n in listed and n in self._cache}  # fmt: skip
        if subjects:
            self._max_id = max(self._max_id, max(s.latest_id for s in subjects.values()))
        reading = RegistryReading(
            taken_at=started,
            latency_seconds=latency,
            seconds=time.monotonic() - t0,
            global_compatibility=global_level,
            subjects=subjects,
            requests=self._http.requests - requests0,
            refreshed=done,
            max_schema_id=self._max_id,
        )
        log.debug("registry polled subjects=%d refreshed=%d requests=%d seconds=%.3f",
                  len(subjects), len(refresh), reading.requests, reading.seconds)  # fmt: skip
        return reading

    @staticmethod
    def _relabel(info: SubjectInfo, global_level: str) -> SubjectInfo:
        """A subject that inherits follows the global level as it is now."""
        if info.compatibility_source == "global" and info.compatibility != global_level:
            return replace(info, compatibility=global_level)
        return info

    def _subjects(self, deadline: float) -> list[str]:
        size = self._config.page_size
        names: list[str] = []
        offset = 0
        while True:
            page = self._http.get(f"/subjects?offset={offset}&limit={size}", deadline)
            if page is NOT_FOUND or not isinstance(page, list):
                raise RegistryError("GET /subjects: not a list of subjects", "bad_answer")
            if not all(isinstance(n, str) for n in page):
                raise RegistryError("GET /subjects: a subject name is not a string", "bad_answer")
            names += page
            if len(page) < size:
                return list(dict.fromkeys(names))
            offset += size

    def _new_ids(self, deadline: float) -> set[str]:
        """Subjects that use schema ids above the highest seen so far."""
        if not self._cache:
            return set()  # first poll: every subject is read anyway
        touched: set[str] = set()
        misses, n = 0, self._max_id
        for _ in range(ID_PROBES_MAX):
            if misses >= ID_MISSES:
                break
            n += 1
            answer = self._http.get(f"/schemas/ids/{n}/versions", deadline)
            if answer is NOT_FOUND:
                misses += 1
                continue
            misses = 0
            self._max_id = n
            touched.update(_subjects_of(answer, n))
        return touched

    def _subject(self, name: str, global_level: str, deadline: float,
                 now: float) -> _Cached | None:  # fmt: skip
        """The subject read now, or None when it no longer exists."""
        q = quote(name, safe="")
        versions = self._http.get(f"/subjects/{q}/versions", deadline)
        if versions is NOT_FOUND:
            return None
        if (
            not isinstance(versions, list)
            or not versions
            or not all(isinstance(v, int) for v in versions)
        ):
            raise RegistryError(f"GET /subjects/{name}/versions: not a list of versions",
                                "bad_answer")  # fmt: skip
        answer = self._http.get(f"/config/{q}?defaultToGlobal=false", deadline)
        source: CompatibilitySource
        if answer is NOT_FOUND:
            level, source = global_level, "global"
        else:
            level = _compat(answer, f"/config/{name}")
            source = "unknown" if level == global_level else "subject"
        cached = self._cache.get(name)
        key = tuple(sorted(versions))
        if cached is not None and cached.versions == key:
            info = cached.info
        else:
            latest = self._http.get(f"/subjects/{q}/versions/latest", deadline)
            if latest is NOT_FOUND:
                return None
            info = _latest(name, latest, len(key))
        info = replace(info, compatibility=level, compatibility_source=source)
        return _Cached(info=info, versions=key, read_at=now)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._http.close()


def _subjects_of(answer: Any, schema_id: int) -> Iterable[str]:
    if not isinstance(answer, list):
        raise RegistryError(f"GET /schemas/ids/{schema_id}/versions: not a list", "bad_answer")
    for item in answer:
        if isinstance(item, dict) and isinstance(item.get("subject"), str):
            yield item["subject"]


def _latest(name: str, answer: Any, count: int) -> SubjectInfo:
    where = f"GET /subjects/{name}/versions/latest"
    if not isinstance(answer, dict):
        raise RegistryError(f"{where}: not an object", "bad_answer")
    version, schema_id = answer.get("version"), answer.get("id")
    if not isinstance(version, int) or not isinstance(schema_id, int):
        raise RegistryError(f"{where}: no version and id", "bad_answer")
    schema_type = answer.get("schemaType") or "AVRO"
    return SubjectInfo(
        name=name,
        versions=count,
        latest_version=version,
        latest_id=schema_id,
        schema_type=str(schema_type),
        compatibility="",
        compatibility_source="global",
    )
