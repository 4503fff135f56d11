"""The Schema Registry read between polls: what each poll reads itself and what it leaves to the
reader that runs until the next poll begins.

`plan` splits a poll's subject reads (pure): the poll reads the subjects new since the listing
before and those named by a new schema id (their versions changed); the reader between polls,
after them (those the poll's budget did not reach), reads the subjects listed but never read
(after a start: the cold read) and then the `refresh_per_cycle` read longest ago (the paced
refresh: a compatibility change alone is seen through it). With `cold_read_concurrency` 0 there
is no reader: the poll reads all of them, in that order, while its budget lasts.

`BetweenPolls` is that reader, on `cold_read_concurrency` connections of its own: a successful
poll ends by handing it its subjects and the next poll stops it when it begins (a read already
running ends, so a poll overlaps at most one subject read per connection). It starts no subject
read after `until` (the next poll's due time less `quiet_seconds(interval)`, so the registry is
quiet when a poll begins), except the first one per connection, so the reads go on even when
polls follow each other closely. Each subject read is complete or not kept; each request has the
deadline `timeout_seconds`, the bulk listing as a whole too. A failure stops the run (one log
line); the next successful poll starts it again.

A run with at least `BULK_MIN` subjects never read starts with the bulk listing of Confluent's
registry (`registry_details.bulk_listing`), which leaves one request per subject it names; a
registry whose answer names no subject (Apicurio 3.3.3) is not asked again.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

from exporter.config import SchemaRegistryConfig
from exporter.sources.registry_details import Cached, bulk_listing, read_subject
from exporter.sources.registry_http import RegistryHttp
from exporter.sources.registry_model import RegistryError

log = logging.getLogger(__name__)

BULK_MIN = 20
"""Subjects never read from which a run starts with the bulk listing."""
QUIET_SECONDS = 3.0
"""The reader starts no subject read within this long before the next poll is due..."""
QUIET_SHARE = 0.25
"""...or within this share of the poll interval, when that is shorter (short test intervals)."""


def quiet_seconds(interval: float) -> float:
    """How long before the next poll is due the reader starts no subject read."""
    return min(QUIET_SECONDS, QUIET_SHARE * interval)


def plan(
    listed: Iterable[str], read_at: Mapping[str, float], dirty: Iterable[str], refresh: int,
    between: bool,
) -> tuple[list[str], list[str]]:  # fmt: skip
    """(the poll's reads, the reads left to the reader between polls), each in order: `listed`
    the subjects in listing order, `read_at` when each subject read so far was read, `dirty`
    those to read first (new since the listing before, or named by a new id), `refresh` how many
    of those read longest ago to read again, `between` whether a reader runs between polls."""
    names = list(listed)
    first = set(dirty)
    new = [n for n in names if n in first and n not in read_at]
    changed = [n for n in names if n in first and n in read_at]
    unread = [n for n in names if n not in read_at and n not in first]
    oldest = sorted((t, n) for n, t in read_at.items() if n not in first)
    stale = [n for _, n in oldest[: max(0, refresh)]]
    if between:
        return new + changed, unread + stale
    return new + changed + unread + stale, []


Keep = Callable[[str, Cached], bool]
"""Keeps one subject the reader read (called from its threads); False: not kept (a poll read it
since, or it is no longer listed)."""
Search = Callable[[RegistryHttp], None]
"""Requests a run makes before its reads (the first search for the highest schema id)."""
Kept = Callable[[str], Cached | None]
"""The copy kept of a subject, if any (its latest version is reused while the versions are the
same)."""


class BetweenPolls:
    """Reads subjects between polls; `start` at a poll's end, `stop` at the next's beginning."""

    def __init__(self, config: SchemaRegistryConfig, keep: Keep, kept: Kept) -> None:
        self.workers = config.cold_read_concurrency
        self._timeout = config.timeout_seconds
        self._keep = keep
        self._kept = kept
        self._http = RegistryHttp(config)
        self._pool = ThreadPoolExecutor(max_workers=max(1, self.workers),
                                        thread_name_prefix="registry-between")  # fmt: skip
        self._lock = threading.Lock()
        self._run = 0
        """The current run; a worker of an older run stops before its next subject."""
        self._running = 0
        self._begun = 0
        """Subject reads the current run started."""
        self._read = 0
        """Subjects read and kept since `taken()` was last called."""
        self._bulk: bool | None = None
        """The registry has a bulk listing of versions (None: not asked yet)."""
        self._todo: deque[str] = deque()
        """The current run's subjects not started yet."""
        self._until = math.inf

    def start(self, names: Sequence[str], global_level: str, until: float = math.inf,
              never_read: int = 0, search: Search | None = None) -> None:  # fmt: skip
        """Reads `names`, in order, until done, stopped, failed or `until` (monotonic seconds:
        past it only the first read per connection starts); a run before is stopped.
        `never_read`: how many of them were never read (the bulk listing is asked from
        BULK_MIN); `search`: to run first, on the reader's connection."""
        with self._lock:
            self._run += 1
            self._todo = deque(names if self.workers else ())
            self._until = until
            self._begun = 0
            if not self.workers or (not self._todo and search is None):
                return
            self._running += 1
            self._pool.submit(self._lead, self._run, self._todo, global_level, never_read, search)

    def _lead(self, run: int, todo: deque[str], global_level: str, never_read: int,
              search: Search | None) -> None:  # fmt: skip
        """The run's first worker: the search, the bulk listing when the registry has one and
        enough were never read, then the other workers, then its own share of the reads."""
        known: dict[str, Cached] = {}
        try:
            if search is not None:
                try:
                    search(self._http)
                except RegistryError as exc:
                    self._failed(run, exc, len(todo))
                    return
            if self._bulk is not False and never_read >= BULK_MIN:
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
                for _ in range(min(self.workers, len(todo)) - 1):
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
            log.warning("registry read between polls stopped error=%r left=%d", str(exc), left)

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
                late = self._begun >= self.workers and time.monotonic() >= self._until
                if run != self._run or not todo or late:
                    return
                name = todo.popleft()
                self._begun += 1
            now = time.monotonic()
            listed = known.get(name)
            kept = listed if listed is not None else self._kept(name)
            try:
                cached = read_subject(self._http, name, global_level, now + self._timeout, now,
                                      kept, listed is not None)  # fmt: skip
            except RegistryError as exc:
                self._failed(run, exc, len(todo))
                return
            # None: deleted since the listing (the next listing says so)
            if cached is not None and self._keep(name, cached):
                with self._lock:
                    self._read += 1

    def close(self) -> None:
        self.stop()
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._http.close()
