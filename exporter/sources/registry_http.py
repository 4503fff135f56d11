"""HTTP for the Schema Registry source: kept-alive connections, a deadline on every request.

One connection per worker thread (`http.client`), reused across requests and polls; TLS with the
configured CA, client certificate and hostname check; basic auth or a bearer token. Redirects are
not followed: a registry that redirects is an error naming the new location, so credentials never
travel to another address and a redirect loop costs one request. Every answer must be JSON;
anything else (an HTML error page from a proxy, a truncated body) is a `RegistryError` of kind
`bad_answer`. A 404 is returned as `NOT_FOUND` for the caller to judge (a subject deleted between
two requests, a schema id not yet used).
"""

from __future__ import annotations

import base64
import http.client
import json
import ssl
import threading
import time
from typing import Any, Final
from urllib.parse import urlsplit

from exporter.config import SchemaRegistryConfig
from exporter.sources.registry_model import RegistryError

NOT_FOUND: Final = object()
"""What `get` returns for a 404 answer."""
_ACCEPT = "application/vnd.schemaregistry.v1+json, application/json"


def _tls_context(config: SchemaRegistryConfig) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=config.tls_ca_file or None)
    ctx.check_hostname = config.tls_verify_hostname
    if config.tls_cert_file:
        ctx.load_cert_chain(config.tls_cert_file, config.tls_key_file or None)
    return ctx


class RegistryHttp:
    """GET requests against the registry's Confluent API base URL."""

    def __init__(self, config: SchemaRegistryConfig) -> None:
        parts = urlsplit(config.url)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or ""
        self._port = parts.port or (443 if self._https else 80)
        self._base = parts.path.rstrip("/")
        self._tls = _tls_context(config) if self._https else None
        self._headers = {"Accept": _ACCEPT, "User-Agent": "kafka-vitals"}
        if config.bearer_token:
            self._headers["Authorization"] = f"Bearer {config.bearer_token.value}"
        elif config.username:
            pair = f"{config.username}:{config.password.value}".encode()
            self._headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        self._local = threading.local()
        self._all: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()
        self.requests = 0

    def _connection(self, timeout: float) -> http.client.HTTPConnection:
        conn: http.client.HTTPConnection | None = getattr(self._local, "conn", None)
        if conn is None:
            if self._tls is not None:
                conn = http.client.HTTPSConnection(self._host, self._port, timeout=timeout,
                                                   context=self._tls)  # fmt: skip
            else:
                conn = http.client.HTTPConnection(self._host, self._port, timeout=timeout)
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        conn.timeout = timeout
        if conn.sock is not None:
            conn.sock.settimeout(timeout)
        return conn

    def get(self, path: str, deadline: float) -> Any:
        """The decoded JSON answer to `GET <base><path>`, or NOT_FOUND; RegistryError else."""
        for attempt in (1, 2):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RegistryError(f"GET {path}: deadline passed", "timeout")
            conn = self._connection(remaining)
            reused = conn.sock is not None
            try:
                with self._lock:
                    self.requests += 1
                conn.request("GET", self._base + path, headers=self._headers)
                resp = conn.getresponse()
                body = resp.read()
            except TimeoutError as exc:
                conn.close()
                raise RegistryError(
                    f"GET {path}: no answer within the deadline", "timeout"
                ) from exc
            except ssl.SSLError as exc:
                conn.close()
                raise RegistryError(f"GET {path}: TLS failed: {exc.reason or exc}", "tls") from exc
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                if reused and attempt == 1:
                    continue  # a kept-alive connection the server had closed: once more, fresh
                detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else repr(exc)
                raise RegistryError(f"GET {path}: cannot reach {self._host}:{self._port}: "
                                    f"{detail}", "unreachable") from exc  # fmt: skip
            if resp.will_close:
                conn.close()
            return self._answer(path, resp.status, resp.getheader("Location", ""),
                                resp.getheader("Content-Type", ""), body)  # fmt: skip
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _answer(path: str, status: int, location: str, content_type: str, body: bytes) -> Any:
        if 300 <= status < 400:
            raise RegistryError(
                f"GET {path}: HTTP {status} redirect to {location[:200]!r} (not followed; "
                "set schema_registry.url to the final address)",
                "redirect",
            )
        if status == 404:
            return NOT_FOUND
        try:
            decoded = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            kind = content_type.split(";")[0].strip() or "no content type"
            raise RegistryError(
                f"GET {path}: HTTP {status}, not JSON ({kind}, {len(body)} bytes)", "bad_answer"
            ) from None
        if status != 200:
            message = decoded.get("message", "") if isinstance(decoded, dict) else ""
            text = f": {str(message)[:200]}" if message else ""
            raise RegistryError(f"GET {path}: HTTP {status}{text}", f"http_{status}")
        return decoded

    def timed(self, path: str, deadline: float) -> tuple[Any, float]:
        """`get`, and how long it took (seconds)."""
        t0 = time.monotonic()
        answer = self.get(path, deadline)
        return answer, time.monotonic() - t0

    def close(self) -> None:
        with self._lock:
            conns, self._all = self._all, []
        for conn in conns:
            conn.close()
