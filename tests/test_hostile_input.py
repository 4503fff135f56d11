"""Hostile names and hostile HTTP: awkward group and client ids always give valid exposition
(property-based round trips, `promtool check metrics`, and real groups on a broker), malformed or
oversized requests to the real `kafka-vitals serve` get 4xx while it keeps serving, and 50
concurrent scrapers all get complete, correct answers."""

from __future__ import annotations

import contextlib
import gzip
import random
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families as parse_text

from exporter.catalog import admin, jmx
from exporter.config import Config, KafkaConfig, PollConfig
from exporter.poller import Poller
from exporter.render import Renderer
from exporter.snapshot import SnapshotBuilder
from harness import clients
from harness.cluster import KafkaCluster
from harness.procs import HarnessError
from tests.exporter_probe import Exporter
from tests.exposition_check import check_metrics
from tests.openmetrics import parse_openmetrics

AWKWARD = (
    'double"quote', "single'quote", "back\\slash", "trailing\\", "new\nline", "carriage\rreturn",
    "tab\there", "nul\x00byte", "bell\x07", "del\x7f", "ünïcødé", "グループ", "emoji-😀-🔥",
    "rtl-\u202emirrored", "zero\u200bwidth", "line\u2028separator", "{braces}", "a=b,c=d",
    " leading and trailing ", "#hash # EOF", "x" * 5000, "\\n literally", "\\\"\n\\",
)  # fmt: skip
"""Every class of awkward character a group or client id can hold."""


def _round_trip(names: list[str]) -> None:
    """Render lag and client series labelled with `names`; both parsers give the names back."""
    b = SnapshotBuilder()
    for i, name in enumerate(names):
        b.add(admin.GROUP_LAG, (name, "orders", "0"), i)
        b.add(jmx.CLIENT_RECORDS_LAG_MAX, ("app-1", name), float(i))
    exposition = Renderer().render(b.build(1.0))
    want = {n for n in names if n}  # an empty label value is the same as no label
    for parse, body in ((parse_text, exposition.text), (parse_openmetrics, exposition.openmetrics)):
        got_groups, got_clients = set(), set()
        for family in parse(body.decode("utf-8")):
            for s in family.samples:
                if s.name == admin.GROUP_LAG.name:
                    got_groups.add(s.labels.get("consumergroup", ""))
                elif s.name == jmx.CLIENT_RECORDS_LAG_MAX.name:
                    got_clients.add(s.labels.get("client_id", ""))
        assert {g for g in got_groups if g} == want
        assert {c for c in got_clients if c} == want


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.text(st.characters(codec="utf-8"), max_size=40), min_size=1,
                max_size=8, unique=True))  # fmt: skip
def test_any_group_and_client_id_round_trips(names: list[str]) -> None:
    _round_trip(names)


def test_awkward_ids_pass_promtool() -> None:
    _round_trip(list(AWKWARD))
    b = SnapshotBuilder()
    for name in AWKWARD:
        b.add(admin.GROUP_LAG, (name, "orders", "0"), 1)
        b.add(admin.GROUP_MEMBERS, (name,), 2)
        b.add(jmx.CLIENT_RECORDS_LAG_MAX, ("app-1", name), 3.5)
    check_metrics(Renderer().render(b.build(1.0)).text)


# ---- real groups on a broker -----------------------------------------------------------------

BROKER_NAMES = [n for n in AWKWARD if "\x00" not in n] + ["g" * 20000]
"""librdkafka passes group ids as C strings, so a NUL cannot reach the broker from here (Kafka
itself would take it). Group ids are protocol strings of at most 32,767 bytes."""


def test_real_groups_with_awkward_names(
    kafka_single: KafkaCluster, unique_name: Callable[[str], str]
) -> None:
    bootstrap = kafka_single.bootstrap_servers
    topic = unique_name("awkward")
    clients.create_topic(bootstrap, topic)
    clients.produce_messages(bootstrap, topic, 5)
    prefix = unique_name("g") + "-"
    created, refused = [], {}
    for name in BROKER_NAMES:
        try:
            clients.commit_offsets(bootstrap, prefix + name, {(topic, 0): 2}, timeout=15)
            created.append(prefix + name)
        except HarnessError as exc:
            refused[name[:20]] = str(exc)[:200]
    assert not refused, refused
    config = Config(
        kafka=KafkaConfig(bootstrap_servers=bootstrap),
        poll=PollConfig(stage_timeout_seconds=30),
    )
    poller = Poller(config)
    try:
        snapshot = poller.poll_once()
    finally:
        poller.stop()
    for name in created:
        assert snapshot.value(admin.GROUP_LAG, name, topic, "0") == 3, name[:40]
    text = Renderer().render(snapshot).text
    check_metrics(text)
    families = parse_text(text.decode())
    lag = admin.GROUP_LAG.name
    seen = {s.labels["consumergroup"] for f in families for s in f.samples if s.name == lag}
    assert set(created) <= seen
    clients.delete_topic(bootstrap, topic)


# ---- hostile HTTP to the real server -----------------------------------------------------------


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Exporter]:
    """kafka-vitals serve with nothing to poll (the cluster port is closed): only HTTP matters."""
    config = {"kafka": {"bootstrap_servers": "127.0.0.1:9", "request_timeout_seconds": 1},
              "poll": {"interval_seconds": 60, "stage_timeout_seconds": 2}}  # fmt: skip
    exporter = Exporter(tmp_path_factory.mktemp("hostile-http"), config)
    yield exporter
    exporter.stop()


def _raw(port: int, data: bytes, timeout: float = 10.0) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        with contextlib.suppress(OSError):  # the server may hang up before reading it all
            sock.sendall(data)
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except ConnectionResetError:
            pass
        return b"".join(chunks)


MALFORMED = {
    "huge request line": (b"GET /" + b"a" * 100_000 + b" HTTP/1.1\r\n\r\n", (414,)),
    "huge header": (b"GET /metrics HTTP/1.1\r\nX-Big: " + b"b" * 100_000 + b"\r\n\r\n", (431,)),
    "too many headers": (b"GET /metrics HTTP/1.1\r\n" + b"X: y\r\n" * 500 + b"\r\n", (431,)),
    "binary garbage": (b"\x00\xff\xfe\x16\x03\x01\x02\x00" * 64 + b"\r\n\r\n", (400,)),
    "no version": (b"GET /metrics\r\n\r\n", (400,)),
    "bad version": (b"GET /metrics HTTP/9.9\r\n\r\n", (505,)),
    "header without colon": (b"GET /metrics HTTP/1.1\r\nnot a header\r\n\r\n", (400,)),
    "unknown method": (b"BREW /metrics HTTP/1.1\r\n\r\n", (501,)),
    "post with a big body": (
        b"POST /metrics HTTP/1.1\r\nContent-Length: 10000000\r\n\r\n" + b"z" * 1_000_000,
        (405,),
    ),
    "bad content length": (
        b"GET /metrics HTTP/1.1\r\nContent-Length: -5\r\nConnection: close\r\n\r\n",
        (200, 400),
    ),
    "percent garbage": (
        b"GET /%ff%00%zz/../../etc/passwd HTTP/1.1\r\nConnection: close\r\n\r\n",
        (404,),
    ),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_requests_get_4xx_and_serving_goes_on(served: Exporter, case: str) -> None:
    data, statuses = MALFORMED[case]
    answer = _raw(served.port, data)
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else None
    assert status in statuses, answer[:200]
    assert served.get("/healthz")[0] == 200
    assert served.process.alive()


def test_random_bytes_never_stop_the_server(served: Exporter) -> None:
    rnd = random.Random(1234)
    for _ in range(40):
        data = bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 3000)))
        answer = _raw(served.port, data + b"\r\n\r\n", timeout=15)
        assert answer == b"" or answer.startswith(b"HTTP/1."), answer[:80]
        if answer:
            assert 400 <= int(answer.split(b" ", 2)[1]) < 600
    assert served.get("/healthz")[0] == 200


def snapshot_part(body: bytes) -> bytes:
    """`body` without the exporter's own process and interpreter series (fresh at each scrape)."""
    own = (b"process_", b"python_", b"# HELP process_", b"# TYPE process_", b"# HELP python_",
           b"# TYPE python_", b"# UNIT process_")  # fmt: skip
    return b"".join(line for line in body.splitlines(keepends=True) if not line.startswith(own))


def test_fifty_concurrent_scrapers_get_complete_answers(
    kafka_single: KafkaCluster, tmp_path: Path
) -> None:
    config = {"kafka": {"bootstrap_servers": kafka_single.bootstrap_servers},
              "poll": {"interval_seconds": 600}}  # fmt: skip
    exporter = Exporter(tmp_path, config)
    try:
        first = exporter.wait_scrape("the first poll", lambda s: s.up() == 1, 60)
        fds_before = exporter.fds()
        results: list[tuple[str, int, bytes]] = []
        lock = threading.Lock()
        start = threading.Barrier(50)

        def scraper(i: int) -> None:
            kind = ("plain", "gzip", "openmetrics")[i % 3]
            headers = {"plain": {}, "gzip": {"Accept_Encoding": "gzip"},
                       "openmetrics": {"Accept": "application/openmetrics-text"}}[kind]  # fmt: skip
            start.wait(30)
            for _ in range(5):
                status, body = exporter.get("/metrics", timeout=10, **headers)
                with lock:
                    results.append((kind, status, body))

        threads = [threading.Thread(target=scraper, args=(i,)) for i in range(50)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert len(results) == 250 and all(status == 200 for _, status, _ in results)
        # one snapshot, the same bytes for everyone; only the exporter's own process_* and
        # python_* lines are read at each scrape
        plain = {snapshot_part(body) for kind, _, body in results if kind == "plain"}
        gzipped = {snapshot_part(gzip.decompress(body)) for kind, _, body in results
                   if kind == "gzip"}  # fmt: skip
        om_bodies = [body for kind, _, body in results if kind == "openmetrics"]
        om = {snapshot_part(body) for body in om_bodies}
        assert plain == gzipped and len(plain) == 1 and len(om) == 1
        assert plain.pop() == snapshot_part(first.text.encode())
        for om_body in om_bodies:
            assert om_body.endswith(b"# EOF\n")
            assert list(parse_openmetrics(om_body.decode()))
        assert exporter.fds() <= fds_before + 4  # every connection closed again
    finally:
        exporter.stop()


def test_slowloris_is_cut_off_by_the_deadline_and_scrapes_go_on(served: Exporter) -> None:
    """300 connections send a request head a few bytes at a time and never end it: the server
    serves /metrics meanwhile and closes each at its request deadline (10 s), whatever it sent."""
    fds_before = served.fds()
    socks = [socket.create_connection(("127.0.0.1", served.port), timeout=15) for _ in range(300)]
    started = time.monotonic()
    cut: set[int] = set()
    for sock in socks:
        sock.setblocking(False)
    while len(cut) < len(socks) and time.monotonic() - started < 20:
        for i, sock in enumerate(socks):
            if i in cut:
                continue
            try:
                sock.send(b"GET /metrics HTTP/1.1\r\nX-Drip: " if time.monotonic() - started < 1
                          else b"z")  # fmt: skip
                if sock.recv(1024) == b"":
                    cut.add(i)
            except BlockingIOError:
                pass
            except OSError:
                cut.add(i)
        assert served.get("/metrics", timeout=1.0)[0] == 200
        time.sleep(0.5)
    seconds = time.monotonic() - started
    for sock in socks:
        sock.close()
    assert len(cut) == len(socks), f"{len(socks) - len(cut)} slow connections still open"
    assert 9 < seconds < 20, seconds  # cut at the deadline, not at once and not never
    assert served.fds() <= fds_before + 4
