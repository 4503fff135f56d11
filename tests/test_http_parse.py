"""Request heads parsed by pure functions: the same answers the standard library gave."""

from __future__ import annotations

from http import HTTPStatus

from exporter.http_parse import (
    MAX_HEADERS,
    Refusal,
    build_request,
    parse_headers,
    parse_request_line,
)


def _status(line: bytes) -> HTTPStatus | None:
    got = parse_request_line(line)
    return got.status if isinstance(got, Refusal) else None


def test_request_lines() -> None:
    assert parse_request_line(b"GET /metrics?x=1 HTTP/1.1\r\n") == ("GET", "/metrics?x=1", (1, 1))
    assert parse_request_line(b"\r\n") is None
    assert _status(b"GARBAGE\r\n") == HTTPStatus.BAD_REQUEST
    assert _status(b"GET /metrics\r\n") == HTTPStatus.BAD_REQUEST
    assert _status(b"POST /metrics\r\n") == HTTPStatus.BAD_REQUEST
    assert _status(b"GET /metrics HTTP/1.1 extra\r\n") == HTTPStatus.BAD_REQUEST
    assert _status(b"GET /metrics HTTP/1\r\n") == HTTPStatus.BAD_REQUEST
    assert _status(b"GET /metrics HTTP/a.b\r\n") == HTTPStatus.BAD_REQUEST
    assert _status(b"GET /metrics HTTP/2.0\r\n") == HTTPStatus.HTTP_VERSION_NOT_SUPPORTED
    assert _status(b"BREW /pot HTTP/1.1\r\n") == HTTPStatus.NOT_IMPLEMENTED
    assert _status(b"\x16\x03\x01\x02\x00\xff\r\n") == HTTPStatus.BAD_REQUEST


def test_headers() -> None:
    assert parse_headers([b"Accept: text/plain\r\n", b"accept: second\r\n", b"X:\r\n"]) == {
        "accept": "text/plain",
        "x": "",
    }
    for bad in (b"no colon\r\n", b" folded: x\r\n", b": no name\r\n", b"Name : x\r\n"):
        got = parse_headers([bad])
        assert isinstance(got, Refusal) and got.status == HTTPStatus.BAD_REQUEST, bad
    many = parse_headers([b"X: y\r\n"] * (MAX_HEADERS + 1))
    assert isinstance(many, Refusal)
    assert many.status == HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE


def test_keep_alive_and_bodies() -> None:
    line = ("GET", "//metrics?q", (1, 1))
    plain = build_request(line, {})
    assert plain.path == "/metrics" and plain.keep_alive and not plain.has_body
    assert not build_request(line, {"connection": "close"}).keep_alive
    assert not build_request(("GET", "/", (1, 0)), {}).keep_alive
    assert build_request(("GET", "/", (1, 0)), {"connection": "keep-alive"}).keep_alive
    body = build_request(line, {"content-length": "5"})
    assert body.has_body and not body.keep_alive  # the body is not read: no reuse
    assert build_request(line, {"transfer-encoding": "chunked"}).has_body
    assert not build_request(line, {"content-length": "0"}).has_body
