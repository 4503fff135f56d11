"""Bad JMX targets next to a healthy broker: a closed port, a paused JVM (SIGSTOP), a TCP server
that answers garbage, and a `java` whose output is malformed JSON. Each fails alone, within its
own timeout, with up=0 and an error counted by reason; the broker stays healthy."""

from __future__ import annotations

import contextlib
import shutil
import socket
import stat
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from exporter.catalog import jmx as cat
from exporter.catalog import own
from exporter.config import Config, JmxConfig, JmxTarget, KafkaConfig, PollConfig
from exporter.http import MetricsServer, ServerOptions, ServingState
from exporter.poller import Poller
from exporter.render import Renderer
from exporter.snapshot import Snapshot
from exporter.sources.jmx import JmxSource
from harness import clients, tools
from harness.cluster import KafkaCluster
from harness.jmx import jmx_query
from harness.procs import free_ports, wait_for
from tests.exposition_check import check_metrics
from tests.jmx_helpers import describe, poll_with_results

pytestmark = pytest.mark.kafka

HANG_TIMEOUT = 5.0
TIMEOUT = 30.0
"""Generous for the others: on a busy machine five JVMs starting at once can take seconds."""


@pytest.fixture
def garbage_server() -> Iterator[int]:
    """A loopback TCP server that answers every connection with bytes no JMX client can read."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            with conn, contextlib.suppress(OSError):
                conn.sendall(b"HTTP/1.0 200 OK\r\n\r\n\x00\xff garbage {[\n" * 64)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield int(server.getsockname()[1])
    stop.set()
    thread.join(5)
    server.close()


def fake_java(tmp_path: Path, garbage_port: int) -> str:
    """A `java` that prints broken JSON for one target and runs the real java for the others."""
    real = shutil.which("java")
    assert real, "java not found on PATH: run `make setup` (installs Java 17)"
    script = tmp_path / "java"
    script.write_text(
        "#!/bin/sh\n"
        "for last; do :; done\n"
        f'if grep -q "rmi://127.0.0.1:{garbage_port}/" "${{last#@}}"; then\n'
        '  printf \'[\\n{"mBeanName" : "kafka.server:type=ReplicaManager", "val\'\n'
        "  exit 0\n"
        "fi\n"
        f'exec "{real}" "$@"\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script)


def test_bad_targets_fail_alone_within_their_timeout(
    kafka_single: KafkaCluster,
    unique_name: Callable[[str], str],
    garbage_server: int,
    tmp_path: Path,
) -> None:
    bootstrap = kafka_single.bootstrap_servers
    topic, group = unique_name("topic"), unique_name("group")
    clients.create_topic(bootstrap, topic, partitions=1)
    paused = tools.start_console_consumer(bootstrap, topic, group)
    try:
        wait_for(lambda: jmx_query(paused.jmx_url, ["java.lang:type=Runtime/Uptime"]), 60,
                 "the consumer's JMX")  # fmt: skip
        paused.pause()
        closed_port, json_port = free_ports(2)
        broker = kafka_single.nodes[0]

        def target(
            name: str, url: str, role: str = "broker", timeout: float = TIMEOUT
        ) -> JmxTarget:
            return JmxTarget(url=url, role=role, name=name, timeout_seconds=timeout)  # type: ignore[arg-type]

        source = JmxSource(
            JmxConfig(
                targets=(
                    target("broker", broker.jmx_url),
                    target("paused", paused.jmx_url, "client", timeout=HANG_TIMEOUT),
                    target("closed", f"127.0.0.1:{closed_port}"),
                    target("garbage-tcp", f"127.0.0.1:{garbage_server}"),
                    target("garbage-json", f"127.0.0.1:{json_port}"),
                ),
                java=fake_java(tmp_path, json_port),
                max_concurrency=5,
            )
        )
        started = time.monotonic()
        snap, results = poll_with_results(source)
        elapsed = time.monotonic() - started
        outcome = describe(results.values())
        assert elapsed < TIMEOUT + 2, f"poll took {elapsed:.1f}s: {outcome}"
        assert results["broker"].ok, outcome
        expected = {
            "paused": "timeout",
            "closed": "refused",
            "garbage-tcp": "malformed",
            "garbage-json": "malformed",
        }
        assert {n: results[n].reason for n in expected} == expected, outcome
        for name in expected:
            assert snap.value(own.UP, "jmx", name) == 0
            assert snap.value(own.JMX_ERRORS, name, expected[name]) == 1
        # the paused JVM's query is killed at its deadline
        assert HANG_TIMEOUT <= results["paused"].duration_seconds <= HANG_TIMEOUT + 1, outcome
        assert snap.value(own.UP, "jmx", "broker") == 1
        assert snap.value(cat.ACTIVE_CONTROLLER, "broker") == 1
        assert snap.value(own.JMX_ERRORS, "broker", "timeout") == 0

        # the next poll counts again; the broker is still fine
        snap, results = poll_with_results(source)
        assert results["broker"].ok
        assert snap.value(own.JMX_ERRORS, "paused", "timeout") == 2

        # the paused JVM comes back: its target recovers
        paused.resume()

        def recovered() -> Snapshot | None:
            snap, results = poll_with_results(source)
            return snap if results["paused"].ok else None

        snap = wait_for(recovered, 60, "the resumed consumer's JMX", interval=1)
        assert snap.value(own.UP, "jmx", "paused") == 1
    finally:
        paused.resume()
        paused.stop()
    clients.delete_topic(bootstrap, topic)


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A loopback TCP server that accepts connections and never answers (like a paused JVM)."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    yield int(server.getsockname()[1])
    server.close()


def scrape(port: int) -> tuple[float, str]:
    started = time.monotonic()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:
        body = resp.read().decode()
    return time.monotonic() - started, body


def test_metrics_stay_served_while_a_jmx_target_hangs(
    kafka_single: KafkaCluster, silent_server: int
) -> None:
    broker = kafka_single.nodes[0]
    cfg = Config(
        kafka=KafkaConfig(bootstrap_servers=kafka_single.bootstrap_servers),
        poll=PollConfig(interval_seconds=1, stage_timeout_seconds=20),
        jmx=JmxConfig(
            targets=(
                JmxTarget(url=broker.jmx_url, role="broker", name="broker"),
                JmxTarget(url=f"127.0.0.1:{silent_server}", role="broker", name="silent",
                          timeout_seconds=HANG_TIMEOUT),
            )
        ),
    )  # fmt: skip
    renderer = Renderer()
    state = ServingState(renderer.render(Snapshot(taken_at=0.0, columns={})), lambda: True)
    poller = Poller(cfg, on_snapshot=lambda snap: state.publish(renderer.render(snap)))
    server = MetricsServer(ServerOptions(listen_address="127.0.0.1:0"), state)
    server.start()
    poller.start()
    try:
        # every cycle spends HANG_TIMEOUT seconds on the silent target; scrapes never wait for it
        slowest = 0.0
        deadline = time.monotonic() + 3 * HANG_TIMEOUT + 60
        body = ""
        while time.monotonic() < deadline:
            took, body = scrape(server.port)
            slowest = max(slowest, took)
            if 'kafka_vitals_up{source="jmx",target="silent"} 0' in body:
                break
            time.sleep(0.2)
        assert 'kafka_vitals_up{source="jmx",target="silent"} 0' in body, body[-3000:]
        assert 'kafka_vitals_up{source="jmx",target="broker"} 1' in body
        assert 'kafka_vitals_jmx_errors_total{target="silent",reason="timeout"} 1' in body
        assert 'kafka_server_replicamanager_underreplicatedpartitions{target="broker"} 0' in body
        assert 'kafka_vitals_up{source="admin"} 1' in body
        assert slowest < HANG_TIMEOUT, f"a scrape took {slowest:.1f}s"
        check_metrics(body.encode())  # the JMX families pass promtool's parser and linter
    finally:
        poller.stop()
        server.stop()
