"""The endpoint nobody can blind: the real `kafka-vitals serve` held by 2,000 connections that sit
idle or drip a byte a second (re-opened as the server closes them), plain and with TLS, while a
real scraper asks for /metrics twice a second (over TLS, 500 of them dripping through a TLS
session). Every scrape is answered 200 within the probe's normal 1 s, the process keeps its
thread count and a bounded RSS.

The flood lasts FLOOD_SECONDS per run from the moment it is at full strength (default 20: a third
of the minute the requirement names, so both runs add under a minute of test time; set
KAFKA_VITALS_FLOOD_SECONDS=60 for the full minute). With the request deadline of 10 s every
connection is cut and re-opened at least once. The connections held are counted at every scrape
(their median must be near 2,000: the waves of re-opening at each deadline dip below it).
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import ssl
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from exporter.http_server import raise_descriptor_limit
from harness.procs import HarnessError
from harness.security import Pki, make_pki
from tests.exporter_probe import Exporter

CONNECTIONS = 2000
FLOOD_SECONDS = float(os.environ.get("KAFKA_VITALS_FLOOD_SECONDS", "20"))
RSS_GROWTH_LIMIT_MIB = 200
"""What 2,000 held connections may add to the RSS: about 12 KiB each in plain HTTP, about 70 KiB
with TLS, where the event loop sets up the TLS state (OpenSSL's included) at the connect."""
CONFIG = {"kafka": {"bootstrap_servers": "127.0.0.1:9", "request_timeout_seconds": 1},
          "poll": {"interval_seconds": 60, "stage_timeout_seconds": 2}}  # fmt: skip


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


class Flood:
    """CONNECTIONS connections from an event loop in a process of their own (an attacker does not
    share the scraper's interpreter): one in `every` sends a request a byte a second (over TLS:
    after a complete handshake), the others are idle (over TLS: not even a handshake); each is
    re-opened when the server closes it. The counts live in shared memory, written by the flood as
    it goes and read by the test while the flood is still on: the test never waits on the flood's
    own teardown, which it ends by killing the process."""

    def __init__(self, port: int, ca: Path | None, every: int) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._counts = ctx.Array("q", 3, lock=False)  # opened, closed by the server, open now
        self._process = ctx.Process(
            target=_flood_main, args=(port, ca, every, self._counts), daemon=True
        )

    @property
    def opened(self) -> int:
        return int(self._counts[0])

    @property
    def closed_by_server(self) -> int:
        return int(self._counts[1])

    @property
    def open_now(self) -> int:
        return int(self._counts[2])

    def __enter__(self) -> Flood:
        self._process.start()
        return self

    def wait_until_open(self, deadline: float) -> None:
        """Until 90 % of the connections are open at once: the flood at full strength."""
        end = time.monotonic() + deadline
        while self.open_now < CONNECTIONS * 0.9:
            if not self._process.is_alive():
                raise AssertionError(f"the flood process ended, exit code {self._process.exitcode}")
            if time.monotonic() > end:
                raise AssertionError(
                    f"only {self.open_now} connections open after {deadline:.0f} s"
                )
            time.sleep(0.1)

    def __exit__(self, *exc: object) -> None:
        self._process.kill()
        self._process.join(30)


def _flood_main(port: int, ca: Path | None, every: int, counts: Any) -> None:
    raise_descriptor_limit()
    tls = ssl.create_default_context(cafile=str(ca)) if ca else None
    asyncio.run(_flood(port, tls, every, counts))


async def _flood(port: int, tls: ssl.SSLContext | None, every: int, counts: Any) -> None:
    slow = [i % every == 0 for i in range(CONNECTIONS)]
    holds = [_hold(i, port, slow[i], tls if slow[i] else None, counts) for i in range(CONNECTIONS)]
    await asyncio.gather(*holds)  # until the test kills the process


async def _hold(i: int, port: int, slow: bool, tls: ssl.SSLContext | None, counts: Any) -> None:
    """One connection, opened again whenever the server ends it: a slow one drips a request, the
    others sit idle."""
    await asyncio.sleep(i * 0.002)  # spread the first connects over 4 s
    drip = b"GET /metrics HTTP/1.1\r\nX-Slow: " + b"a" * 10_000
    while True:
        writer = None
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=tls)
            counts[0] += 1
            counts[2] += 1
            for byte in drip if slow else b"":
                writer.write(bytes([byte]))
                if await _closed(reader, 1.0):
                    break
            else:
                await reader.read(1)  # idle: wait for the server to hang up
            counts[1] += 1
        except (OSError, ssl.SSLError, asyncio.IncompleteReadError):
            await asyncio.sleep(0.1)
        finally:
            if writer is not None:
                counts[2] -= 1
                writer.transport.abort()


async def _closed(reader: asyncio.StreamReader, wait: float) -> bool:
    with contextlib.suppress(TimeoutError):
        got = await asyncio.wait_for(reader.read(1024), wait)
        return got == b"" or got.startswith(b"HTTP/")
    return False


def _hold_the_flood(exporter: Exporter, ca: Path | None, every: int) -> None:
    raise_descriptor_limit()  # the test process holds the other end of every connection
    baseline = [exporter.scrape(timeout=1.0) for _ in range(5)]
    rss_before, threads_before = _rss_mib(exporter.process.pid), exporter.threads()
    scrapes = failures = 0
    held_at_scrapes: list[int] = []
    worst = 0.0
    rss_peak = rss_before
    with Flood(exporter.port, ca, every) as flood:
        flood.wait_until_open(60)
        started = time.monotonic()
        end = started + FLOOD_SECONDS
        while time.monotonic() < end:
            try:
                worst = max(worst, exporter.scrape(timeout=1.0).seconds)  # 200 within 1 s
            except (AssertionError, OSError) as exc:
                failures += 1
                at = time.monotonic() - started
                print(f"scrape failed: {exc!r} at {at:.1f} s, {flood.open_now} open")
            held_at_scrapes.append(flood.open_now)
            scrapes += 1
            rss_peak = max(rss_peak, _rss_mib(exporter.process.pid))
            time.sleep(0.5)
        assert exporter.threads() <= threads_before + 1  # no thread per connection
        opened, closed = flood.opened, flood.closed_by_server
    held = int(statistics.median(held_at_scrapes))
    print(f"flood: {opened} connections opened, {closed} closed by the "
          f"server, {held} held (median at the scrapes); {scrapes} scrapes, worst {worst:.3f} s "
          f"(before: {max(s.seconds for s in baseline):.3f} s); RSS {rss_before:.0f} -> "
          f"{rss_peak:.0f} MiB")  # fmt: skip
    assert failures == 0, f"{failures} of {scrapes} scrapes failed"
    assert held >= CONNECTIONS * 0.9, f"the flood held only {held} connections (median)"
    # every connection opened in the first seconds met its 10 s deadline at least once
    assert closed >= CONNECTIONS * 0.9, "the deadlines did not close them"
    assert rss_peak - rss_before < RSS_GROWTH_LIMIT_MIB
    assert exporter.process.alive()
    assert exporter.get("/healthz")[0] == 200


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    try:
        return make_pki(tmp_path_factory.mktemp("pki"))
    except HarnessError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture
def plain(tmp_path: Path) -> Iterator[Exporter]:
    exporter = Exporter(tmp_path, CONFIG)
    yield exporter
    exporter.stop()


def test_two_thousand_idle_and_slow_connections_blind_nobody(plain: Exporter) -> None:
    _hold_the_flood(plain, None, every=2)


def test_two_thousand_connections_with_tls(tmp_path: Path, pki: Pki) -> None:
    web = tmp_path / "web.yml"
    tls = {"cert_file": str(pki.web_cert), "key_file": str(pki.web_key)}
    web.write_text(yaml.safe_dump({"tls_server_config": tls}))
    exporter = Exporter(tmp_path, {**CONFIG, "web": {"config_file": str(web)}}, tls_ca=pki.ca_cert)
    try:
        # 500 TLS sessions dripping, 1,500 connections idle before the handshake: the handshakes
        # of this test process (the client side of every one) share the 2 cores with the server
        _hold_the_flood(exporter, pki.ca_cert, every=4)
    finally:
        exporter.stop()
