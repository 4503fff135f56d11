"""The Schema Registry source: subjects, versions and compatibility through the Confluent API.

Runs as a source runner of the poller (stage `schema_registry`), beside the Admin API stages.
One poll, every request within one deadline (`schema_registry.timeout_seconds`), and the poll
bounded by `refresh_budget_seconds` from its first request:

1. The listing, every poll, its requests sent at once through the connections: `GET /config`
   (the global compatibility level; its duration is the health latency), the subject pages
   `GET /subjects?offset=&limit=` (Apicurio answers at most 1000 per request: as many pages as
   the last listing needed and one more, then more while the last is full), and the probe for
   new schema ids (`registry_ids.IdProbe`): `GET /schemas/ids/<n>/versions` for the highest id
   known (gone: the registry restarted with fewer ids, and the highest is searched again) and
   the ID_PROBE_WINDOW (8) ids after it, then on past each id found until that many in a row do
   not exist. Each answer names the subjects and versions using that id: those subjects are read
   again. Ids only grow, so this finds every registration of new content in a few requests. The
   highest known is the largest of: the highest id in use, found once by doubling then
   narrowing (`registry_ids.highest_id`: about 25 probes for 5,000 ids) between the first two
   polls, before the cold read (nothing read yet can have changed, so the first poll needs no
   probe; with `cold_read_concurrency` 0, or searched again with subjects read, in the poll,
   before its reads, `concurrency` ids a round); the ids
   the probe found; and the latest ids of the subject versions read (in the poll or between
   polls), which the search can miss when it stops in a gap of used-up ids (the probe then also
   asks the window after that id). Past its first round the probe goes on only while the budget
   lasts; the rest follow in the next polls.
   A subject read before and missing from the listing is looked for in a second listing (a page
   whose offset moved under a concurrent registration or deletion can miss a name): it is
   dropped only when missing from both.
2. The details of the subjects that are new since the last listing or named by a new id, only
   while the budget lasts: `GET /subjects/<s>/versions`, `GET /config/<s>?defaultToGlobal=false`,
   and when the versions changed `GET /subjects/<s>/versions/latest` (schema type and id),
   through `concurrency` kept-alive connections at once (at least `concurrency` are started each
   poll, so the reads always progress; one already running ends). A poll that ran out of budget
   is a successful poll.
3. Between polls (`registry_between.BetweenPolls`, `cold_read_concurrency` connections of its
   own), the same reads: those the poll's budget left, the subjects listed but never read (after
   a start: the cold read), then the `refresh_per_cycle` read longest ago. A successful poll ends
   by handing them over; the next poll stops the reader as it begins; what it read is in the next
   reading. It starts no subject read in the quiet time before the next poll is due
   (`interval`, `poll.interval_seconds`, handed in by the poller). With `cold_read_concurrency` 0
   the poll reads all of them itself, in that order, while its budget lasts (`registry_between.
   plan`).
4. A restart seen (the ids reset, a new id naming a version read with another id, or the poll
   before found nothing answering: `registry_restart`) makes every subject read before stale:
   each is read in full again, first (by this poll while its budget lasts, then between polls),
   its old reading serving until then.

The reading holds every listed subject name (`listed`: the topics without a value subject are
judged from it, right from the first poll) and the details of those read so far (`subjects`: a
subject is there with everything or not at all). Any failure fails the poll (one
`RegistryError`, one line); what was read before and during it stays cached for the next poll,
but nothing of a failed poll is published.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor

from exporter.config import SchemaRegistryConfig
from exporter.sources.admin_model import ClusterView
from exporter.sources.registry_between import BetweenPolls, plan, quiet_seconds
from exporter.sources.registry_details import Cached, compat, read_subject, relabel, subject_page
from exporter.sources.registry_http import RegistryHttp
from exporter.sources.registry_ids import IdProbe, Use, changed_since_read, highest_id, schema_users
from exporter.sources.registry_model import RegistryError, RegistryFailure, RegistryReading
from exporter.sources.registry_restart import (
    restart_sign,
    reusable,
    stale_marks,
    versions_replaced,
    went_away,
)
from exporter.sources.stages import RunnerKind, SourceFailed

log = logging.getLogger(__name__)

READING_KEY = "schema_registry"
"""The key of the `RegistryReading` in what the runner's `poll` returns."""
Users = list[Use] | None
"""The subject versions using a schema id (None: no schema has it)."""
ID_PROBES_MAX = 1000
"""New ids probed per poll at most; the rest follow in the next polls."""


class SchemaRegistrySource:
    """Reads the registry; keeps what it read per subject between polls."""

    name = READING_KEY
    kind: RunnerKind = "schema_registry"

    def __init__(self, config: SchemaRegistryConfig, interval: float | None = None) -> None:
        """`interval`: the seconds from one poll's start to the next (`poll.interval_seconds`);
        None: not known (polls whenever asked), the reader between polls then reads until the
        next poll stops it."""
        self._config = config
        self._interval = interval
        self._http = RegistryHttp(config)
        self._pool = ThreadPoolExecutor(max_workers=config.concurrency,
                                        thread_name_prefix="registry")  # fmt: skip
        self._cache: dict[str, Cached] = {}
        self._listed: set[str] = set()
        """The subjects of the last listing."""
        self._dirty: dict[str, float] = {}
        """Listed subjects to read first, with when they were marked (monotonic): new since the
        listing before (not read yet), or read before and named by a new id (changed); a read
        begun after the mark clears it."""
        self._max_id = -1
        """The highest schema id known to exist, where the probe starts (-1: not searched yet)."""
        self._seen_id = 0
        """The highest latest-version id of the subjects read (`IdProbe`: a gap in the ids
        cannot hide it)."""
        self._stale_before = -math.inf
        """Readings taken before (monotonic) are stale: the last restart seen."""
        self._failed: str | None = None
        """The kind of failure since the last successful poll (a restart sign kept first)."""
        self._lock = threading.Lock()
        """Guards `_cache`, `_listed` and `_dirty`, which the reader between polls adds to."""
        self._between = BetweenPolls(config, self._keep, self._kept)

    def _keep(self, name: str, cached: Cached) -> bool:
        """A subject read between polls: kept if still listed and not read since."""
        with self._lock:
            return name in self._listed and self._put(name, cached)

    def _kept(self, name: str) -> Cached | None:
        """The reading of `name` a read may reuse (none taken before a restart)."""
        with self._lock:
            return reusable(self._cache.get(name), self._stale_before)

    def _put(self, name: str, cached: Cached) -> bool:
        """Keeps a subject read unless a read begun later was kept (under the lock)."""
        old = self._cache.get(name)
        if old is not None and old.read_at > cached.read_at:
            return False
        if old is None or old.versions != cached.versions or old.read_at < self._stale_before:
            # its latest version read just now
            self._seen_id = max(self._seen_id, cached.info.latest_id)
        self._cache[name] = cached
        if self._dirty.get(name, math.inf) <= cached.read_at:
            del self._dirty[name]
        return True

    @property
    def reading_between_polls(self) -> bool:
        """The reader between polls is reading, or has subjects left for the next poll to hand
        it again."""
        return self._between.busy

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
        try:
            reading = self._read(timeout)
        except RegistryError as exc:
            self._failed = exc.kind if went_away(exc.kind) else (self._failed or exc.kind)
            raise
        self._failed = None
        return reading

    def _read(self, timeout: float | None) -> RegistryReading:
        limit = self._config.timeout_seconds
        deadline = time.monotonic() + (min(limit, timeout) if timeout else limit)
        started, t0 = time.time(), time.monotonic()
        budget_end = t0 + self._config.refresh_budget_seconds  # the whole poll's budget
        requests0 = self._http.requests
        self._between.stop()
        # the listing's requests go out at once through the connections: the global level, the
        # pages the last listing needed (and one more), the first new-id probes
        health = self._pool.submit(self._http.timed, "/config", deadline)
        pages = self._ask_pages(0, len(self._listed) // self._config.page_size + 1, deadline)
        with self._lock:  # else the highest id in use is searched once, below
            probe = IdProbe(self._max_id, self._seen_id) if self._max_id >= 0 else None
        asked = self._ask_ids(probe.first(), deadline) if probe else []
        answer, latency = health.result()
        global_level = compat(answer, "/config")
        listed = dict.fromkeys(self._subjects(pages, deadline))
        with self._lock:  # the reader between polls adds to the cache
            missing = [n for n in self._cache if n not in listed]
        if listed and missing:
            # a subject read before is missing: deleted, or missed by a page whose offset moved
            # under a concurrent change; only one missing from a second listing too is gone
            again = self._ask_pages(0, len(listed) // self._config.page_size + 1, deadline)
            relisted = set(self._subjects(again, deadline))
            found = [n for n in missing if n in relisted]
            if found:
                log.info("subjects missed by a paged listing found in a second one count=%d",
                         len(found))  # fmt: skip
            listed.update(dict.fromkeys(found))
        new_ids: dict[int, list[Use]] = {}
        search = None
        if not listed:
            self._forget_ids()  # empty (or restarted empty): its ids may start again from 1
        elif probe is not None:
            new_ids = self._new_ids(probe, asked, deadline, budget_end)
        with self._lock:  # searched again with subjects read: in the poll, before its reads
            cold = not self._cache  # (a version registered during a search would go unseen)
            replaced = versions_replaced(new_ids, self._cache.get)
        restarted = restart_sign(self._failed, probe is not None and probe.lost, replaced)
        if listed and self._max_id < 0 and self._between.workers and cold:
            search = self._search  # between polls: no subject read before it can have changed
        elif listed and self._max_id < 0:
            self._max_id = self._ceiling(deadline)
            with self._lock:
                probe = IdProbe(self._max_id, self._seen_id)
            asked = self._ask_ids(probe.first(), deadline)
            new_ids |= self._new_ids(probe, asked, deadline, budget_end)
        with self._lock:
            if restarted:  # the readings taken before the restart are read again first
                log.info("registry restarted, every subject read again sign=%s subjects=%d",
                         restarted, len(self._cache))  # fmt: skip
                self._stale_before = t0
                self._dirty.update(stale_marks(self._cache, t0))
            order, after = self._order(listed, {u for us in new_ids.values() for u in us})
        got, failure = self._details(order, global_level, deadline, budget_end)
        with self._lock:
            for name, cached in got.items():
                if cached is None:  # deleted since the listing
                    listed.pop(name, None)
                    self._cache.pop(name, None)
                    self._dirty.pop(name, None)
                else:
                    self._put(name, cached)
            if failure is not None:
                raise failure
            subjects = {n: relabel(self._cache[n].info, global_level)
                        for n in listed if n in self._cache}  # fmt: skip
            never_read = sum(n not in self._cache for n in listed)
        left = [n for n in order if n not in got] + after
        until = t0 + self._interval - quiet_seconds(self._interval) if self._interval else math.inf
        self._between.start(left, global_level, until, never_read, search)
        reading = RegistryReading(
            taken_at=started,
            latency_seconds=latency,
            seconds=time.monotonic() - t0,
            global_compatibility=global_level,
            subjects=subjects,
            listed=frozenset(listed),
            requests=self._http.requests - requests0,
            refreshed=len(got),
            max_schema_id=max(0, self._max_id),
            read_between=self._between.taken(),
        )
        log.debug("registry polled subjects=%d unread=%d refreshed=%d read_between=%d requests=%d"
                  " seconds=%.3f", len(listed), reading.unread, len(got), reading.read_between,
                  reading.requests, reading.seconds)  # fmt: skip
        return reading

    def _order(self, listed: dict[str, None], touched: set[Use]) -> tuple[list[str], list[str]]:
        """The subjects the poll reads and those left to the reader between polls, in order
        (`plan`); forgets those no longer listed (under the lock)."""
        for gone in self._cache.keys() - listed.keys():
            del self._cache[gone]
        now = time.monotonic()
        if self._listed:  # not the first listing: a subject not listed before is new
            for n in listed.keys() - self._listed:
                self._dirty.setdefault(n, now)
        # a new id names the subject versions using it: a subject read without that version
        # changed since; the others are read anyway (and an id shared by many never-read
        # subjects must not go first)
        kept = self._cache.get
        for n in changed_since_read(touched, lambda n: c.versions if (c := kept(n)) else None):
            self._dirty[n] = now
        self._dirty = {n: at for n, at in self._dirty.items() if n in listed}
        self._listed = set(listed)
        read_at = {n: c.read_at for n, c in self._cache.items()}
        return plan(listed, read_at, self._dirty, self._config.refresh_per_cycle,
                    self._between.workers > 0)  # fmt: skip

    def _details(
        self, order: list[str], global_level: str, deadline: float, budget_end: float
    ) -> tuple[dict[str, Cached | None], RegistryError | None]:
        """Reads the subjects of `order`, in order, through `concurrency` workers; a worker starts
        the next one only while the budget lasts (the first `concurrency` start whatever it is).
        Returns what was read (None: the subject no longer exists) and the first failure."""
        todo = deque(order)
        lock = threading.Lock()
        got: dict[str, Cached | None] = {}
        failures: list[RegistryError] = []
        begun = 0
        floor = self._config.concurrency
        now = time.monotonic()

        def work() -> None:
            nonlocal begun
            while True:
                with lock:
                    if not todo or failures or (begun >= floor
                                                and time.monotonic() >= budget_end):  # fmt: skip
                        return
                    name = todo.popleft()
                    begun += 1
                try:
                    cached = read_subject(self._http, name, global_level, deadline, now,
                                          self._kept(name))  # fmt: skip
                except RegistryError as exc:
                    with lock:
                        failures.append(exc)
                    return
                with lock:
                    got[name] = cached

        workers = [self._pool.submit(work) for _ in range(min(floor, len(order)))]
        for worker in workers:
            worker.result()
        return got, (failures[0] if failures else None)

    def _ask_pages(self, first: int, count: int, deadline: float) -> list[Future[list[str]]]:
        size = self._config.page_size
        return [self._pool.submit(subject_page, self._http, (first + i) * size, size, deadline)
                for i in range(count)]  # fmt: skip

    def _subjects(self, pages: list[Future[list[str]]], deadline: float) -> list[str]:
        """Every subject name, from the pages asked and, while the last is full, the next ones
        (`concurrency` at a time)."""
        names: list[str] = []
        asked = 0
        while True:
            for fut in pages:
                page = fut.result()
                names += page
                if len(page) < self._config.page_size:
                    return list(dict.fromkeys(names))
            asked += len(pages)
            pages = self._ask_pages(asked, self._config.concurrency, deadline)

    def _ceiling(self, deadline: float) -> int:
        """The highest schema id in use (0: none): `highest_id`, its probes sent `concurrency`
        at a time."""

        def exist(ids: list[int]) -> list[bool]:
            asked = [self._pool.submit(schema_users, self._http, n, deadline) for n in ids]
            return [fut.result() is not None for fut in asked]

        return highest_id(exist, self._config.concurrency)

    def _search(self, http: RegistryHttp) -> None:
        """The first search for the highest schema id, run between polls by the reader (one
        probe at a time on its connection); the polls after probe upwards from it."""
        deadline = time.monotonic() + self._config.timeout_seconds
        top = highest_id(lambda ids: [schema_users(http, n, deadline) is not None
                                      for n in ids], 1)  # fmt: skip
        with self._lock:
            if self._max_id < 0:
                self._max_id = top

    def _ask_ids(self, ids: list[int], deadline: float) -> list[tuple[int, Future[Users]]]:
        return [(n, self._pool.submit(schema_users, self._http, n, deadline)) for n in ids]

    def _forget_ids(self) -> None:
        """The highest id is searched again; the ids read before no longer count."""
        self._max_id = -1
        with self._lock:
            self._seen_id = 0

    def _new_ids(
        self, probe: IdProbe, asked: list[tuple[int, Future[Users]]], deadline: float,
        budget_end: float,
    ) -> dict[int, list[Use]]:  # fmt: skip
        """The new ids above the highest known, each with the subject versions using it: the
        rounds of `probe` (the first asked already), at most ID_PROBES_MAX ids, past the first
        round only while the budget lasts (the rest follow in the next polls). The highest known
        gone: none, the highest searched again (the registry restarted with fewer ids)."""
        users: dict[int, list[Use]] = {}
        probed = 0
        while asked:
            for n, fut in asked:
                answer = fut.result()
                if answer is not None:
                    users[n] = answer
            probed += len(asked)
            ids = probe.answer({n: n in users for n, _ in asked})
            if probed >= ID_PROBES_MAX or time.monotonic() >= budget_end:
                break
            asked = self._ask_ids(ids, deadline)
        if probe.lost:
            log.info("registry schema id gone, the highest is searched again id=%d",
                     self._max_id)  # fmt: skip
            self._forget_ids()
            return {}
        self._max_id = max(self._max_id, probe.highest)
        return {n: users[n] for n in probe.touched_ids}

    def close(self) -> None:
        self._between.close()
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._http.close()
