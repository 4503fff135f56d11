"""The event loop behind the web endpoint: one asyncio loop in one thread holds every connection.

Why an event loop: a connection that is idle or sends a byte a second costs a few kilobytes and
no thread, so thousands of them cannot use up what real scrapers need. What is limited:
- requests in flight (`max_in_flight`): from the moment a request's head has arrived until its
  answer is written. A new request finding them all taken closes the one whose writing has not
  progressed for the longest time, if that is over `STALL_SECONDS` (a client that asks and does
  not read); otherwise it gets 503;
- connections held (`max_connections`, and never more than the descriptors allow): a new
  connection over the limit closes the oldest idle one (waiting for its request) instead of being
  refused, so an idle flood pushes out itself, not the next scraper;
- time: a request's line and headers (and the TLS handshake before the first) must arrive
  within `request_timeout` of the connection waiting for it, however slowly they drip in;
  writing an answer must end within `write_timeout`.

The answer itself (basic auth check, making a body not made yet) runs in a small thread pool, so
a slow bcrypt check or the first gzip of a large body never stalls the loop.
"""

from __future__ import annotations

import asyncio
import asyncio.sslproto
import concurrent.futures
import contextlib
import logging
import resource
import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import formatdate
from http import HTTPStatus

from exporter.http_parse import (
    MAX_HEADERS,
    MAX_LINE,
    Refusal,
    Request,
    build_request,
    parse_headers,
    parse_request_line,
)

log = logging.getLogger(__name__)

TLS_READ_BUFFER = 16 * 1024
"""The event loop's TLS layer gives every connection a read buffer of 256 KiB (500 MiB for 2,000
connections); a request head fits in a few TLS records of at most 16 KiB each."""
if getattr(asyncio.sslproto.SSLProtocol, "max_size", 0) > TLS_READ_BUFFER:
    asyncio.sslproto.SSLProtocol.max_size = TLS_READ_BUFFER

STALL_SECONDS = 1.0
"""An answer whose writing has not progressed this long may be closed for a new request."""
CHUNK = 256 * 1024
"""Bodies are written in slices of this size, each waiting for the previous to drain: a client
that does not read holds at most a slice and the transport's buffer, not a copy of the body."""
FD_RESERVE = 256
"""Descriptors left for everything but web connections (Kafka, JMX, logs, the child process)."""
WORKERS = 2


@dataclass(slots=True)
class Response:
    status: HTTPStatus
    body: bytes
    content_type: str
    headers: dict[str, str]
    close: bool = False
    head: bool = False
    rest: tuple[bytes, ...] = ()
    """Sent right after `body`, one after the other (the rest of a scrape's answer: the cycle's
    family parts, the part made at the scrape): the pieces are never joined into one copy."""


Answer = Callable[[Request], Response]


class _Conn:
    __slots__ = ("busy", "progress", "writer")

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self.busy = False
        self.progress = 0.0


def raise_descriptor_limit() -> int:
    """Raise the soft limit of open descriptors to the hard limit; returns the soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        want = 1 << 20 if hard == resource.RLIM_INFINITY else hard
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
            soft = want
    return int(soft)


class EventLoopServer:
    """Serves `answer` on a bound listening socket from a loop in its own thread."""

    def __init__(
        self,
        sock: socket.socket,
        answer: Answer,
        *,
        server_name: str,
        request_timeout: float,
        write_timeout: float,
        max_in_flight: int,
        max_connections: int,
        ssl_context: ssl.SSLContext | Callable[[], ssl.SSLContext] | None,
    ) -> None:
        self._sock = sock
        self._answer = answer
        self._server_name = server_name
        self._request_timeout = request_timeout
        self._write_timeout = write_timeout
        self._max_in_flight = max_in_flight
        self._max_connections = max(16, min(max_connections, raise_descriptor_limit() - FD_RESERVE))
        self._ssl = ssl_context
        self._conns: dict[_Conn, None] = {}
        self._in_flight = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._pool = concurrent.futures.ThreadPoolExecutor(WORKERS, thread_name_prefix="http-work")

    @property
    def connections(self) -> int:
        return len(self._conns)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="http", daemon=True)
        self._thread.start()
        self._started.wait(10.0)

    def stop(self) -> None:
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None and self._thread is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(stopping.set)
            self._thread.join(5.0)
        else:
            self._sock.close()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except Exception:
            log.exception("web server loop failed")

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        server = await asyncio.start_server(
            self._connection, sock=self._sock, limit=MAX_LINE, backlog=1024
        )
        self._started.set()
        await self._stopping.wait()
        server.close()
        for conn in list(self._conns):
            conn.writer.transport.abort()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(server.wait_closed(), 2.0)

    # ---- one connection ------------------------------------------------------------------

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = _Conn(writer)
        self._conns[conn] = None
        if len(self._conns) > self._max_connections:
            self._close_oldest_idle(conn)
        loop = asyncio.get_running_loop()
        try:
            deadline = loop.time() + self._request_timeout
            if self._ssl is not None:
                context = self._ssl() if callable(self._ssl) else self._ssl
                async with asyncio.timeout_at(deadline):
                    await writer.start_tls(context)
            while True:
                try:
                    async with asyncio.timeout_at(deadline):
                        head = await self._read_head(reader)
                except TimeoutError:
                    log.debug("connection shut reason=request_timeout")
                    return
                if head is None:
                    return
                if isinstance(head, Refusal):
                    await self._refuse(conn, head)
                    return
                if not await self._serve(conn, head):
                    return
                deadline = loop.time() + self._request_timeout
        except (OSError, EOFError, TimeoutError, ssl.SSLError, asyncio.IncompleteReadError) as exc:
            log.debug("connection ended detail=%r", exc)
        except asyncio.CancelledError:  # the server is stopping (its answer pool shut down)
            log.debug("connection ended detail=server_stopping")
        except Exception:  # one connection's trouble never stops the server
            log.debug("connection failed", exc_info=True)
        finally:
            self._conns.pop(conn, None)
            writer.transport.abort()

    def _close_oldest_idle(self, newcomer: _Conn) -> None:
        for conn in self._conns:
            if conn is not newcomer and not conn.busy:
                log.debug("connection shut reason=too_many_connections")
                conn.writer.transport.abort()
                return

    async def _read_head(self, reader: asyncio.StreamReader) -> Request | Refusal | None:
        try:
            line = await reader.readuntil(b"\n")
        except asyncio.LimitOverrunError:
            return Refusal(HTTPStatus.REQUEST_URI_TOO_LONG, "Request-URI Too Long")
        except asyncio.IncompleteReadError:
            return None
        parsed = parse_request_line(line)
        if parsed is None or isinstance(parsed, Refusal):
            return parsed
        lines: list[bytes] = []
        while True:
            try:
                line = await reader.readuntil(b"\n")
            except asyncio.LimitOverrunError:
                return Refusal(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "Line too long")
            except asyncio.IncompleteReadError:
                return None
            if line in (b"\r\n", b"\n"):
                break
            lines.append(line)
            if len(lines) > MAX_HEADERS:
                return Refusal(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "Too many headers")
        headers = parse_headers(lines)
        if isinstance(headers, Refusal):
            return headers
        return build_request(parsed, headers)

    async def _refuse(self, conn: _Conn, refusal: Refusal) -> None:
        body = f"{int(refusal.status)} {refusal.reason}\n".encode()
        response = Response(refusal.status, body, "text/plain; charset=utf-8", {}, close=True)
        await self._write(conn, response)

    async def _serve(self, conn: _Conn, request: Request) -> bool:
        """Answer one request; False when the connection is to be closed."""
        if self._in_flight >= self._max_in_flight and not self._close_stalled():
            log.debug("request refused reason=too_many_requests_in_flight")
            body = b"503 too many requests in flight\n"
            busy = Response(HTTPStatus.SERVICE_UNAVAILABLE, body, "text/plain; charset=utf-8",
                            {"Retry-After": "1"}, close=True)  # fmt: skip
            await self._write(conn, busy)
            return False
        self._in_flight += 1
        conn.busy = True
        try:
            loop = asyncio.get_running_loop()
            conn.progress = float("inf")  # not stalled while the answer is being made
            response = await loop.run_in_executor(self._pool, self._answer, request)
            conn.progress = loop.time()
            if not request.keep_alive:
                response.close = True
            await self._write(conn, response)
            log.debug("request method=%s path=%r status=%d remote=%s", request.method,
                      request.path[:200], response.status,
                      (conn.writer.get_extra_info("peername") or ("-",))[0])  # fmt: skip
        finally:
            self._in_flight -= 1
            conn.busy = False
        return not response.close

    def _close_stalled(self) -> bool:
        """Close the in-flight answer stalled the longest, if over STALL_SECONDS."""
        loop = asyncio.get_running_loop()
        stalled = [c for c in self._conns if c.busy and loop.time() - c.progress > STALL_SECONDS]
        if not stalled:
            return False
        victim = min(stalled, key=lambda c: c.progress)
        log.debug("answer shut reason=stalled_while_requests_wait")
        victim.writer.transport.abort()
        victim.busy = False  # counted out when its task notices; not chosen twice
        return True

    async def _write(self, conn: _Conn, response: Response) -> None:
        lines = [
            f"HTTP/1.1 {int(response.status)} {response.status.phrase}",
            f"Server: {self._server_name}",
            f"Date: {formatdate(usegmt=True)}",
            f"Content-Type: {response.content_type}",
            f"Content-Length: {len(response.body) + sum(map(len, response.rest))}",
            *(f"{k}: {v}" for k, v in response.headers.items()),
        ]
        if response.close:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        pieces = () if response.head else (response.body, *response.rest)
        writer = conn.writer
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(self._write_timeout):
            if sum(map(len, pieces)) <= CHUNK:
                writer.write(b"".join((head, *pieces)))
                await writer.drain()
            else:
                # slices of CHUNK bytes, small pieces gathered into one write (a write is a
                # send call when the socket takes it at once), a large piece's slices written
                # as they are (no copy)
                batch: list[memoryview] = [memoryview(head)]
                size = len(head)
                for piece in pieces:
                    view = memoryview(piece)
                    for start in range(0, len(view), CHUNK):
                        batch.append(view[start : start + CHUNK])
                        size += len(batch[-1])
                        if size >= CHUNK:
                            writer.write(batch[0] if len(batch) == 1 else b"".join(batch))
                            batch.clear()
                            size = 0
                            await writer.drain()
                            conn.progress = loop.time()
                if batch:
                    writer.write(b"".join(batch))
                await writer.drain()
            if response.close:
                if writer.can_write_eof():
                    writer.write_eof()
                writer.close()
                with contextlib.suppress(OSError, ssl.SSLError, TimeoutError):
                    await asyncio.wait_for(writer.wait_closed(), 1.0)
