"""One subject's details from the Schema Registry, and the cold read between polls.

`read_subject` reads one subject: `GET /subjects/<s>/versions`, `GET /config/<s>?defaultToGlobal=
false`, and, when the versions changed since the copy kept, `GET /subjects/<s>/versions/latest`
(schema type and id). The poll (`exporter.sources.registry`) uses it for the subjects it reads
within its budget.

`ColdReader` reads, between polls, the subjects listed but never read (the cold read after a
start), through `cold_read_concurrency` connections of its own: each poll ends by handing it the
subjects still unread, and the next poll stops it when it begins (a read already running ends, so
a poll overlaps at most one subject read per connection). Each subject read is complete or not
kept; each request has the deadline `timeout_seconds`, the bulk listing below as a whole too. A
failure stops the run (one log line); the next successful poll starts it again with what is still
unread.

A run with at least `BULK_MIN` subjects unread starts with the bulk listing `GET /schemas?offset=
&limit=` (Confluent's registry: every live version with its subject, version, id and type), which
leaves one request per subject (its level). A registry whose answer names no subject (Apicurio
3.3.3 lists the schema text alone) is not asked again: its subjects are read one by one.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote

from exporter.config import SchemaRegistryConfig
from exporter.sources.registry_http import NOT_FOUND, RegistryHttp
from exporter.sources.registry_model import CompatibilitySource, RegistryError, SubjectInfo

log = logging.getLogger(__name__)

BULK_PAGE = 1000
"""Versions asked for per `GET /schemas` request of the bulk listing."""
BULK_MIN = 20
"""Subjects unread from which a cold-read run starts with the bulk listing."""


@dataclass(frozen=True, slots=True)
class Cached:
    """What was read of one subject, and when (monotonic seconds)."""

    info: SubjectInfo
    versions: tuple[int, ...]
    read_at: float


def compat(answer: Any, where: str) -> str:
    """The level of a `/config` answer, or RegistryError."""
    if isinstance(answer, dict):
        level = answer.get("compatibilityLevel", answer.get("compatibility"))
        if isinstance(level, str) and level:
            return level
    raise RegistryError(f"GET {where}: no compatibility level in the answer", "bad_answer")


def read_subject(
    http: RegistryHttp, name: str, global_level: str, deadline: float, now: float,
    kept: Cached | None, listed: bool = False,
) -> Cached | None:  # fmt: skip
    """The subject read now, or None when it no longer exists; `kept` is the copy read before
    (its latest version is reused while the versions are the same), or with `listed` what a bulk
    listing just gave (its versions are taken as they are: only the level is asked)."""
    q = quote(name, safe="")
    versions: Any = list(kept.versions) if listed and kept is not None else None
    if versions is None:
        versions = http.get(f"/subjects/{q}/versions", deadline)
    if versions is NOT_FOUND:
        return None
    if (
        not isinstance(versions, list)
        or not versions
        or not all(isinstance(v, int) for v in versions)
    ):
        raise RegistryError(f"GET /subjects/{name}/versions: not a list of versions",
                            "bad_answer")  # fmt: skip
    answer = http.get(f"/config/{q}?defaultToGlobal=false", deadline)
    source: CompatibilitySource
    if answer is NOT_FOUND:
        level, source = global_level, "global"
    else:
        level = compat(answer, f"/config/{name}")
        source = "unknown" if level == global_level else "subject"
    key = tuple(sorted(versions))
    if kept is not None and kept.versions == key:
        info = kept.info
    else:
        latest = http.get(f"/subjects/{q}/versions/latest", deadline)
        if latest is NOT_FOUND:
            return None
        info = latest_info(name, latest, len(key))
    info = replace(info, compatibility=level, compatibility_source=source)
    return Cached(info=info, versions=key, read_at=now)


def latest_info(name: str, answer: Any, count: int) -> SubjectInfo:
    """A subject from its `/versions/latest` answer and its number of versions."""
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


def schema_rows(answer: Any, where: str) -> list[tuple[str, int, int, str]] | None:
    """(subject, version, id, schema type) of each item of a `GET /schemas` page (Confluent);
    None when the items name no subject, version and id (Apicurio: the schema text only)."""
    if not isinstance(answer, list):
        raise RegistryError(f"GET {where}: not a list", "bad_answer")
    rows: list[tuple[str, int, int, str]] = []
    for item in answer:
        if not isinstance(item, dict):
            raise RegistryError(f"GET {where}: an item is not an object", "bad_answer")
        subject, version, schema_id = item.get("subject"), item.get("version"), item.get("id")
        if subject is None and version is None and schema_id is None:
            return None
        if (not isinstance(subject, str) or not isinstance(version, int)
                or not isinstance(schema_id, int)):  # fmt: skip
            raise RegistryError(f"GET {where}: an item without subject, version and id",
                                "bad_answer")  # fmt: skip
        rows.append((subject, version, schema_id, str(item.get("schemaType") or "AVRO")))
    return rows


def by_subject(rows: list[tuple[str, int, int, str]]) -> dict[str, Cached]:
    """Each subject's versions and latest version (id, type) from the rows of a bulk listing
    (the level not known yet; `read_at` 0)."""
    versions: dict[str, set[int]] = {}
    latest: dict[str, tuple[int, int, str]] = {}
    for subject, version, schema_id, schema_type in rows:
        versions.setdefault(subject, set()).add(version)
        if version >= latest.get(subject, (-1, 0, ""))[0]:
            latest[subject] = (version, schema_id, schema_type)
    out: dict[str, Cached] = {}
    for name, (version, schema_id, schema_type) in latest.items():
        info = SubjectInfo(name=name, versions=len(versions[name]), latest_version=version,
                           latest_id=schema_id, schema_type=schema_type, compatibility="",
                           compatibility_source="global")  # fmt: skip
        out[name] = Cached(info=info, versions=tuple(sorted(versions[name])), read_at=0.0)
    return out


def bulk_listing(http: RegistryHttp, deadline: float) -> dict[str, Cached] | None:
    """Every subject's versions from `GET /schemas?offset=&limit=` pages (BULK_PAGE each, until
    one is short or adds nothing new), or None when the registry lacks such a listing."""
    rows: list[tuple[str, int, int, str]] = []
    seen: set[tuple[str, int]] = set()
    offset = 0
    while True:
        where = f"/schemas?offset={offset}&limit={BULK_PAGE}"
        answer = http.get(where, deadline)
        page = None if answer is NOT_FOUND else schema_rows(answer, where)
        if page is None:
            return None
        new = [r for r in page if (r[0], r[1]) not in seen]
        seen.update((r[0], r[1]) for r in new)
        rows += new
        if len(page) < BULK_PAGE or not new:
            return by_subject(rows)
        offset += len(page)


Store = Callable[[str, Cached], bool]
"""Keeps one subject read by the cold read (called from its threads); False: not kept (a poll
read it meanwhile, or it is no longer listed)."""


class ColdReader:
    """Reads never-read subjects between polls; `start` at a poll's end, `stop` at the next's
    beginning."""

    def __init__(self, config: SchemaRegistryConfig, store: Store) -> None:
        self._workers = config.cold_read_concurrency
        self._timeout = config.timeout_seconds
        self._store = store
        self._http = RegistryHttp(config)
        self._pool = ThreadPoolExecutor(max_workers=max(1, self._workers),
                                        thread_name_prefix="registry-cold")  # fmt: skip
        self._lock = threading.Lock()
        self._run = 0
        """The current run; a worker of an older run stops before its next subject."""
        self._running = 0
        self._read = 0
        """Subjects read and kept since `taken()` was last called."""
        self._bulk: bool | None = None
        """The registry has a bulk listing of versions (None: not asked yet)."""
        self._todo: deque[str] = deque()
        """The current run's subjects not started yet."""
        self._until = math.inf

    def start(self, names: Sequence[str], global_level: str, until: float = math.inf) -> None:
        """Reads `names`, in order, until done, stopped, failed or `until` (monotonic seconds:
        no subject read is started after it); a run before is stopped."""
        with self._lock:
            self._run += 1
            self._todo = deque(names if self._workers else ())
            self._until = until
            if not self._todo:
                return
            self._running += 1
            self._pool.submit(self._lead, self._run, self._todo, global_level)

    def _lead(self, run: int, todo: deque[str], global_level: str) -> None:
        """The run's first worker: the bulk listing when the registry has one and enough are
        unread, then the other workers, then its own share of the reads."""
        known: dict[str, Cached] = {}
        try:
            if self._bulk is not False and len(todo) >= BULK_MIN:
                try:
                    listing = bulk_listing(self._http, time.monotonic() + self._timeout)
                except RegistryError as exc:
                    self._failed(run, exc, len(todo))
                    return
                self._bulk = listing is not None
                known = listing or {}
            with self._lock:
                if run != self._run:
                    return
                for _ in range(min(self._workers, len(todo)) - 1):
                    self._running += 1
                    self._pool.submit(self._worker, run, todo, global_level, known)
            self._work(run, todo, global_level, known)
        finally:
            with self._lock:
                self._running -= 1

    def _failed(self, run: int, exc: RegistryError, left: int) -> None:
        with self._lock:
            stopping = run == self._run
            if stopping:
                self._run += 1  # the other workers of this run stop too
                self._todo = deque()
        if stopping:
            log.warning("registry cold read stopped error=%r left=%d", str(exc), left)

    def stop(self) -> None:
        with self._lock:
            self._run += 1
            self._todo = deque()

    @property
    def busy(self) -> bool:
        """A run is reading (or a stopped worker is ending its last subject), or has subjects
        left that it waits for the next poll to start again."""
        with self._lock:
            return self._running > 0 or bool(self._todo)

    def taken(self) -> int:
        """Subjects read and kept since the last call."""
        with self._lock:
            read, self._read = self._read, 0
            return read

    def _worker(self, run: int, todo: deque[str], global_level: str,
                known: Mapping[str, Cached]) -> None:  # fmt: skip
        try:
            self._work(run, todo, global_level, known)
        finally:
            with self._lock:
                self._running -= 1

    def _work(self, run: int, todo: deque[str], global_level: str,
              known: Mapping[str, Cached]) -> None:  # fmt: skip
        while True:
            with self._lock:
                if run != self._run or not todo or time.monotonic() >= self._until:
                    return
                name = todo.popleft()
            now = time.monotonic()
            listed = known.get(name)
            try:
                cached = read_subject(self._http, name, global_level, now + self._timeout, now,
                                      listed, listed is not None)  # fmt: skip
            except RegistryError as exc:
                self._failed(run, exc, len(todo))
                return
            # None: deleted since the listing (the next listing says so)
            if cached is not None and self._store(name, cached):
                with self._lock:
                    self._read += 1

    def close(self) -> None:
        self.stop()
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._http.close()
