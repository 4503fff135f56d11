"""Looking at a running exporter from outside: /proc figures, its own metrics, timed scrapes.

Scrapers are threads, each with one keep-alive `http.client` connection to a loopback port; every
run is bounded in request count and in time.
"""

from __future__ import annotations

import gzip
import http.client
import math
import os
import re
import statistics
import threading
import time
from dataclasses import dataclass
from pathlib import Path

_CLK_TCK = os.sysconf("SC_CLK_TCK")
_LINE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


# ---- /proc -------------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (/proc/<pid>/stat utime + stime)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _CLK_TCK


def memory_mib(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of a process in MiB."""
    values: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024
    return values.get("VmRSS", 0.0), values.get("VmHWM", 0.0)


def load_average() -> tuple[float, float, float]:
    one, five, fifteen = os.getloadavg()
    return round(one, 2), round(five, 2), round(fifteen, 2)


# ---- the exposition ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Exposition:
    """One scrape: sizes, series count and the exporter's own `kafka_vitals_*` samples."""

    plain_bytes: int
    gzip_bytes: int
    series: int
    own: dict[tuple[str, tuple[tuple[str, str], ...]], float]

    def value(self, name: str, **labels: str) -> float | None:
        return self.own.get((name, tuple(sorted(labels.items()))))

    def by_label(self, name: str, label: str) -> dict[str, float]:
        return {dict(lbls)[label]: v for (n, lbls), v in self.own.items() if n == name and lbls}


def _connection(port: int, timeout: float) -> http.client.HTTPConnection:
    return http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)


def head_length(port: int, path: str = "/metrics", timeout: float = 10.0) -> int:
    """Content-Length of the gzipped exposition (changes whenever a new one is published)."""
    conn = _connection(port, timeout)
    try:
        conn.request("HEAD", path, headers={"Accept-Encoding": "gzip"})
        resp = conn.getresponse()
        resp.read()
        return int(resp.getheader("Content-Length") or -1)
    finally:
        conn.close()


def fetch(port: int, path: str = "/metrics", timeout: float = 60.0) -> Exposition:
    """Scrape once (gzipped), and parse the exporter's own samples."""
    conn = _connection(port, timeout)
    try:
        conn.request("GET", path, headers={"Accept-Encoding": "gzip"})
        resp = conn.getresponse()
        body = resp.read()
        if resp.status != 200:
            raise RuntimeError(f"GET {path}: HTTP {resp.status}")
        gzipped = resp.getheader("Content-Encoding") == "gzip"
    finally:
        conn.close()
    text = gzip.decompress(body) if gzipped else body
    series = 0
    own: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for raw in text.split(b"\n"):
        if not raw or raw[:1] == b"#":
            continue
        series += 1
        if raw.startswith(b"kafka_vitals_"):
            m = _LINE.match(raw.decode("utf-8"))
            if m is not None:
                labels = tuple(sorted(_LABEL.findall(m.group(2) or "")))
                own[(m.group(1), labels)] = float(m.group(3))
    return Exposition(len(text), len(body), series, own)


BODIES: tuple[dict[str, str], ...] = (
    {},
    {"Accept-Encoding": "gzip"},
    {"Accept": "application/openmetrics-text; version=1.0.0"},
    {"Accept": "application/openmetrics-text; version=1.0.0", "Accept-Encoding": "gzip"},
)
"""The request headers of the four bodies a scraper can ask for: text or OpenMetrics, plain or
gzip."""


def ask_every_body(port: int, path: str = "/metrics", timeout: float = 60.0) -> None:
    """Scrape once for each body a scraper can ask for (the exporter then makes all four at
    every render): the memory measured is that of an exporter every kind of scraper reads."""
    conn = _connection(port, timeout)
    try:
        for headers in BODIES:
            conn.request("GET", path, headers=headers)
            resp = conn.getresponse()
            resp.read()
            if resp.status != 200:
                raise RuntimeError(f"GET {path} {headers}: HTTP {resp.status}")
    finally:
        conn.close()


# ---- timed scrapes -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ScrapeRun:
    concurrency: int
    gzip: bool
    requests: int
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    body_bytes: int

    def as_dict(self) -> dict[str, float | int | bool]:
        return {
            "concurrency": self.concurrency,
            "gzip": self.gzip,
            "requests": self.requests,
            "errors": self.errors,
            "seconds": round(self.seconds, 3),
            "p50_ms": round(self.p50_ms, 2),
            "p99_ms": round(self.p99_ms, 2),
            "max_ms": round(self.max_ms, 2),
            "body_bytes": self.body_bytes,
        }


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100), nearest rank; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]


def scrape(
    port: int,
    *,
    concurrency: int,
    gzipped: bool,
    max_requests: int,
    max_seconds: float,
    path: str = "/metrics",
) -> ScrapeRun:
    """`concurrency` threads scrape in a loop (keep-alive) until `max_requests` in all or
    `max_seconds` have passed; latency is request sent to body read."""
    headers = {"Accept-Encoding": "gzip"} if gzipped else {}
    per_thread = max(1, max_requests // concurrency)
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    errors = [0] * concurrency
    sizes = [0] * concurrency
    start = threading.Barrier(concurrency + 1)
    stop_at: list[float] = [0.0]

    def worker(i: int) -> None:
        conn = _connection(port, 30.0)
        start.wait()
        try:
            for _ in range(per_thread):
                if time.monotonic() >= stop_at[0]:
                    break
                t0 = time.perf_counter()
                try:
                    conn.request("GET", path, headers=headers)
                    resp = conn.getresponse()
                    body = resp.read()
                    ok = resp.status == 200
                except (OSError, http.client.HTTPException):
                    ok, body = False, b""
                    conn.close()
                    conn = _connection(port, 30.0)
                latencies[i].append((time.perf_counter() - t0) * 1000)
                if ok:
                    sizes[i] = len(body)
                else:
                    errors[i] += 1
        finally:
            conn.close()

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(concurrency)]
    for t in threads:
        t.start()
    t0 = time.monotonic()
    stop_at[0] = t0 + max_seconds
    start.wait()
    for t in threads:
        t.join(max_seconds + 60)
    seconds = time.monotonic() - t0
    every = [x for per in latencies for x in per]
    return ScrapeRun(
        concurrency=concurrency,
        gzip=gzipped,
        requests=len(every),
        errors=sum(errors),
        seconds=seconds,
        p50_ms=statistics.median(every) if every else 0.0,
        p99_ms=percentile(every, 99),
        max_ms=max(every, default=0.0),
        body_bytes=max(sizes),
    )
