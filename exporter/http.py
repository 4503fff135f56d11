"""The web server: `/metrics` copies pre-rendered bytes; `/healthz`, `/ready` and `/` say how the
process is doing. A request never waits on Kafka or JMX.

Built on the standard library's threaded HTTP server, hardened for an endpoint anyone on the
network can reach:
- at most `max_connections` connections at once (more get 503 and are closed);
- a request must arrive, line and headers, within `request_timeout` seconds of the connection
  starting to wait for it, or the connection is shut (no slowloris hang); writing a response
  has its own socket timeout;
- malformed or oversized request lines and headers get a 4xx from the standard library; only GET
  and HEAD are served (others: 405); a request announcing a body is answered and the
  connection closed; errors in one connection never stop the server.

Negotiation: OpenMetrics when `Accept` asks for `application/openmetrics-text` at least as much as
for text/plain, gzip when `Accept-Encoding` allows it.

Hooks for TLS and basic auth: `ServerOptions.ssl_context` wraps every accepted connection (the
handshake runs in the connection's own thread, under the request deadline), and
`ServerOptions.authorize` is asked about every request's `Authorization` header (False: 401),
except on /healthz and /ready.
"""

from __future__ import annotations

import contextlib
import errno
import html
import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from exporter.config.values import host_port
from exporter.render import Exposition

log = logging.getLogger(__name__)

_PLAIN = "text/plain; charset=utf-8"
_OPEN_PATHS = ("/healthz", "/ready")
"""Served without basic auth: probes carry no credentials, and the answers hold no data."""


@dataclass(frozen=True, slots=True)
class ServerOptions:
    listen_address: str = ":9340"
    telemetry_path: str = "/metrics"
    summary: tuple[tuple[str, str], ...] = ()
    """Settings shown on the landing page (already without secrets)."""
    version: str = ""
    request_timeout: float = 10.0
    write_timeout: float = 60.0
    max_connections: int = 64
    ssl_context: ssl.SSLContext | Callable[[], ssl.SSLContext] | None = None
    """A context, or a function giving the context for each new connection (certificate reload)."""
    authorize: Callable[[str | None], bool] | None = None
    """Asked about the Authorization header of every request except /healthz and /ready."""


class ServingState:
    """What the server hands out: the latest exposition, and whether the exporter is ready.

    `publish` swaps the exposition with one reference assignment; readers never lock.
    """

    def __init__(self, exposition: Exposition, ready: Callable[[], bool]) -> None:
        self._exposition = exposition
        self._ready = ready

    @property
    def exposition(self) -> Exposition:
        return self._exposition

    def publish(self, exposition: Exposition) -> None:
        self._exposition = exposition

    def ready(self) -> bool:
        return self._ready()


def _quality(params: list[str]) -> float:
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                return float(value)
            except ValueError:
                return 0.0
    return 1.0


def wants_openmetrics(accept: str | None) -> bool:
    """True when the Accept header prefers OpenMetrics at least as much as the text format."""
    om = text = 0.0
    for item in (accept or "").split(","):
        media, *params = item.split(";")
        media = media.strip().lower()
        q = _quality(params)
        if media == "application/openmetrics-text":
            om = max(om, q)
        elif media in ("text/plain", "text/*", "*/*"):
            text = max(text, q)
    return om > 0 and om >= text


def accepts_gzip(accept_encoding: str | None) -> bool:
    for item in (accept_encoding or "").split(","):
        coding, *params = item.split(";")
        if coding.strip().lower() in ("gzip", "x-gzip") and _quality(params) > 0:
            return True
    return False


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    # the standard library's listen backlog is 5: a sixth scraper connecting at the same moment
    # has its SYN dropped and waits a second for the retransmit
    request_queue_size = 128

    def __init__(self, options: ServerOptions, state: ServingState) -> None:
        self.options = options
        self.state = state
        self._slots = threading.BoundedSemaphore(options.max_connections)
        self._deadlines: dict[socket.socket, float] = {}
        self._deadlines_lock = threading.Lock()
        host, port = host_port(options.listen_address)
        if ":" in host:
            self.address_family = socket.AF_INET6
        if host:
            super().__init__((host, port), _Handler)
            return
        try:  # `:port`: every interface, IPv6 and IPv4 on one socket where the kernel has IPv6
            self.address_family = socket.AF_INET6
            super().__init__(("::", port), _Handler)
        except OSError as exc:
            if exc.errno not in (errno.EAFNOSUPPORT, errno.EADDRNOTAVAIL):
                raise
            self.address_family = socket.AF_INET
            super().__init__(("0.0.0.0", port), _Handler)

    def server_bind(self) -> None:
        if self.address_family == socket.AF_INET6:  # `:port` also serves IPv4
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()

    def get_request(self) -> tuple[Any, Any]:
        sock, address = self.socket.accept()
        context = self.options.ssl_context
        if callable(context):
            context = context()
        if context is not None:
            sock = context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, address

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            log.warning("connection refused reason=too_many_connections remote=%s", client_address)
            try:
                request.settimeout(1.0)
                request.sendall(
                    b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
                    b"Connection: close\r\n\r\n"
                )
            except OSError:
                pass
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.unwatch(request)
            self._slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("connection failed remote=%s", client_address, exc_info=True)

    # ---- request deadlines ---------------------------------------------------------------

    def watch(self, sock: socket.socket) -> None:
        with self._deadlines_lock:
            self._deadlines[sock] = time.monotonic() + self.options.request_timeout

    def unwatch(self, sock: socket.socket) -> None:
        with self._deadlines_lock:
            self._deadlines.pop(sock, None)

    def reap(self) -> None:
        """Shut the connections whose request did not arrive in time."""
        now = time.monotonic()
        with self._deadlines_lock:
            late = [s for s, at in self._deadlines.items() if at <= now]
            for sock in late:
                del self._deadlines[sock]
        for sock in late:
            log.debug("connection shut reason=request_timeout")
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    # headers and body are two writes; with Nagle on, a body that ends in a partial segment waits
    # for the client's delayed ACK (40 ms) on every keep-alive request
    disable_nagle_algorithm = True
    default_request_version = "HTTP/1.0"  # so that even a garbled request gets a status line
    error_content_type = _PLAIN
    error_message_format = "%(code)d %(message)s\n"

    def setup(self) -> None:
        self.server.watch(self.request)
        super().setup()
        self.connection.settimeout(self.server.options.request_timeout)
        if isinstance(self.connection, ssl.SSLSocket):
            self.connection.do_handshake()

    def handle_one_request(self) -> None:
        self.server.watch(self.connection)
        super().handle_one_request()

    def version_string(self) -> str:
        return f"kafka-vitals/{self.server.options.version}".rstrip("/")

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        log.debug(
            "request method=%s path=%r status=%s remote=%s",
            self.command or "-",
            getattr(self, "path", "-")[:200],
            code,
            self.client_address[0],
        )

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("request problem remote=%s detail=%r", self.client_address[0], format % args)

    # ---- dispatch ----------------------------------------------------------------------------

    def do_GET(self) -> None:
        self._dispatch(head=False)

    def do_HEAD(self) -> None:
        self._dispatch(head=True)

    def _refuse_method(self) -> None:
        self.server.unwatch(self.connection)
        self.close_connection = True
        self._send(HTTPStatus.METHOD_NOT_ALLOWED, b"405 method not allowed\n", _PLAIN,
                   head=False, extra={"Allow": "GET, HEAD"})  # fmt: skip

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_TRACE = do_CONNECT = _refuse_method

    def _dispatch(self, *, head: bool) -> None:
        self.server.unwatch(self.connection)
        self.connection.settimeout(self.server.options.write_timeout)
        problem = ""
        if len(self.requestline.split()) != 3:  # HTTP/0.9 is not served
            problem = "HTTP version missing"
        elif self.headers.defects:  # e.g. a header line without a colon
            problem = "malformed header"
        if problem:
            self.close_connection = True
            self._send(HTTPStatus.BAD_REQUEST, f"400 {problem}\n".encode(), _PLAIN, head=head)
            return
        if self.headers.get("Content-Length", "0").strip() not in ("", "0") or self.headers.get(
            "Transfer-Encoding"
        ):
            self.close_connection = True  # the body is not read: the connection cannot be reused
        options = self.server.options
        path = self.path.split("?", 1)[0]
        if (
            options.authorize is not None
            and path not in _OPEN_PATHS
            and not options.authorize(self.headers.get("Authorization"))
        ):
            self._send(HTTPStatus.UNAUTHORIZED, b"401 unauthorized\n", _PLAIN, head=head,
                       extra={"WWW-Authenticate": 'Basic realm="kafka-vitals"'})  # fmt: skip
            return
        state = self.server.state
        if path == options.telemetry_path:
            self._metrics(head)
        elif path == "/healthz":
            self._send(HTTPStatus.OK, b"ok\n", _PLAIN, head=head)
        elif path == "/ready":
            if state.ready():
                self._send(HTTPStatus.OK, b"ready\n", _PLAIN, head=head)
            else:
                body = b"not ready: no successful poll of the Kafka Admin API yet\n"
                self._send(HTTPStatus.SERVICE_UNAVAILABLE, body, _PLAIN, head=head)
        elif path == "/":
            self._send(HTTPStatus.OK, landing_page(options, state), "text/html; charset=utf-8",
                       head=head)  # fmt: skip
        else:
            self._send(HTTPStatus.NOT_FOUND, b"404 not found\n", _PLAIN, head=head)

    def _metrics(self, head: bool) -> None:
        exposition = self.server.state.exposition
        om = wants_openmetrics(self.headers.get("Accept"))
        gz = accepts_gzip(self.headers.get("Accept-Encoding"))
        extra = {"Vary": "Accept, Accept-Encoding"}
        if gz:
            extra["Content-Encoding"] = "gzip"
        body = exposition.body(openmetrics=om, gzipped=gz)
        self._send(HTTPStatus.OK, body, Exposition.content_type(openmetrics=om), head=head,
                   extra=extra)  # fmt: skip

    def _send(
        self,
        status: HTTPStatus,
        body: bytes,
        content_type: str,
        *,
        head: bool,
        extra: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if not head:
            self.wfile.write(body)


def landing_page(options: ServerOptions, state: ServingState) -> bytes:
    """A small HTML page: links, readiness, data age and the settings (without secrets)."""
    e = html.escape
    exposition = state.exposition
    age = f"{time.time() - exposition.taken_at:.0f} s ago" if exposition.taken_at else "not yet"
    rows = "\n".join(
        f"<tr><td><code>{e(k)}</code></td><td><code>{e(v)}</code></td></tr>"
        for k, v in options.summary
    )
    path = e(options.telemetry_path)
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>kafka-vitals</title></head>
<body>
<h1>kafka-vitals {e(options.version)}</h1>
<p>Kafka exporter: polls in the background, serves the last complete snapshot.</p>
<ul>
<li><a href="{path}">{path}</a> &mdash; metrics ({exposition.series} series)</li>
<li><a href="/healthz">/healthz</a> &mdash; the process is alive</li>
<li><a href="/ready">/ready</a> &mdash; {"ready" if state.ready() else "not ready yet"}</li>
</ul>
<p>Last poll: {e(age)}</p>
<h2>Configuration</h2>
<table>
{rows}
</table>
</body></html>
"""
    return page.encode("utf-8")


class MetricsServer:
    """The listening server; `start` binds at once (so a taken port fails early)."""

    def __init__(self, options: ServerOptions, state: ServingState) -> None:
        self._server = _Server(options, state)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> None:
        serve = threading.Thread(
            target=self._server.serve_forever, args=(0.2,), name="http", daemon=True
        )
        reap = threading.Thread(target=self._reap, name="http-reaper", daemon=True)
        self._threads = [serve, reap]
        for thread in self._threads:
            thread.start()

    def _reap(self) -> None:
        while not self._stop.wait(0.25):
            self._server.reap()

    def stop(self) -> None:
        self._stop.set()
        if self._threads:
            self._server.shutdown()
        self._server.server_close()
        for thread in self._threads:
            thread.join(5.0)
