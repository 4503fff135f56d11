"""Pure parts of the Schema Registry signals: the expected value subject per topic, the count of
new versions, the config rules, the HTTP answers judged without a registry, and what a poll reads
itself and what it leaves to the reader between polls."""

from __future__ import annotations

import re

import pytest

from exporter.catalog import registry as cat
from exporter.collectors.base import CycleData
from exporter.collectors.registry_subjects import (
    GONE_READINGS,
    RegistrySubjectsCollector,
    registrations,
)
from exporter.config import REGISTRY_EXCLUDED_TOPICS, Config
from exporter.configure import ConfigError, load_config
from exporter.domain import contract
from exporter.snapshot import SnapshotBuilder
from exporter.sources.payload_samples import wire_schema_id
from exporter.sources.registry_between import plan, quiet_seconds
from exporter.sources.registry_details import Cached, by_subject, schema_rows
from exporter.sources.registry_http import NOT_FOUND, RegistryHttp
from exporter.sources.registry_ids import (
    ID_LIMIT,
    ID_PROBE_WINDOW,
    IdProbe,
    changed_since_read,
    highest_id,
)
from exporter.sources.registry_model import RegistryError, RegistryReading, SubjectInfo
from exporter.sources.registry_restart import (
    restart_sign,
    reusable,
    stale_marks,
    versions_replaced,
)

SUBJECTS = {"orders-value", "orders-key", "pay-shop.Payment", "pay-key", "shop.Refund"}


@pytest.mark.parametrize(
    ("topic", "strategy", "records", "expected"),
    [
        ("orders", "topic", {}, ("orders-value", True)),
        ("pay", "topic", {}, ("pay-value", False)),
        ("pay", "topic_record", {}, ("pay-shop.Payment", True)),
        ("orders", "topic_record", {}, ("orders-value", True)),
        ("refunds", "topic_record", {}, ("refunds-*", False)),
        ("refunds", "record", {"refunds": "shop.Refund"}, ("shop.Refund", True)),
        ("refunds", "topic", {"refunds": "shop.Refund"}, ("shop.Refund", True)),
        ("other", "record", {"refunds": "shop.Refund"}, None),
    ],
)
def test_value_subject_by_strategy(
    topic: str, strategy: str, records: dict[str, str], expected: tuple[str, bool] | None
) -> None:
    prefixes = contract.topic_prefixes(SUBJECTS)
    found = contract.contract(topic, strategy, records, SUBJECTS, prefixes)
    assert (None if found is None else (found.subject, found.registered)) == expected


def test_key_subjects_do_not_register_a_topic_record_topic() -> None:
    assert "pay" in contract.topic_prefixes({"pay-x"})
    assert contract.topic_prefixes({"pay-key", "pay-", "nodash"}) == frozenset()


@pytest.mark.parametrize(
    ("topic", "excluded"),
    [("_schemas", True), ("__consumer_offsets", True), ("_confluent-monitoring", True),
     ("kafkasql-journal", True), ("kafkasql-snapshots", True), ("registry-events", True),
     ("connect-offsets", True), ("app-store-changelog", True), ("app-x-repartition", True),
     ("orders", False), ("connect-orders", False), ("registry-events-audit", False)],
)  # fmt: skip
def test_tool_topics_are_excluded_by_default(topic: str, excluded: bool) -> None:
    patterns = [re.compile(p) for p in REGISTRY_EXCLUDED_TOPICS]
    assert contract.excluded(topic, patterns) is excluded


def _counted(collector: RegistrySubjectsCollector, listed: set[str],
             read: dict[str, int]) -> dict[str, float | None]:  # fmt: skip
    """Feeds one reading (`read`: subject -> latest version) and returns the counters."""
    subjects = {n: SubjectInfo(n, v, v, 1, "AVRO", "BACKWARD", "global") for n, v in read.items()}
    reading = RegistryReading(0.0, 0.0, 0.0, "BACKWARD", subjects, frozenset(listed))
    out = SnapshotBuilder()
    collector.collect(CycleData(now=0.0, schema_registry=reading), out)
    snap = out.build(0.0)
    return {n: snap.value(cat.SUBJECT_REGISTRATIONS, n) for n in listed}


def test_a_subject_missing_from_one_reading_is_no_new_registration() -> None:
    """A listing or a read that missed a subject once (a page shifted by a concurrent change)
    neither restarts its counter nor counts its versions again; a subject back only after
    GONE_READINGS readings counts all of its versions, as a new one."""
    c = RegistrySubjectsCollector(Config())
    assert _counted(c, {"a", "b"}, {"a": 3}) == {"a": 0, "b": None}  # cold read: a read, b not
    assert _counted(c, {"a"}, {"a": 4}) == {"a": 1}  # b missed by this listing before its read
    assert _counted(c, {"a", "b"}, {"a": 4, "b": 2}) == {"a": 1, "b": 0}  # still history unknown
    assert _counted(c, {"b"}, {"b": 2}) == {"b": 0}  # a missed after it was read
    assert _counted(c, {"a", "b"}, {"a": 5, "b": 2}) == {"a": 2, "b": 0}  # back: goes on counting
    for _ in range(GONE_READINGS):
        _counted(c, {"b"}, {"b": 2})
    assert _counted(c, {"a", "b"}, {"a": 2, "b": 2}) == {"a": 2, "b": 0}  # deleted, created again


def test_registrations_counted_from_the_latest_version_number() -> None:
    assert registrations(None, 5, listed_at_start=True) == 0
    assert registrations(None, 3, listed_at_start=False) == 3
    assert registrations(3, 5, listed_at_start=False) == 2
    assert registrations(5, 5, listed_at_start=False) == 0
    assert registrations(5, 4, listed_at_start=False) == 0  # latest deleted: not a registration


@pytest.mark.parametrize(
    ("env", "problem"),
    [
        ({"URL": "ftp://x"}, "schema_registry.url: must be an http:// or https:// URL"),
        ({"URL": "http://u:p@x:1"}, "schema_registry.url: must not hold credentials"),
        ({"URL": "http://x:1", "BEARER_TOKEN": "t", "USERNAME": "u"},
         "schema_registry.bearer_token: set either"),
        ({"URL": "http://x:1", "TLS_CA_FILE": "/etc/hostname"},
         "schema_registry.tls_ca_file: needs an https:// url"),
        ({"URL": "http://x:1", "SUBJECT_STRATEGY": "record"}, "schema_registry.record_subjects"),
        ({"URL": "http://x:1", "SUBJECT_STRATEGY": "wrong"}, "schema_registry.subject_strategy"),
        ({"URL": "http://x:1", "TIMEOUT_SECONDS": "0"}, "schema_registry.timeout_seconds"),
        ({"URL": "http://x:1", "EXCLUDE_TOPIC_PATTERNS": "(bad"},
         "schema_registry.exclude_topic_patterns[0]"),
        ({"PAYLOAD_SAMPLING": "true"},
         "schema_registry.payload_sampling: needs schema_registry.url"),
        ({"URL": "http://x:1", "PAYLOAD_SAMPLE_MESSAGES": "0"},
         "schema_registry.payload_sample_messages"),
        ({"URL": "http://x:1", "PAYLOAD_SAMPLE_TIMEOUT_SECONDS": "-1"},
         "schema_registry.payload_sample_timeout_seconds"),
    ],
)  # fmt: skip
def test_config_rules(env: dict[str, str], problem: str) -> None:
    full = {"KAFKA_VITALS_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9092"}
    full.update({f"KAFKA_VITALS_SCHEMA_REGISTRY_{k}": v for k, v in env.items()})
    with pytest.raises(ConfigError) as err:
        load_config(env=full)
    key, _, fragment = problem.partition(": ")
    lines = err.value.problems
    assert any(line.startswith(key) and fragment in line for line in lines), lines
    assert "\n" not in "".join(err.value.problems)


def test_secret_token_from_env_is_never_shown() -> None:
    config = load_config(env={
        "KAFKA_VITALS_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9092",
        "KAFKA_VITALS_SCHEMA_REGISTRY_URL": "https://sr.example:8081",
        "KAFKA_VITALS_SCHEMA_REGISTRY_BEARER_TOKEN": "s3cr3t-token",
    })  # fmt: skip
    assert config.schema_registry.bearer_token.value == "s3cr3t-token"
    assert "s3cr3t" not in repr(config)


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [(200, b"<html>", "bad_answer"), (200, b'{"a": ', "bad_answer"), (401, b"{}", "http_401"),
     (500, b"<h1>oops</h1>", "bad_answer"), (301, b"", "redirect")],
)  # fmt: skip
def test_answers_that_are_errors(status: int, body: bytes, kind: str) -> None:
    with pytest.raises(RegistryError) as err:
        RegistryHttp._answer("/config", status, "/elsewhere", "text/html", body)
    assert err.value.kind == kind
    assert "\n" not in str(err.value)


def test_a_404_is_for_the_caller_to_judge() -> None:
    assert RegistryHttp._answer("/x", 404, "", "text/html", b"<html>") is NOT_FOUND
    assert RegistryHttp._answer("/x", 200, "", "application/json", b"[1]") == [1]


def test_wire_format_is_magic_byte_zero_and_a_four_byte_id() -> None:
    assert wire_schema_id(b"\x00\x00\x00\x01\x02") == 258
    assert wire_schema_id(b"\x00\xff\xff\xff\xff") == 2**32 - 1
    assert wire_schema_id(b'{"id"') is None  # raw JSON
    assert wire_schema_id(b"\x00\x00\x01") is None  # too short for an id
    assert wire_schema_id(b"") is None
    assert wire_schema_id(b"\x01\x00\x00\x00\x01") is None  # another magic byte


def test_payload_sampling_is_off_by_default() -> None:
    config = load_config(env={"KAFKA_VITALS_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9092",
                              "KAFKA_VITALS_SCHEMA_REGISTRY_URL": "http://x:1"})  # fmt: skip
    assert config.schema_registry.payload_sampling is False


def test_bulk_listing_rows_and_subjects() -> None:
    """A Confluent `GET /schemas` page: each version with subject, version, id and type (left out
    for Avro); per subject the versions and the latest one. Apicurio's items (the schema text
    only) mean no bulk listing; anything else is a bad answer."""
    page = [
        {"subject": "a", "version": 1, "id": 1, "schema": "{}"},
        {"subject": "b", "version": 1, "id": 2, "schemaType": "JSON", "schema": "{}"},
        {"subject": "a", "version": 3, "id": 5, "schema": "{}"},
        {"subject": "a", "version": 2, "id": 4, "schemaType": "AVRO", "schema": "{}"},
    ]
    rows = schema_rows(page, "/schemas")
    assert rows is not None
    subjects = by_subject(rows)
    assert subjects["a"].versions == (1, 2, 3) and subjects["b"].versions == (1,)
    a, b = subjects["a"].info, subjects["b"].info
    assert (a.versions, a.latest_version, a.latest_id, a.schema_type) == (3, 3, 5, "AVRO")
    assert (b.versions, b.latest_version, b.latest_id, b.schema_type) == (1, 1, 2, "JSON")
    assert schema_rows([{"schema": "{}"}, {"schema": "{}", "schemaType": "JSON"}], "/s") is None
    assert schema_rows([], "/s") == []
    for bad in ({"subject": "a"}, [{"subject": "a", "version": "1", "id": 1}], ["a"]):
        with pytest.raises(RegistryError, match=r"^GET /s: ") as err:
            schema_rows(bad, "/s")
        assert err.value.kind == "bad_answer"


@pytest.mark.parametrize("top", [0, 1, 2, 3, 4, 5000, 8191, 65536, ID_LIMIT - 1])
@pytest.mark.parametrize("width", [1, 4])
def test_highest_schema_id_found_in_rounds_of_probes(top: int, width: int) -> None:
    """The search for the highest schema id in use: ids 1..top exist; found exactly, in rounds of
    `width` probes each, far fewer rounds than ids (5,000 ids, 4 at a time: 9 rounds, where one
    at a time takes 25)."""
    rounds: list[list[int]] = []

    def exist(ids: list[int]) -> list[bool]:
        assert 0 < len(ids) <= width and ids == sorted(set(ids)), ids
        rounds.append(ids)
        return [1 <= n <= top for n in ids]

    assert highest_id(exist, width) == top
    assert len(rounds) <= (64 if width == 1 else 32), rounds
    if top == 5000:
        assert len(rounds) == (25 if width == 1 else 9), rounds


def _probe(probe: IdProbe, existing: set[int]) -> list[list[int]]:
    """Runs `probe` against a registry holding `existing` ids; returns its rounds."""
    rounds = [probe.first()]
    while rounds[-1]:
        rounds.append(probe.answer({n: n in existing for n in rounds[-1]}))
    return rounds[:-1]


W = ID_PROBE_WINDOW


def test_the_id_probe_steps_over_a_gap_of_used_up_ids_within_its_window() -> None:
    """Ids 11 to 10 + W - 1 used up (content registered again under other subjects), then a new
    one: found past the gap; a quiet registry costs the highest known and the window after it."""
    quiet = IdProbe(10)
    assert _probe(quiet, set(range(1, 11))) == [list(range(10, 11 + W))]
    assert (quiet.highest, quiet.touched_ids, quiet.lost) == (10, [], False)
    new = 10 + W
    probe = IdProbe(10)
    rounds = _probe(probe, set(range(1, 11)) | {new})
    assert (probe.highest, probe.touched_ids) == (new, [new])
    assert rounds[1:] == [list(range(11 + W, new + W + 1))]  # then W in a row missing past it
    far = IdProbe(10)  # a gap of W used-up ids: beyond the window
    _probe(far, set(range(1, 11)) | {new + 1})
    assert (far.highest, far.touched_ids) == (10, [])


def test_the_highest_id_read_covers_a_search_that_stopped_in_a_gap() -> None:
    """The search answered 1 (2-4 used up, 5 existing); the subjects read showed 5000: the
    probe asks the window after 1 and the window after 5000, and finds a new id past a gap there;
    the highest known is then 5000 or above, never stuck at 1."""
    existing = {1} | set(range(5, 5001)) | {5003}
    probe = IdProbe(1, seen=5000)
    rounds = _probe(probe, existing)
    assert rounds[0] == [1, *range(2, 2 + W), *range(5001, 5001 + W)]
    assert probe.highest == 5003 and 5003 in probe.touched_ids
    assert sum(len(r) for r in rounds) <= 1 + 3 * W
    idle = IdProbe(5003, seen=5003)  # the next poll: one window again
    assert _probe(idle, existing) == [list(range(5003, 5004 + W))] and idle.highest == 5003
    near = IdProbe(10, seen=10 + W)  # a read id within the window: no second window
    assert near.first() == list(range(10, 11 + W))


def test_an_id_names_a_change_only_for_a_version_not_read_yet() -> None:
    """Ids found past a search that stopped in a gap are new to the probe, not to the subjects
    read since: only a subject read without the version that uses the id changed."""
    read = {"a": (1, 2), "b": (1,)}.get
    uses = [("a", 2), ("b", 2), ("never", 1), ("a", None)]
    assert changed_since_read(uses, read) == {"a", "b"}
    assert changed_since_read([("a", 1), ("a", 2), ("b", 1)], read) == set()


def test_the_highest_id_gone_is_searched_again() -> None:
    """A registry restarted in memory gives ids from 1 again: the highest known (5000) is gone,
    so the probe says so (the source searches again and forgets the ids read), not stuck above
    every new id."""
    probe = IdProbe(5000, seen=5000)
    assert _probe(probe, {1, 2}) == [[5000, *range(5001, 5001 + W)]]
    assert probe.lost and probe.touched_ids == []
    fresh = IdProbe(0)  # nothing known yet: the window from 1
    assert _probe(fresh, {1, 2})[0] == list(range(1, 1 + W)) and fresh.highest == 2


def test_a_poll_reads_new_and_changed_subjects_and_leaves_the_rest_between_polls() -> None:
    """The poll reads the subjects new since the last listing, then those named by a new id; the
    reader between polls the subjects never read, then the `refresh` read longest ago, oldest
    first (a subject the poll reads is not refreshed too). Without a reader between polls
    (`cold_read_concurrency` 0) the poll reads them all, in that order."""
    listed = ["a", "b", "c", "d", "e", "new", "never"]
    read_at = {"a": 5.0, "b": 1.0, "c": 3.0, "d": 2.0, "e": 4.0}
    dirty = {"new", "e"}
    poll, between = plan(listed, read_at, dirty, 2, between=True)
    assert (poll, between) == (["new", "e"], ["never", "b", "d"])
    assert plan(listed, read_at, dirty, 2, between=False) == (["new", "e", "never", "b", "d"], [])
    assert plan(listed, read_at, dirty, 10, between=True)[1] == ["never", "b", "d", "c", "a"]
    assert plan(listed, read_at, set(), 0, between=True) == ([], ["new", "never"])
    assert plan(listed, {}, set(), 3, between=True) == ([], listed)  # after a start


def test_after_a_restart_every_subject_read_before_is_read_again_first_and_in_full() -> None:
    """The ids reset, or a poll that found nothing answering, is a restart; a timeout or a bad
    answer is not. The subjects read before are then read before those never read and the
    oldest-first refresh, and none reuses its latest version read before (same version numbers
    after a restart need not be the same schema), while a reading taken since may."""
    assert restart_sign(None, ids_lost=True) == "ids_reset"
    assert restart_sign(None, ids_lost=False, replaced=True) == "versions_replaced"
    assert restart_sign("unreachable", ids_lost=False) == "unreachable"
    assert restart_sign("http_503", ids_lost=False) == "http_503"
    for kind in (None, "timeout", "bad_answer", "http_401", "redirect", "http_500"):
        assert restart_sign(kind, ids_lost=False) is None, kind
    read_at = {"a": 5.0, "b": 1.0, "c": 3.0}
    dirty = stale_marks(read_at, 10.0)
    assert dirty == {"a": 10.0, "b": 10.0, "c": 10.0}
    listed = ["new", "a", "b", "c", "never"]
    assert plan(listed, read_at, {**dirty, "new": 10.0}, 2, between=True) == (
        ["new", "a", "b", "c"], ["never"])  # fmt: skip
    info = SubjectInfo("a", 1, 1, 7, "AVRO", "BACKWARD", "unknown")
    assert reusable(Cached(info, (1,), read_at=5.0), stale_before=10.0) is None
    since = Cached(info, (1,), read_at=10.0)
    assert reusable(since, stale_before=10.0) is since
    assert reusable(None, stale_before=-1.0) is None


def test_a_new_id_naming_a_version_read_with_another_id_is_a_restart() -> None:
    """A version's id never changes: a new id naming the latest version of a subject as read
    (version 1, read with id 7) means its versions were registered again. A new version, a
    subject never read, or the same id (an id only new to the probe) is no sign."""
    read = {"a": Cached(SubjectInfo("a", 1, 1, 7, "AVRO", "BACKWARD", "unknown"), (1,), 5.0)}
    assert versions_replaced({12: [("a", 1)]}, read.get)
    assert not versions_replaced({12: [("a", 2)], 13: [("b", 1)], 7: [("a", 1)]}, read.get)
    assert not versions_replaced({12: [("a", None)]}, read.get)
    assert not versions_replaced({}, read.get)


@pytest.mark.parametrize(("interval", "quiet"), [(30.0, 3.0), (12.0, 3.0), (10.0, 2.5),
                                                 (1.0, 0.25), (0.0, 0.0)])  # fmt: skip
def test_the_reader_between_polls_is_quiet_before_a_poll(interval: float, quiet: float) -> None:
    """3 s before the next poll is due, or a quarter of the interval when that is shorter, so
    that at short intervals (tests, demos) the reader still gets most of the interval."""
    assert quiet_seconds(interval) == quiet
