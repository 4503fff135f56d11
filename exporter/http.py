"""The web endpoint: `/metrics` copies pre-rendered bytes; `/healthz`, `/ready` and `/` say how the
process is doing. A request never waits on Kafka or JMX.

This module holds what is answered (`answer`: routing, negotiation, basic auth, the landing page);
`exporter.http_server` holds how (an event loop that limits only requests in flight and closes
idle and slow connections by their deadlines), and `exporter.http_parse` the request parsing.

Negotiation: OpenMetrics when `Accept` asks for `application/openmetrics-text` at least as much as
for text/plain, gzip when `Accept-Encoding` allows it. Only GET and HEAD are served (others: 405);
a request announcing a body is answered and the connection closed.

Hooks for TLS and basic auth: `ServerOptions.ssl_context` is used for every accepted connection
(the handshake runs under the request deadline), and `ServerOptions.authorize` is asked about
every request's `Authorization` header (False: 401), except on /healthz and /ready.
"""

from __future__ import annotations

import errno
import functools
import html
import logging
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus

from exporter.config.model import DEFAULT_PORT
from exporter.config.values import host_port
from exporter.http_parse import Request
from exporter.http_server import EventLoopServer, Response
from exporter.render import Exposition

log = logging.getLogger(__name__)

_PLAIN = "text/plain; charset=utf-8"
_OPEN_PATHS = ("/healthz", "/ready")
"""Served without basic auth: probes carry no credentials, and the answers hold no data."""


@dataclass(frozen=True, slots=True)
class ServerOptions:
    listen_address: str = f":{DEFAULT_PORT}"
    telemetry_path: str = "/metrics"
    summary: tuple[tuple[str, str], ...] = ()
    """Settings shown on the landing page (already without secrets)."""
    version: str = ""
    request_timeout: float = 10.0
    """Seconds for a request's line and headers (and the TLS handshake) to arrive."""
    write_timeout: float = 60.0
    max_in_flight: int = 64
    """Requests being answered at once; idle connections do not count."""
    max_connections: int = 10_000
    """Connections held at once (also kept under the descriptor limit); past it the oldest idle
    connection is closed for the new one."""
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


def answer(options: ServerOptions, state: ServingState, request: Request) -> Response:
    """The response to one parsed request (runs in the server's worker threads)."""
    head = request.method == "HEAD"
    if request.method not in ("GET", "HEAD"):
        return Response(HTTPStatus.METHOD_NOT_ALLOWED, b"405 method not allowed\n", _PLAIN,
                        {"Allow": "GET, HEAD"}, close=True)  # fmt: skip
    path = request.path
    if (
        options.authorize is not None
        and path not in _OPEN_PATHS
        and not options.authorize(request.header("authorization"))
    ):
        return Response(HTTPStatus.UNAUTHORIZED, b"401 unauthorized\n", _PLAIN,
                        {"WWW-Authenticate": 'Basic realm="kafka-vitals"'}, head=head)  # fmt: skip
    if path == options.telemetry_path:
        exposition = state.exposition
        om = wants_openmetrics(request.header("accept"))
        gz = accepts_gzip(request.header("accept-encoding"))
        extra = {"Vary": "Accept, Accept-Encoding"}
        if gz:
            extra["Content-Encoding"] = "gzip"
        body, *rest = exposition.body(openmetrics=om, gzipped=gz)
        return Response(HTTPStatus.OK, body, Exposition.content_type(openmetrics=om), extra,
                        head=head, rest=tuple(rest))  # fmt: skip
    if path == "/healthz":
        return Response(HTTPStatus.OK, b"ok\n", _PLAIN, {}, head=head)
    if path == "/ready":
        if state.ready():
            return Response(HTTPStatus.OK, b"ready\n", _PLAIN, {}, head=head)
        body = b"not ready: no successful poll of the Kafka Admin API yet\n"
        return Response(HTTPStatus.SERVICE_UNAVAILABLE, body, _PLAIN, {}, head=head)
    if path == "/":
        page = landing_page(options, state)
        return Response(HTTPStatus.OK, page, "text/html; charset=utf-8", {}, head=head)
    return Response(HTTPStatus.NOT_FOUND, b"404 not found\n", _PLAIN, {}, head=head)


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


def _bind(listen_address: str) -> socket.socket:
    host, port = host_port(listen_address)
    if host:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        return _bound(family, host, port)
    try:  # `:port`: every interface, IPv6 and IPv4 on one socket where the kernel has IPv6
        return _bound(socket.AF_INET6, "::", port)
    except OSError as exc:
        if exc.errno not in (errno.EAFNOSUPPORT, errno.EADDRNOTAVAIL):
            raise
        return _bound(socket.AF_INET, "0.0.0.0", port)


def _bound(family: socket.AddressFamily, host: str, port: int) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6 and host == "::":  # `:port` also serves IPv4
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind((host, port))
        sock.listen(1024)
    except BaseException:
        sock.close()
        raise
    return sock


class MetricsServer:
    """The listening server; the constructor binds at once (so a taken port fails early)."""

    def __init__(self, options: ServerOptions, state: ServingState) -> None:
        self._sock = _bind(options.listen_address)
        self._port = int(self._sock.getsockname()[1])
        self._server = EventLoopServer(
            self._sock,
            functools.partial(answer, options, state),
            server_name=f"kafka-vitals/{options.version}".rstrip("/"),
            request_timeout=options.request_timeout,
            write_timeout=options.write_timeout,
            max_in_flight=options.max_in_flight,
            max_connections=options.max_connections,
            ssl_context=options.ssl_context,
        )

    @property
    def port(self) -> int:
        return self._port

    @property
    def connections(self) -> int:
        """Connections held right now."""
        return self._server.connections

    def start(self) -> None:
        self._server.start()

    def stop(self) -> None:
        self._server.stop()
