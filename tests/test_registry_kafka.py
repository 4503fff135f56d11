"""The Schema Registry signals against a real registry (Apicurio, Confluent API) and a real Kafka:
every series equals what the registry's API says; the registry stopped and started; a registry
that answers badly gives one health error and the cycle goes on."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import quote

import pytest

from exporter.catalog import admin, own
from exporter.catalog import registry as cat
from exporter.config import Config, FiltersConfig, KafkaConfig, PollConfig, SchemaRegistryConfig
from exporter.poller import Poller
from exporter.snapshot import Snapshot
from exporter.sources.registry import SchemaRegistrySource
from exporter.sources.registry_ids import ID_PROBE_WINDOW
from exporter.sources.registry_model import RegistryReading
from harness import clients
from harness.cluster import KafkaCluster
from harness.procs import wait_for
from harness.registry import SchemaRegistry

pytestmark = pytest.mark.kafka


def order_schema(*extra: dict[str, object]) -> dict[str, object]:
    fields: list[dict[str, object]] = [
        {"name": "id", "type": "long"},
        {"name": "amount", "type": "double"},
        *extra,
    ]
    return {"type": "record", "name": "Order", "namespace": "shop", "fields": fields}


def vitals_config(bootstrap: str, url: str, topics: list[str], **registry: Any) -> Config:
    return Config(
        kafka=KafkaConfig(bootstrap_servers=bootstrap, request_timeout_seconds=10),
        filters=FiltersConfig(topic_allow=tuple(re.escape(t) for t in topics), group_allow=("-",)),
        poll=PollConfig(interval_seconds=1, stage_timeout_seconds=15),
        schema_registry=SchemaRegistryConfig(url=url, timeout_seconds=5, **registry),
    )


def by_labels(snap: Snapshot, metric: object) -> dict[tuple[str, ...], float]:
    return {s.labels: s.value for s in snap.samples(metric)}  # type: ignore[arg-type]


def listening_addresses(port: int) -> set[str]:
    """Local addresses of the TCP sockets listening on `port` (from /proc/net/tcp and tcp6)."""
    found: set[str] = set()
    for table in (Path("/proc/net/tcp"), Path("/proc/net/tcp6")):
        for line in table.read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            addr, hexport = local.split(":")
            if state == "0A" and int(hexport, 16) == port:
                found.add(addr)
    return found


LOOPBACK = {"0100007F", "0000000000000000FFFF00000100007F", "00000000000000000000000001000000"}


def test_registry_runs_in_memory_on_loopback_with_global_compatibility(
    schema_registry: SchemaRegistry,
) -> None:
    print(f"registry start seconds={schema_registry.start_seconds:.1f}")
    assert schema_registry.get("/config") == {"compatibilityLevel": "BACKWARD"}
    for port in (schema_registry.port, schema_registry.management_port):
        addresses = listening_addresses(port)
        assert addresses and addresses <= LOOPBACK, (port, addresses)


@pytest.fixture
def poller_for(kafka_single: KafkaCluster) -> Iterator[Callable[..., Poller]]:
    """`poller_for(url, topics, **schema_registry_settings)`: a Poller, stopped after the test."""
    made: list[Poller] = []

    def make(url: str, topics: list[str], **registry: Any) -> Poller:
        poller = Poller(vitals_config(kafka_single.bootstrap_servers, url, topics, **registry))
        made.append(poller)
        return poller

    yield make
    for poller in made:
        poller.stop()


def poll_until_read(poller: Poller, polls: int = 100) -> Snapshot:
    """Polls until every listed subject has been read (the cold read after a start may take more
    than one poll) and returns that cycle's snapshot."""
    for _ in range(polls):
        snap = poller.poll_once()
        if snap.value(cat.REGISTRY_SUBJECTS_UNREAD) == 0:
            return snap
    unread = snap.value(cat.REGISTRY_SUBJECTS_UNREAD)
    pytest.fail(f"{unread} subjects still unread after {polls} polls", pytrace=False)


def assert_equals_registry_api(snap: Snapshot, registry: SchemaRegistry) -> set[str]:
    """Every subject series equals the registry's own answers; returns the subjects seen."""
    subjects = set(registry.get("/subjects"))
    compat = by_labels(snap, cat.SUBJECT_COMPATIBILITY)
    versions = by_labels(snap, cat.SUBJECT_VERSIONS)
    latest = by_labels(snap, cat.SUBJECT_LATEST_VERSION)
    ids = by_labels(snap, cat.SUBJECT_LATEST_ID)
    assert {k[0] for k in versions} == subjects
    assert snap.value(cat.REGISTRY_SUBJECTS) == len(subjects)
    global_level = registry.get("/config")["compatibilityLevel"]
    assert snap.value(cat.REGISTRY_GLOBAL_COMPATIBILITY, global_level) == 1
    for subject in subjects:
        q = quote(subject, safe="")
        listed = registry.get(f"/subjects/{q}/versions")
        newest = registry.get(f"/subjects/{q}/versions/latest")
        level = registry.get(f"/config/{q}")["compatibilityLevel"]
        assert versions[(subject,)] == len(listed)
        kind = newest.get("schemaType", "AVRO")
        assert latest[(subject, kind)] == newest["version"] == max(listed)
        assert ids[(subject,)] == newest["id"]
        [(labels, one)] = [(k, v) for k, v in compat.items() if k[0] == subject]
        assert one == 1 and labels[1] == level, labels
    return subjects


def test_signals_equal_the_registry_api(
    kafka_single: KafkaCluster,
    schema_registry: SchemaRegistry,
    poller_for: Callable[..., Poller],
    unique_name: Callable[[str], str],
) -> None:
    bootstrap = kafka_single.bootstrap_servers
    avro_topic, raw_topic, tool_topic = (
        unique_name("orders"),
        unique_name("raw"),
        "_" + unique_name("x"),
    )
    for topic in (avro_topic, raw_topic, tool_topic):
        clients.create_topic(bootstrap, topic, partitions=1)
    orders, loose, events = f"{avro_topic}-value", unique_name("loose"), unique_name("events")
    schema_registry.register(orders, order_schema())
    # a backward-compatible change: a new field with a default
    schema_registry.register(
        orders, order_schema({"name": "note", "type": "string", "default": ""})
    )
    schema_registry.register(loose, order_schema())
    schema_registry.set_compatibility("NONE", loose)
    events_schema = {"type": "object", "properties": {"id": {"type": "integer"}}}
    schema_registry.register(events, json.dumps(events_schema), schema_type="JSON")

    poller = poller_for(schema_registry.url, [avro_topic, raw_topic, tool_topic])
    snap = poll_until_read(poller)
    assert snap.value(own.UP, "schema_registry", "") == 1
    seen = assert_equals_registry_api(snap, schema_registry)
    assert {orders, loose, events} <= seen
    compat = by_labels(snap, cat.SUBJECT_COMPATIBILITY)
    assert compat[(loose, "NONE", "subject")] == 1
    # Apicurio answers a subject without a level of its own with the global one, even with
    # defaultToGlobal=false, so inherited and explicitly equal cannot be told apart there
    assert compat[(orders, "BACKWARD", "unknown")] == 1
    assert by_labels(snap, cat.SUBJECT_LATEST_VERSION)[(events, "JSON")] == 1
    registered = by_labels(snap, cat.TOPIC_VALUE_SUBJECT)
    assert registered == {(avro_topic, orders): 1, (raw_topic, f"{raw_topic}-value"): 0}
    regs = by_labels(snap, cat.SUBJECT_REGISTRATIONS)
    assert regs[(orders,)] == 0  # listed at the first poll: history unknown
    assert snap.value(admin.TOPIC_PARTITIONS, avro_topic) == 1

    # a registration outside a deployment, a new subject, a compatibility change
    schema_registry.register(orders, order_schema({"name": "note", "type": ["null", "string"],
                                                   "default": None}))  # fmt: skip
    fresh = unique_name("fresh")
    schema_registry.register(fresh, order_schema())
    schema_registry.register(fresh, order_schema({"name": "x", "type": "int", "default": 0}))
    schema_registry.set_compatibility("NONE", orders)
    # the next poll reads the new subject, and the subject read before that the new-id probe
    # names (its new version and its level), past the ids used up by registering content the
    # registry held already (`fresh`'s first version, the first listing's subjects)
    snap = poller.poll_once()
    assert_equals_registry_api(snap, schema_registry)
    regs = by_labels(snap, cat.SUBJECT_REGISTRATIONS)
    assert regs[(orders,)] == 1
    assert regs[(fresh,)] == 2  # a subject listed after the first poll: all its versions
    assert by_labels(snap, cat.SUBJECT_COMPATIBILITY)[(orders, "NONE", "subject")] == 1
    # the second poll read again only what changed or was due, with few requests
    # (the listing, the id probe's rounds, 3 for each of the two subjects)
    requests = snap.value(cat.REGISTRY_POLL_REQUESTS)
    assert requests is not None and requests <= 2 + 3 * ID_PROBE_WINDOW + 1 + 3 * 2, requests

    # a deleted subject is missing from the listing and from the second listing that a missing
    # subject asks for: its series go in that same poll
    schema_registry.request("DELETE", f"/subjects/{quote(loose, safe='')}")
    snap = poller.poll_once()
    assert (loose,) not in by_labels(snap, cat.SUBJECT_VERSIONS)
    assert {orders, fresh} <= assert_equals_registry_api(snap, schema_registry)


def test_registry_stopped_and_started(
    schema_registry: SchemaRegistry,
    poller_for: Callable[..., Poller],
    kafka_single: KafkaCluster,
    unique_name: Callable[[str], str],
    request: pytest.FixtureRequest,
) -> None:
    topic = unique_name("t")
    value = f"{topic}-value"
    clients.create_topic(kafka_single.bootstrap_servers, topic, partitions=2)

    def new_content() -> dict[str, object]:  # an id of its own (not held under another subject)
        return order_schema({"name": unique_name("f").replace("-", "_"), "type": "int",
                             "default": 0})  # fmt: skip

    for _ in range(6):  # new content: ids the restarted registry will not reach in this test
        schema_registry.register(unique_name("s"), new_content())
    poller = poller_for(schema_registry.url, [topic])
    poller.poll_once()  # a listing without the subject: the next poll reads it as new, itself
    old_id = schema_registry.register(value, new_content())
    # a source of its own, besides the poller's, never polled while the registry is down: the
    # highest schema id it knows must come down, and the ids reset alone must make it read again
    config = SchemaRegistryConfig(url=schema_registry.url, timeout_seconds=5, refresh_per_cycle=0)
    source = SchemaRegistrySource(config)
    request.addfinalizer(source.close)

    def polled_after_reads_between() -> RegistryReading:
        wait_for(lambda: not source.reading_between_polls, 30, "the reads between polls",
                 interval=0.02)  # fmt: skip
        return source.read()

    source.read()
    read = polled_after_reads_between()
    high = read.max_schema_id
    assert high >= old_id >= 7 and read.subjects[value].latest_id == old_id, (high, old_id)
    before = poller.poll_once()
    assert before.value(own.UP, "schema_registry", "") == 1
    assert by_labels(before, cat.SUBJECT_LATEST_ID)[(value,)] == old_id
    counted = by_labels(before, cat.SUBJECT_REGISTRATIONS)[(value,)]
    assert counted == 1  # new since the first listing: all of its versions
    kafka_families = {m.name for m in before.families if m.source == "admin"}
    schema_registry.stop()
    try:
        down = poller.poll_once()
    finally:
        schema_registry.start()
    assert down.value(own.UP, "schema_registry", "") == 0
    assert down.value(own.UP, "admin", "") == 1
    assert down.value(cat.REGISTRY_ERRORS, "unreachable") == 1
    assert down.value(own.POLL_ERRORS, "schema_registry") == 1
    assert {m.name for m in down.families if m.source == "admin"} == kafka_families
    assert by_labels(down, admin.TOPIC_PARTITIONS) == by_labels(before, admin.TOPIC_PARTITIONS)
    assert not [
        m.name for m in down.families if m.source == "registry" and m is not cat.REGISTRY_ERRORS
    ]  # fmt: skip  (no stale series)
    # started again (empty: it keeps its state in memory); the subject registered again, with
    # the same version number, other content and another id (ids start from 1 again)
    schema_registry.register(unique_name("filler"), new_content())
    new_id = schema_registry.register(value, new_content())
    assert new_id < old_id
    # answering within one cycle, and that cycle reads the subject again itself (a restart
    # seen: the poll before found nothing answering, and the highest id known is gone), not
    # reusing its latest version read before because the version numbers are the same
    up = poller.poll_once()
    assert up.value(own.UP, "schema_registry", "") == 1
    assert up.value(cat.REGISTRY_SUBJECTS) == 2
    assert by_labels(up, cat.TOPIC_VALUE_SUBJECT) == {(topic, value): 1}
    assert by_labels(up, cat.SUBJECT_LATEST_ID)[(value,)] == new_id
    assert by_labels(up, cat.SUBJECT_VERSIONS)[(value,)] == 1
    assert by_labels(up, cat.SUBJECT_REGISTRATIONS)[(value,)] == counted  # back, not new
    # a version that truly is new (past the latest number read before the restart) counts
    schema_registry.register(value, new_content())

    def grown() -> Snapshot | None:
        snap = poller.poll_once()
        return snap if by_labels(snap, cat.SUBJECT_VERSIONS).get((value,)) == 2 else None

    snap = wait_for(grown, 20, "the new version polled", interval=0.05)
    assert by_labels(snap, cat.SUBJECT_REGISTRATIONS)[(value,)] == counted + 1
    # the source not polled while down: the ids reset alone makes it read the subject again
    again = unique_name("again")
    schema_registry.register(again, order_schema())
    read = source.read()
    assert again in read.subjects and read.subjects[value].latest_id != old_id
    assert read.subjects[value].versions == 2
    # its ids start from 1 again: the highest known is gone, searched again, and a new version
    # of a subject read since is found by the next poll's probe, not hidden below the old highest
    again_id = schema_registry.register(again, order_schema({"name": "x", "type": "int",
                                                             "default": 0}))  # fmt: skip
    after = polled_after_reads_between()
    assert after.max_schema_id == again_id < high, (after.max_schema_id, again_id, high)
    assert after.subjects[again].versions == 2


class BadRegistry:
    """A tiny HTTP server answering every GET with one kind of bad answer."""

    ANSWERS: ClassVar[dict[str, tuple[int, str, bytes]]] = {
        "html": (502, "text/html", b"<html><body><h1>502 Bad Gateway</h1></body></html>"),
        "truncated": (200, "application/json", b'{"compatibilityLevel": "BACK'),
        "unauthorized": (401, "application/json", b'{"error_code":401,"message":"Unauthorized"}'),
        "redirect": (302, "text/plain", b""),
    }

    def __init__(self, kind: str) -> None:
        status, content_type, body = self.ANSWERS[kind]

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(status)
                if status == 302:  # to itself: a redirect loop for a client that follows
                    self.send_header("Location", self.path)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/apis/ccompat/v7"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize(
    ("kind", "error_kind"),
    [("html", "bad_answer"), ("truncated", "bad_answer"), ("unauthorized", "http_401"),
     ("redirect", "redirect")],
)  # fmt: skip
def test_bad_answers_give_one_health_error_and_the_cycle_goes_on(
    kind: str,
    error_kind: str,
    kafka_single: KafkaCluster,
    poller_for: Callable[..., Poller],
    unique_name: Callable[[str], str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    topic = unique_name("t")
    clients.create_topic(kafka_single.bootstrap_servers, topic, partitions=1)
    server = BadRegistry(kind)
    try:
        poller = poller_for(server.url, [topic])
        snap = poller.poll_once()
    finally:
        server.stop()
    assert snap.value(own.UP, "schema_registry", "") == 0
    assert snap.value(cat.REGISTRY_ERRORS, error_kind) == 1
    assert snap.value(own.POLL_ERRORS, "schema_registry") == 1
    assert snap.value(own.UP, "admin", "") == 1
    assert snap.value(admin.TOPIC_PARTITIONS, topic) == 1
    [failed] = [s for s in poller.last_stages if not s.ok]
    assert failed.stage == "schema_registry" and "\n" not in (failed.error or "")
    assert "Traceback" not in caplog.text


def test_without_reads_between_polls_the_poll_reads_while_its_budget_lasts(
    schema_registry: SchemaRegistry, unique_name: Callable[[str], str]
) -> None:
    """With `cold_read_concurrency` 0 nothing is read between polls: each poll reads the subjects
    never read and the oldest itself, and stops when `refresh_budget_seconds` is spent. With 0
    only the one read each connection starts whatever the budget goes on (one connection here);
    with a budget every subject is read again, so a compatibility change alone is seen."""
    names = [unique_name("budget") for _ in range(6)]
    for name in names:
        schema_registry.register(name, order_schema())
    outcome = {}
    for budget, connections in ((0.0, 1), (60.0, 4)):
        # a short deadline: a request the loaded registry does not answer fails the test quickly
        config = SchemaRegistryConfig(url=schema_registry.url, timeout_seconds=10,
                                      concurrency=connections, refresh_budget_seconds=budget,
                                      cold_read_concurrency=0)  # fmt: skip
        source = SchemaRegistrySource(config)
        try:
            first = source.read()
            assert not source.reading_between_polls  # nothing between polls
            for _ in range(200):  # with budget 0: one subject per poll until all are read
                if first.unread == 0:
                    break
                assert first.refreshed == 1 or budget > 0, first.refreshed
                first = source.read()
            assert set(names) <= first.subjects.keys()
            level = "NONE" if budget == 0 else "FULL"
            for name in names:
                schema_registry.set_compatibility(level, name)
            second = source.read()
        finally:
            source.close()
        seen = [n for n in names if second.subjects[n].compatibility == level]
        outcome[budget] = (second.refreshed, len(seen))
    assert outcome[0.0][0] <= 1 and outcome[0.0][1] <= 1, outcome
    assert outcome[60.0][1] == len(names), outcome


def test_apicurio_schemas_listing_names_no_subject(
    schema_registry: SchemaRegistry, unique_name: Callable[[str], str]
) -> None:
    """Apicurio 3.3.3's `GET /schemas` takes Confluent's parameters but lists each version's
    schema text without its subject, version or id, so it cannot replace the per-subject reads
    (docs/schema-registry.md, where Apicurio differs). Its `limit` pages over every version
    before `subjectPrefix` filters the page: a limit past every version in the shared registry."""
    name = unique_name("bulk")
    schema_registry.register(name, order_schema())
    listing = schema_registry.get(f"/schemas?subjectPrefix={name}&offset=0&limit=1000000")
    assert isinstance(listing, list) and len(listing) == 1, listing
    assert "schema" in listing[0] and not {"subject", "version", "id"} & listing[0].keys()
