"""The web server: negotiation (gzip, OpenMetrics), health and readiness, errors for bad
requests, slow clients, too many connections, and the TLS/auth hooks."""

from __future__ import annotations

import gzip
import http.client
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from exporter.config.keys import summary
from exporter.configure import load_config
from exporter.http import (
    MetricsServer,
    ServerOptions,
    ServingState,
    accepts_gzip,
    wants_openmetrics,
)
from exporter.http_server import STALL_SECONDS
from exporter.render import CONTENT_TYPE_OPENMETRICS, CONTENT_TYPE_TEXT, Exposition, Renderer
from exporter.sources.process import FAMILIES
from tests.openmetrics import parse_openmetrics
from tests.snapshots import golden_snapshot

HEALTHZ = b"GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n"
PROMETHEUS_ACCEPT = (
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
    "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)


class Ready:
    def __init__(self) -> None:
        self.value = False

    def __call__(self) -> bool:
        return self.value


@pytest.fixture
def ready() -> Ready:
    return Ready()


def _start(ready: Ready, **options: object) -> tuple[MetricsServer, ServingState]:
    state = ServingState(Renderer().render(golden_snapshot()), ready)
    opts = ServerOptions(listen_address="127.0.0.1:0", version="0.0.0-test", **options)  # type: ignore[arg-type]
    server = MetricsServer(opts, state)
    server.start()
    return server, state


@pytest.fixture
def server(ready: Ready) -> Iterator[tuple[MetricsServer, ServingState]]:
    srv, state = _start(ready, request_timeout=1.0)
    yield srv, state
    srv.stop()


def _get(
    port: int, path: str, method: str = "GET", **headers: str
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, headers={k.replace("_", "-"): v for k, v in headers.items()})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def _raw(port: int, data: bytes, timeout: float = 10.0) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
        return b"".join(chunks)


def test_metrics_plain_gzip_and_openmetrics(server: tuple[MetricsServer, ServingState]) -> None:
    srv, state = server
    exposition = state.exposition
    status, headers, body = _get(srv.port, "/metrics")
    assert status == 200 and headers["content-type"] == CONTENT_TYPE_TEXT
    assert body == exposition.text and "content-encoding" not in headers
    assert headers["vary"] == "Accept, Accept-Encoding"

    status, headers, body = _get(srv.port, "/metrics", Accept_Encoding="gzip, deflate")
    assert headers["content-encoding"] == "gzip"
    assert gzip.decompress(body) == exposition.text

    status, headers, body = _get(srv.port, "/metrics?x=1", Accept=PROMETHEUS_ACCEPT)
    assert headers["content-type"] == CONTENT_TYPE_OPENMETRICS
    assert body.endswith(b"# EOF\n")
    assert list(parse_openmetrics(body.decode()))

    _, headers, body = _get(srv.port, "/metrics", Accept=PROMETHEUS_ACCEPT, Accept_Encoding="gzip")
    assert gzip.decompress(body) == exposition.openmetrics

    _, headers, _ = _get(srv.port, "/metrics", Accept="text/plain;version=0.0.4")
    assert headers["content-type"] == CONTENT_TYPE_TEXT

    status, headers, body = _get(srv.port, "/metrics", method="HEAD")
    assert status == 200 and body == b"" and int(headers["content-length"]) == len(exposition.text)


def test_negotiation_rules() -> None:
    assert wants_openmetrics(PROMETHEUS_ACCEPT)
    assert wants_openmetrics("application/openmetrics-text")
    assert not wants_openmetrics(None)
    assert not wants_openmetrics("text/plain;version=0.0.4")
    assert not wants_openmetrics("application/openmetrics-text;q=0")
    assert not wants_openmetrics("text/plain;q=1,application/openmetrics-text;q=0.5")
    assert accepts_gzip("gzip") and accepts_gzip("br, GZIP;q=0.5")
    assert not accepts_gzip("gzip;q=0") and not accepts_gzip("identity") and not accepts_gzip("")


def test_health_and_readiness(server: tuple[MetricsServer, ServingState], ready: Ready) -> None:
    srv, _ = server
    assert _get(srv.port, "/healthz")[0] == 200
    status, _, body = _get(srv.port, "/ready")
    assert status == 503 and b"not ready" in body
    ready.value = True
    assert _get(srv.port, "/ready")[:1] == (200,)


def test_unknown_paths_and_methods(server: tuple[MetricsServer, ServingState]) -> None:
    srv, _ = server
    assert _get(srv.port, "/nope")[0] == 404
    assert _get(srv.port, "/metrics/")[0] == 404
    status, headers, _ = _get(srv.port, "/metrics", method="POST")
    assert status == 405 and headers["allow"] == "GET, HEAD"
    assert _get(srv.port, "/metrics", method="DELETE")[0] == 405


def test_malformed_requests_get_4xx_and_the_server_keeps_serving(
    server: tuple[MetricsServer, ServingState],
) -> None:
    srv, _ = server
    cases = {
        b"GARBAGE\r\n\r\n": b"400",
        b"GET /metrics HTTP/1.1 extra\r\n\r\n": b"400",
        b"GET /metrics\r\n\r\n": b"400",
        b"GET /metrics HTTP/2.0\r\n\r\n": b"505",
        b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n": b"414",
        b"GET / HTTP/1.1\r\n" + b"".join(b"X-%d: y\r\n" % i for i in range(120)) + b"\r\n": b"431",
        b"GET / HTTP/1.1\r\nBad header line\r\n\r\n": b"400",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n": b"400",
    }
    for request, code in cases.items():
        answer = _raw(srv.port, request)
        assert answer.startswith(b"HTTP/1.1 " + code + b" "), (request[:40], answer[:80])
    assert _get(srv.port, "/healthz")[0] == 200


def test_request_with_body_is_answered_and_connection_closed(
    server: tuple[MetricsServer, ServingState],
) -> None:
    srv, _ = server
    answer = _raw(srv.port, b"POST /metrics HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello")
    assert answer.startswith(b"HTTP/1.1 405") and b"Connection: close" in answer


def test_keep_alive_serves_several_requests(server: tuple[MetricsServer, ServingState]) -> None:
    srv, _ = server
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    try:
        for _ in range(3):
            conn.request("GET", "/healthz")
            resp = conn.getresponse()
            assert resp.status == 200 and resp.read() == b"ok\n"
    finally:
        conn.close()


def test_slow_client_is_cut_off_and_others_are_served(
    server: tuple[MetricsServer, ServingState],
) -> None:
    srv, _ = server
    with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as slow:
        slow.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")  # never ends its headers
        started = time.monotonic()
        assert _get(srv.port, "/healthz")[0] == 200
        for _ in range(8):
            slow.sendall(b"X: y\r\n")  # drip-feeding does not extend the deadline
            time.sleep(0.1)
        try:
            rest = slow.recv(65536)
        except ConnectionResetError:
            rest = b""
        assert rest == b""
        assert time.monotonic() - started < 6.0


def test_idle_connections_over_the_limit_push_out_the_oldest_idle_one(ready: Ready) -> None:
    srv, _ = _start(ready, request_timeout=30.0, max_connections=16)
    try:
        idle = [socket.create_connection(("127.0.0.1", srv.port), timeout=10) for _ in range(16)]
        time.sleep(0.2)
        assert _raw(srv.port, HEALTHZ).startswith(b"HTTP/1.1 200")  # not refused
        assert idle[0].recv(1024) == b""  # the oldest idle connection made room
        idle[-1].sendall(HEALTHZ)  # the younger ones are still served
        assert idle[-1].recv(65536).startswith(b"HTTP/1.1 200")
        for sock in idle:
            sock.close()
    finally:
        srv.stop()


def test_requests_in_flight_are_limited_not_connections(ready: Ready) -> None:
    release = threading.Event()

    def slow_check(header: str | None) -> bool:
        return release.wait(10)

    srv, _ = _start(ready, max_in_flight=1, authorize=slow_check)
    try:
        idle = [socket.create_connection(("127.0.0.1", srv.port), timeout=10) for _ in range(50)]
        first = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
        first.sendall(b"GET /metrics HTTP/1.1\r\nConnection: close\r\n\r\n")
        deadline = time.monotonic() + 5
        while (answer := _raw(srv.port, HEALTHZ)).startswith(b"HTTP/1.1 200"):
            assert time.monotonic() < deadline, "the first request never got in flight"
            time.sleep(0.05)
        assert answer.startswith(b"HTTP/1.1 503") and b"Retry-After: 1" in answer
        release.set()
        assert first.recv(65536).startswith(b"HTTP/1.1 200")
        assert _raw(srv.port, HEALTHZ).startswith(b"HTTP/1.1 200")
        for sock in [first, *idle]:
            sock.close()
    finally:
        srv.stop()


def test_a_body_of_many_parts_is_sent_whole_in_order(ready: Ready) -> None:
    """A plain body is the renderer's family parts sent one after the other: small and large
    ones, across the 256 KiB slices, arrive whole and in order, plain and gzipped."""
    parts = [bytes([65 + i % 26]) * size for i, size in
             enumerate((10, 300_000, 3, 0, 262_144, 262_143, 1, 700_000, 50))]  # fmt: skip
    exposition = Exposition(parts, [b"# om\n", *parts], series=1, taken_at=1.0)
    srv = MetricsServer(
        ServerOptions(listen_address="127.0.0.1:0"), ServingState(exposition, ready)
    )
    srv.start()
    try:
        _, headers, body = _get(srv.port, "/metrics")
        assert body == b"".join(parts) and int(headers["content-length"]) == len(body)
        _, _, body = _get(srv.port, "/metrics", Accept_Encoding="gzip")
        assert gzip.decompress(body) == b"".join(parts)
        _, _, body = _get(srv.port, "/metrics", Accept=PROMETHEUS_ACCEPT)
        assert body == b"".join([b"# om\n", *parts, b"# EOF\n"])
    finally:
        srv.stop()


def test_a_client_that_asks_and_does_not_read_gives_way(ready: Ready) -> None:
    big = Exposition([b"x" * 40_000_000], [b"x" * 40_000_000], series=1, taken_at=1.0)
    state = ServingState(big, ready)
    srv = MetricsServer(ServerOptions(listen_address="127.0.0.1:0", max_in_flight=1), state)
    srv.start()
    try:
        stuck = socket.socket()
        stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stuck.connect(("127.0.0.1", srv.port))
        stuck.sendall(b"GET /metrics HTTP/1.1\r\n\r\n")  # and never reads
        time.sleep(STALL_SECONDS + 0.5)
        status, _, body = _get(srv.port, "/metrics")
        assert status == 200 and len(body) == 40_000_000
        stuck.close()
    finally:
        srv.stop()


def test_landing_page_links_and_no_secrets(ready: Ready, tmp_path: Path) -> None:
    config = load_config(
        None,
        env={
            "KAFKA_VITALS_KAFKA_BOOTSTRAP_SERVERS": "b:1",
            "KAFKA_VITALS_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
            "KAFKA_VITALS_KAFKA_SASL_MECHANISM": "PLAIN",
            "KAFKA_VITALS_KAFKA_SASL_USERNAME": "user",
            "KAFKA_VITALS_KAFKA_SASL_PASSWORD": "hunter2-secret",
            "KAFKA_VITALS_KAFKA_EXTRA_PROPERTIES": "sasl.oauthbearer.client.secret=oauth-secret",
        },
    )
    srv, _ = _start(ready, summary=summary(config))
    try:
        status, headers, body = _get(srv.port, "/")
    finally:
        srv.stop()
    page = body.decode()
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert '<a href="/metrics">' in page and '<a href="/ready">' in page
    assert "kafka.sasl_username" in page and "&lt;hidden&gt;" in page
    assert "hunter2" not in page and "oauth-secret" not in page


def test_authorize_hook(ready: Ready) -> None:
    srv, _ = _start(ready, authorize=lambda header: header == "Basic dTpw")
    try:
        status, headers, _ = _get(srv.port, "/metrics")
        assert status == 401 and headers["www-authenticate"].startswith("Basic")
        assert _get(srv.port, "/metrics", Authorization="Basic dTpw")[0] == 200
    finally:
        srv.stop()


def test_tls_hook(ready: Ready, tmp_path: Path) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.fail("openssl is missing: install the Debian package `openssl`", pytrace=False)
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
         "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key),
         "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert, key)
    srv, _ = _start(ready, ssl_context=server_ctx, request_timeout=1.0)
    try:
        client_ctx = ssl.create_default_context(cafile=str(cert))
        conn = http.client.HTTPSConnection("127.0.0.1", srv.port, context=client_ctx, timeout=10)
        conn.request("GET", "/healthz")
        assert conn.getresponse().status == 200
        conn.close()
        with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as silent:
            assert silent.recv(1024) == b""  # no handshake: cut off at the request deadline
    finally:
        srv.stop()


def test_app_serves_own_metrics_before_the_first_poll() -> None:
    from exporter.app import App

    (port,) = _free_port()
    config = load_config(
        None,
        env={
            "KAFKA_VITALS_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9",
            "KAFKA_VITALS_WEB_LISTEN_ADDRESS": f"127.0.0.1:{port}",
        },
    )
    app = App(config)  # the poller is not started: no poll happens
    try:
        app.server.start()
        status, _, body = _get(port, "/metrics")
        assert status == 200
        names = {f.name for f in parse_openmetrics(app.state.exposition.openmetrics.decode())}
        # besides its own process_* and python_*, read at every scrape
        assert names == {"kafka_vitals_build_info", "kafka_vitals_poll_interval_seconds",
                         *(m.family for m in FAMILIES)}  # fmt: skip
        assert b"\nprocess_cpu_seconds_total " in body
        assert b"kafka_vitals_poll_interval_seconds 30\n" in body
        assert _get(port, "/ready")[0] == 503
        assert _get(port, "/healthz")[0] == 200
    finally:
        app.stop()


def _free_port() -> list[int]:
    from harness import procs

    return procs.free_ports(1)


def test_listen_on_all_interfaces_serves_ipv4(ready: Ready) -> None:
    state = ServingState(Renderer().render(golden_snapshot()), ready)
    srv = MetricsServer(ServerOptions(listen_address=":0"), state)
    srv.start()
    try:
        assert _get(srv.port, "/healthz")[0] == 200  # 127.0.0.1 through the dual-stack socket
    finally:
        srv.stop()
