"""HTTP/1.x request heads, parsed by pure functions: the request line and the header lines in,
a `Request` or a `Refusal` (status and reason) out.

The rules are those the standard library's `BaseHTTPRequestHandler` applied before the server
moved to an event loop, so every answer to a malformed request stayed the same: a line longer
than `MAX_LINE` bytes is 414 (request line) or 431 (header), more than `MAX_HEADERS` headers 431,
a version that is not `HTTP/x.y` 400, HTTP/2 and later 505, an unknown method 501, a request
without a version (HTTP/0.9) or a header line without a colon 400.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from http import HTTPStatus

MAX_LINE = 65536
"""Longest request or header line, CRLF included."""
MAX_HEADERS = 100
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE",
                           "CONNECT"})  # fmt: skip
"""Methods answered at all (GET and HEAD served, the others 405); anything else is 501."""


@dataclass(frozen=True, slots=True)
class Refusal:
    status: HTTPStatus
    reason: str


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str
    """The target with its query string cut off."""
    version: tuple[int, int]
    headers: dict[str, str] = field(default_factory=dict)
    """Lower-case names; a repeated header keeps its first value."""
    keep_alive: bool = False
    has_body: bool = False
    """Content-Length other than 0, or Transfer-Encoding: the body is not read."""

    def header(self, name: str) -> str | None:
        return self.headers.get(name)


def parse_request_line(line: bytes) -> tuple[str, str, tuple[int, int]] | Refusal | None:
    """(method, target, version) of a request line; None for a blank line (nothing to answer)."""
    words = line.decode("iso-8859-1").rstrip("\r\n").split()
    if not words:
        return None
    version = (0, 9)
    if len(words) >= 3:
        raw = words[-1]
        if not raw.startswith("HTTP/"):
            return Refusal(HTTPStatus.BAD_REQUEST, f"Bad request version ({raw[:40]!r})")
        numbers = raw.split("/", 1)[1].split(".")
        if len(numbers) != 2 or not all(n.isdigit() and 0 < len(n) <= 10 for n in numbers):
            return Refusal(HTTPStatus.BAD_REQUEST, f"Bad request version ({raw[:40]!r})")
        version = (int(numbers[0]), int(numbers[1]))
        if version >= (2, 0):
            return Refusal(HTTPStatus.HTTP_VERSION_NOT_SUPPORTED, f"Invalid HTTP version ({raw})")
    if not 2 <= len(words) <= 3:
        return Refusal(HTTPStatus.BAD_REQUEST, "Bad request syntax")
    method, target = words[0], words[1]
    if len(words) == 2 and method != "GET":
        return Refusal(HTTPStatus.BAD_REQUEST, "Bad HTTP/0.9 request type")
    if len(words) == 2:
        return Refusal(HTTPStatus.BAD_REQUEST, "HTTP version missing")
    if method not in KNOWN_METHODS:
        return Refusal(HTTPStatus.NOT_IMPLEMENTED, "Unsupported method")
    return method, target, version


def parse_headers(lines: list[bytes]) -> dict[str, str] | Refusal:
    """The header lines (without the blank line that ends them) as a dict."""
    if len(lines) > MAX_HEADERS:
        return Refusal(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "Too many headers")
    headers: dict[str, str] = {}
    for raw in lines:
        line = raw.decode("iso-8859-1").rstrip("\r\n")
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip() or line[:1] in (" ", "\t"):
            return Refusal(HTTPStatus.BAD_REQUEST, "malformed header")
        headers.setdefault(name.lower(), value.strip())
    return headers


def build_request(
    request_line: tuple[str, str, tuple[int, int]], headers: dict[str, str]
) -> Request:
    method, target, version = request_line
    if target.startswith("//"):
        target = "/" + target.lstrip("/")
    connection = headers.get("connection", "").lower()
    keep_alive = version >= (1, 1) and connection != "close"
    if version == (1, 0) and connection == "keep-alive":
        keep_alive = True
    has_body = headers.get("content-length", "0") not in ("", "0") or "transfer-encoding" in headers
    return Request(
        method=method,
        path=target.split("?", 1)[0],
        version=version,
        headers=headers,
        keep_alive=keep_alive and not has_body,
        has_body=has_body,
    )
