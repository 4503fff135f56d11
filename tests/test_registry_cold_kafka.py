"""The cold read of a large registry and the refresh of its subjects, against a real registry and
a real Kafka: after a start the subjects' details are read between polls, over several polls,
each a successful poll, while the signals that need only the listing are right from the first
poll and nothing half-read, no false compatibility NONE and no false registration shows
meanwhile; a warm poll reads only the new and changed subjects, the oldest being read again
between polls. How long the polls take is measured by `bench/registry.py`, not asserted here (the
registry's speed on a loaded machine varies tenfold); the test prints them."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import pytest

from exporter.catalog import own
from exporter.catalog import registry as cat
from exporter.config import SchemaRegistryConfig
from exporter.poller import Poller
from exporter.sources.registry import SchemaRegistrySource
from exporter.sources.registry_ids import ID_PROBE_WINDOW
from exporter.sources.registry_model import RegistryReading
from harness import clients
from harness.cluster import KafkaCluster
from harness.procs import wait_for
from harness.registry import SchemaRegistry
from tests.test_registry_kafka import by_labels, order_schema, vitals_config

pytestmark = pytest.mark.kafka

SUBJECTS = 200
"""Subjects registered for the cold read (every tenth with two versions, every 40th NONE), read
through 8 connections, listed in pages of 100."""
BUDGET = 0.05
MAX_POLLS = 300
GAP = 0.1
"""Seconds from one poll's end to the next's start at most: the reads between polls go on in the
gap (and in the next cycle's Kafka part, before the registry poll begins)."""


@pytest.fixture
def many_subjects(
    schema_registry: SchemaRegistry,
    unique_name: Callable[[str], str],
    request: pytest.FixtureRequest,
) -> Iterator[tuple[list[str], list[str]]]:
    """SUBJECTS subjects (or the count the test gives as the fixture's parameter) registered
    through concurrent requests, and a list for the test's other subjects; all soft-deleted
    afterwards, so the registry shared by the session lists them no more."""
    prefix = unique_name("cold")
    names = [f"{prefix}-{i:03d}" for i in range(getattr(request, "param", SUBJECTS))]
    made: list[str] = []
    others: list[str] = []

    def one(name: str) -> None:
        schema_registry.register(name, order_schema())
        made.append(name)
        i = int(name.rsplit("-", 1)[1])
        if i % 10 == 0:
            schema_registry.register(name, order_schema({"name": "note", "type": "string",
                                                         "default": ""}))  # fmt: skip
        if i % 40 == 0:
            schema_registry.set_compatibility("NONE", name)

    def delete(name: str) -> None:
        schema_registry.request("DELETE", f"/subjects/{quote(name, safe='')}")

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one, names))
    try:
        yield names, others
    finally:
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(delete, made + others))


def test_cold_read_spreads_over_polls_within_the_budget(
    kafka_single: KafkaCluster,
    schema_registry: SchemaRegistry,
    many_subjects: tuple[list[str], list[str]],
    unique_name: Callable[[str], str],
) -> None:
    names, others = many_subjects
    bootstrap = kafka_single.bootstrap_servers
    late_topic, bare_topic = unique_name("zz"), unique_name("zz")
    for topic in (late_topic, bare_topic):
        clients.create_topic(bootstrap, topic, partitions=1)
    late = f"{late_topic}-value"
    schema_registry.register(late, order_schema())  # registered last: read last
    others.append(late)
    mine = {*names, late}
    none = {n for n in names if int(n.rsplit("-", 1)[1]) % 40 == 0}
    config = vitals_config(bootstrap, schema_registry.url, [late_topic, bare_topic],
                           refresh_budget_seconds=BUDGET, concurrency=8, page_size=100,
                           cold_read_concurrency=8)  # fmt: skip
    # polled at most GAP apart, with the schedule of a 10 s interval: the reads between polls go
    # on until the next poll begins (the quiet time before a poll is due never comes)
    source = SchemaRegistrySource(config.schema_registry, interval=10)
    poller = Poller(config, runners=[source])
    fresh = unique_name("fresh")
    polls: list[tuple[float, float, int]] = []
    seen_none: set[str] = set()
    try:
        while len(polls) < MAX_POLLS:
            gap_end = time.monotonic() + GAP
            while polls and source.reading_between_polls and time.monotonic() < gap_end:
                time.sleep(0.01)
            snap = poller.poll_once()
            [stage] = [s for s in poller.last_stages if s.stage == "schema_registry"]
            # a poll that ran out of budget is a successful poll
            assert stage.ok and snap.value(own.UP, "schema_registry", "") == 1, stage.error
            assert snap.value(cat.REGISTRY_ERRORS, "timeout") is None
            unread = snap.value(cat.REGISTRY_SUBJECTS_UNREAD)
            assert unread is not None
            versions = by_labels(snap, cat.SUBJECT_VERSIONS)
            read = {k[0] for k in versions}
            assert snap.value(cat.REGISTRY_SUBJECTS) == len(read) + unread
            # a subject has all its series or none
            for metric in (cat.SUBJECT_COMPATIBILITY, cat.SUBJECT_LATEST_VERSION,
                           cat.SUBJECT_LATEST_ID, cat.SUBJECT_REGISTRATIONS):  # fmt: skip
                assert {k[0] for k in by_labels(snap, metric)} == read, metric.name
            # the topics without a value subject come from the listing: right from poll 1
            assert by_labels(snap, cat.TOPIC_VALUE_SUBJECT) == {
                (late_topic, late): 1,
                (bare_topic, f"{bare_topic}-value"): 0,
            }
            # NONE only where it is set, and a subject seen with NONE keeps its series
            compat = by_labels(snap, cat.SUBJECT_COMPATIBILITY)
            nones = {k[0] for k in compat if k[1] == "NONE"} & mine
            assert seen_none <= nones <= none, (seen_none, nones)
            seen_none = nones
            # the cold read is not a burst of registrations
            regs = by_labels(snap, cat.SUBJECT_REGISTRATIONS)
            assert {n for (n,), v in regs.items() if v and n in mine} == set(), (len(polls), polls)
            if polls:  # read between polls: at least one subject per connection each time
                assert unread <= polls[-1][1], polls
            polls.append((stage.seconds, unread, len(read & mine)))
            if len(polls) == 1:
                assert unread > 0 and late not in read, polls  # begun, not done
                schema_registry.register(fresh, order_schema())
                others.append(fresh)
            elif len(polls) == 2:  # a new subject is read first, its versions counted
                assert regs.get((fresh,)) == 1, (sorted(read - mine), polls, poller.last_stages)
            if unread == 0:
                break
    finally:
        poller.stop()
    print("cold polls (seconds, unread, mine read):", polls)
    assert polls[-1][1] == 0 and polls[-1][2] == len(mine), polls[-1]
    assert seen_none == none


@pytest.mark.parametrize("many_subjects", [40], indirect=True)
def test_cold_read_goes_on_between_polls(
    schema_registry: SchemaRegistry, many_subjects: tuple[list[str], list[str]]
) -> None:
    """With `cold_read_concurrency`, the subjects never read are read between polls, on
    connections of their own: the next poll finds them read, each as the registry describes it,
    while the polls themselves read no subject (none is new or changed)."""
    names, _ = many_subjects
    config = SchemaRegistryConfig(url=schema_registry.url, timeout_seconds=10, concurrency=2,
                                  refresh_budget_seconds=0.0, cold_read_concurrency=4,
                                  page_size=100)  # fmt: skip
    source = SchemaRegistrySource(config)
    try:
        first = source.read()
        assert first.refreshed == 0 and first.unread >= len(names), first.unread
        wait_for(lambda: not source.reading_between_polls, 60, "the cold read to end",
                 interval=0.05)  # fmt: skip
        second = source.read()
    finally:
        source.close()
    assert second.refreshed == 0 and second.read_between >= len(names), second.read_between
    # the first poll probes no id (nothing read can have changed): the highest id in use is
    # searched between polls, and the second poll probes upwards from it
    assert first.max_schema_id == 0 < second.max_schema_id, (first, second)
    assert second.unread == 0 and set(names) <= second.subjects.keys()
    for name in names:
        i, info = int(name.rsplit("-", 1)[1]), second.subjects[name]
        assert info.versions == info.latest_version == (2 if i % 10 == 0 else 1), info
        level = "NONE" if i % 40 == 0 else "BACKWARD"
        assert (info.compatibility, info.schema_type) == (level, "AVRO"), info
        if i % 10 == 0:
            latest = schema_registry.get(f"/subjects/{name}/versions/latest")
            assert info.latest_id == latest["id"], (info, latest)


@pytest.mark.parametrize("many_subjects", [12], indirect=True)
def test_a_warm_poll_reads_what_changed_and_the_oldest_are_read_between_polls(
    schema_registry: SchemaRegistry,
    many_subjects: tuple[list[str], list[str]],
    unique_name: Callable[[str], str],
) -> None:
    """A warm poll sends the listing (global level, one subject page, the id probes) and reads
    the subjects new since the last listing or named by a new schema id, nothing else; a
    compatibility change alone is read between polls, where `refresh_per_cycle` of the subjects
    read longest ago are read again each interval, oldest first: every subject within
    N / refresh_per_cycle intervals."""
    names, others = many_subjects
    refresh = 8
    config = SchemaRegistryConfig(url=schema_registry.url, timeout_seconds=5, concurrency=2,
                                  refresh_budget_seconds=5.0, cold_read_concurrency=2,
                                  refresh_per_cycle=refresh)  # fmt: skip
    source = SchemaRegistrySource(config)  # no interval: the reader reads until the next poll

    def between_polls() -> RegistryReading:
        wait_for(lambda: not source.reading_between_polls, 30, "the reads between polls",
                 interval=0.02)  # fmt: skip
        return source.read()

    try:
        source.read()
        cold = between_polls()  # the cold read, then the refresh of the oldest
        assert cold.unread == 0 and cold.refreshed == 0, (cold.unread, cold.refreshed)
        idle = between_polls()
        assert (idle.refreshed, idle.read_between) == (0, refresh)
        # the global level, one page, the highest id known and the window of ids after it
        assert idle.requests == 1 + 1 + 1 + ID_PROBE_WINDOW
        wait_for(lambda: not source.reading_between_polls, 30, "the reads between polls",
                 interval=0.02)  # fmt: skip
        # a new version (new content: a new id), a new subject, compatibility changes alone
        changed, level_only = names[1], names[2:]
        schema_registry.register(changed, order_schema({"name": unique_name("f").replace("-", "_"),
                                                        "type": "int", "default": 0}))  # fmt: skip
        fresh = unique_name("fresh")
        schema_registry.register(fresh, order_schema())
        others.append(fresh)
        for name in level_only:
            schema_registry.set_compatibility("FULL", name)
        warm = source.read()
        # read in the poll: the new subject and, when the id probe found the new id (the
        # fixture's registrations of held content used up more ids than its window can step
        # over: then the refresh below reads it), the changed one, 3 requests each; for a new id
        # found, the probe asks on until ID_PROBE_WINDOW ids in a row past it are missing
        found = warm.max_schema_id > idle.max_schema_id
        assert warm.refreshed == 1 + found, (found, warm)
        more = warm.max_schema_id - idle.max_schema_id
        assert warm.requests == idle.requests + more + 3 * warm.refreshed, (found, warm)
        assert fresh in warm.subjects and warm.subjects[changed].versions == 1 + found
        assert all(warm.subjects[n].compatibility == "BACKWARD" for n in level_only)
        # the level changes, through the refresh between polls
        polls, bound = 0, math.ceil(len(warm.listed) / refresh) + 1
        while polls < bound:
            later = between_polls()
            polls += 1
            assert (later.refreshed, later.read_between) == (0, refresh), later
            if (all(later.subjects[n].compatibility == "FULL" for n in level_only)
                    and later.subjects[changed].versions == 2):  # fmt: skip
                break
    finally:
        source.close()
    print(f"new id found by the probe: {found}; level changes seen after {polls} intervals, "
          f"{len(warm.listed)} subjects")  # fmt: skip
    assert all(later.subjects[n].compatibility == "FULL" for n in level_only), (polls, bound)
    assert later.subjects[changed].versions == 2, (polls, bound)


def test_a_new_version_past_used_up_ids_shows_in_the_next_poll(
    schema_registry: SchemaRegistry, unique_name: Callable[[str], str]
) -> None:
    """Apicurio uses up a schema id for each registration of content it holds already (here: a
    subject's content registered under ID_PROBE_WINDOW - 1 other subjects), so the next new
    content's id comes after a gap; a new version of a subject read before is still found by the
    next poll's id probe and read in that poll (no refresh between polls here). The highest id
    known is at least the latest id of every subject read, whatever the search found."""
    name, other = unique_name("gap"), unique_name("gapcopy")
    copies = [f"{other}-{i}" for i in range(ID_PROBE_WINDOW - 1)]
    field_name = unique_name("f").replace("-", "_")
    field: dict[str, object] = {"name": field_name, "type": "int", "default": 0}
    schema_registry.register(name, order_schema(field))
    config = SchemaRegistryConfig(url=schema_registry.url, timeout_seconds=5, concurrency=2,
                                  refresh_budget_seconds=5.0, cold_read_concurrency=2,
                                  refresh_per_cycle=0)  # fmt: skip
    source = SchemaRegistrySource(config)

    def idle() -> None:
        wait_for(lambda: not source.reading_between_polls, 30, "the reads between polls",
                 interval=0.02)  # fmt: skip

    try:
        source.read()
        idle()  # the search for the highest id, then the cold read
        before = source.read()
        assert name in before.subjects and before.unread == 0, before.unread
        assert before.max_schema_id >= max(s.latest_id for s in before.subjects.values())
        idle()
        for copy in copies:
            schema_registry.register(copy, order_schema(field))  # an id used up each
        extra = {**field, "name": f"{field_name}_2"}
        new_id = schema_registry.register(name, order_schema(field, extra))
        after = source.read()
    finally:
        source.close()
        for subject in (name, *copies):
            schema_registry.request("DELETE", f"/subjects/{quote(subject, safe='')}")
    assert new_id >= before.max_schema_id + ID_PROBE_WINDOW, (new_id, before.max_schema_id)
    assert after.max_schema_id == new_id and after.read_between == 0, after
    info = after.subjects[name]
    assert (info.versions, info.latest_id) == (2, new_id), info
    assert after.refreshed == len(copies) + 1  # the subjects new since, and this one
