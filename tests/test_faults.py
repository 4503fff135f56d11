"""Faults while `kafka-vitals serve` polls a real 3-node cluster every 2 s: a node killed (-9),
a node paused (SIGSTOP), a JMX target hung (SIGSTOP of its JVM), and the whole cluster down and
back. Through all of it a watcher scrapes every half second with a 1 s client timeout and checks:

- /metrics answers, every time, within the timeout;
- no stale series: while the Admin API source is down no Admin API series are served, and the
  snapshot is never older than one cycle plus its deadlines;
- the exporter process never dies.

Each test also checks that `kafka_vitals_up` tells the truth within one cycle plus the stage
deadline, and that the exporter recovers by itself within one cycle once the cluster is back.
At the end the process has as many threads and file descriptors as before the faults, within a
small slack (see `test_no_thread_or_descriptor_leak`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from exporter import catalog
from harness import clients, tools
from harness.cluster import KafkaCluster
from tests.exporter_probe import Exporter, Scrape

pytestmark = pytest.mark.kafka

INTERVAL, STAGE_TIMEOUT, REQUEST_TIMEOUT, JMX_TIMEOUT = 2.0, 4.0, 2.0, 3.0
SLACK = 10.0
"""Added to every time bound: the machine is small and shared, a JVM start alone can take 2 s."""
TRUTH_SECONDS = INTERVAL + STAGE_TIMEOUT + SLACK
"""The longest a change may take to show in kafka_vitals_up: one cycle plus the stage deadline."""
MAX_AGE_SECONDS = INTERVAL + 5 * STAGE_TIMEOUT + SLACK
"""The oldest a served snapshot may be: five Admin API stages that each run into the deadline."""
TOPIC, GROUP = "faults", "faults-group"
ADMIN_FAMILIES = {m.name for m in catalog.ALL if m.source == "admin"}
CLIENT_JMX_FAMILIES = {m.name for m in catalog.ALL if m.source == "jmx_client"}
THREAD_SLACK, FD_SLACK = 6, 16
"""librdkafka runs one thread (and holds one socket) per broker it knows and has connected to,
and the ThreadingHTTPServer a thread per open connection: both vary a little with timing, so the
counts after recovery may differ by a few. A leak grows with every fault and exceeds this."""


def admin_series(s: Scrape) -> list[str]:
    """Names of the Admin API series in the scrape (counters' and summaries' suffixes too)."""
    names = {x.name for x in s.samples}
    return sorted(n for n in names if n in ADMIN_FAMILIES or n.rsplit("_", 1)[0] in ADMIN_FAMILIES)


class Watcher:
    """Scrapes every 0.5 s in a thread and records every broken promise."""

    def __init__(self, exporter: Exporter) -> None:
        self.exporter = exporter
        self.problems: list[str] = []
        self.scrapes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="watcher", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            if not self.exporter.process.alive():
                self.problems.append("the exporter process died")
                return
            try:
                s = self.exporter.scrape(timeout=1.0)
            except Exception as exc:
                self.problems.append(f"scrape failed: {exc!r}")
                continue
            self.scrapes += 1
            if s.up() == 0 and admin_series(s):
                self.problems.append(f"admin down but series served: {admin_series(s)[:3]}")
            taken = s.value("kafka_vitals_last_poll_timestamp_seconds") or 0
            if taken and time.time() - taken > MAX_AGE_SECONDS:
                self.problems.append(f"snapshot {time.time() - taken:.1f} s old")

    def stop(self) -> list[str]:
        self._stop.set()
        self._thread.join(5)
        assert self.scrapes > 0
        return self.problems


def _config(bootstrap: str, **extra: Any) -> dict[str, Any]:
    return {
        "kafka": {"bootstrap_servers": bootstrap, "request_timeout_seconds": REQUEST_TIMEOUT},
        "poll": {"interval_seconds": INTERVAL, "stage_timeout_seconds": STAGE_TIMEOUT},
        **extra,
    }


def lag_ok(s: Scrape) -> bool:
    lags = [s.value("kafka_consumergroup_lag", consumergroup=GROUP, topic=TOPIC, partition=str(p))
            for p in range(3)]  # fmt: skip
    return s.up() == 1 and lags == [10, 10, 10]


def brokers(n: int) -> Callable[[Scrape], bool]:
    return lambda s: s.up() == 1 and s.value("kafka_brokers") == n and lag_ok(s)


@pytest.fixture(scope="module")
def exporter(
    kafka_cluster3: KafkaCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Exporter]:
    bootstrap = kafka_cluster3.bootstrap_servers
    clients.create_topic(bootstrap, TOPIC, partitions=3, replication_factor=3)
    for p in range(3):
        clients.produce_messages(bootstrap, TOPIC, 20, partition=p)
    clients.commit_offsets(bootstrap, GROUP, {(TOPIC, p): 10 for p in range(3)})
    exp = Exporter(tmp_path_factory.mktemp("faults"), _config(bootstrap))
    exp.wait_scrape("a healthy first view", brokers(3), 120)
    yield exp
    exp.stop()


@pytest.fixture(scope="module")
def baseline(exporter: Exporter) -> tuple[int, int]:
    """Threads and descriptors after a few healthy cycles, before any fault."""
    time.sleep(3 * INTERVAL)
    return exporter.threads(), exporter.fds()


def _until(exporter: Exporter, what: str, condition: Callable[[Scrape], bool],
           bound: float) -> float:  # fmt: skip
    """Seconds until `condition` holds; fails past `bound` (plus wait slack)."""
    t0 = time.monotonic()
    exporter.wait_scrape(what, condition, bound + 30)
    took = time.monotonic() - t0
    assert took <= bound, f"{what}: took {took:.1f} s, more than {bound:.1f} s"
    return took


def test_node_killed_and_restarted(
    kafka_cluster3: KafkaCluster, exporter: Exporter, baseline: tuple[int, int]
) -> None:
    cluster, node = kafka_cluster3, kafka_cluster3.nodes[2]
    watcher = Watcher(exporter)
    try:
        cluster.kill(node)
        # the controller fences the broker after broker.session.timeout.ms (9 s by default)
        _until(exporter, "2 brokers with lag intact", brokers(2), 9.0 + TRUTH_SECONDS + 20)
        s = exporter.scrape()
        assert sum(s.values("kafka_topic_partition_under_replicated_partition", topic=TOPIC)) == 3
        cluster.start(node)
        _until(exporter, "3 brokers again", brokers(3), TRUTH_SECONDS)
    finally:
        problems = watcher.stop()
        if not node.running:
            cluster.start(node)
    assert problems == []


def test_node_paused_and_resumed(
    kafka_cluster3: KafkaCluster, exporter: Exporter, baseline: tuple[int, int]
) -> None:
    cluster, node = kafka_cluster3, kafka_cluster3.nodes[1]
    watcher = Watcher(exporter)
    try:
        cluster.pause(node)
        _until(exporter, "the paused broker fenced", brokers(2), 9.0 + TRUTH_SECONDS + 20)
        cluster.resume(node)
        _until(exporter, "3 brokers again", brokers(3), 9.0 + TRUTH_SECONDS + 20)
    finally:
        cluster.resume(node)
        problems = watcher.stop()
    assert problems == []


def test_jmx_target_hung(
    kafka_cluster3: KafkaCluster, exporter: Exporter, tmp_path_factory: pytest.TempPathFactory
) -> None:
    bootstrap = kafka_cluster3.bootstrap_servers
    consumer = tools.start_console_consumer(bootstrap, TOPIC, "faults-jmx", "faults-jmx-client")
    config = _config(bootstrap, jmx={"targets": [
        {"url": consumer.jmx_url, "role": "client", "name": "hung", "timeout_seconds": JMX_TIMEOUT},
    ]})  # fmt: skip
    exp = Exporter(tmp_path_factory.mktemp("faults-jmx"), config)
    watcher = Watcher(exp)
    try:

        def jmx(up: int) -> Callable[[Scrape], bool]:
            def check(s: Scrape) -> bool:
                client = [x for x in s.samples if x.name in CLIENT_JMX_FAMILIES]
                return s.up("jmx", "hung") == up and bool(client) == (up == 1) and s.up() == 1

            return check

        exp.wait_scrape("client JMX up", jmx(1), 120)
        consumer.pause()
        # the JVM answers nothing: the query is killed at its own deadline, series go
        _until(exp, "the hung JMX target down", jmx(0), JMX_TIMEOUT + TRUTH_SECONDS)
        assert lag_ok(exp.scrape())  # the Admin API side is untouched
        consumer.resume()
        _until(exp, "the JMX target back", jmx(1), JMX_TIMEOUT + TRUTH_SECONDS)
    finally:
        consumer.resume()
        problems = watcher.stop()
        exp.stop()
        consumer.stop()
    assert problems == []


def test_whole_cluster_down_and_back(
    kafka_cluster3: KafkaCluster, exporter: Exporter, baseline: tuple[int, int]
) -> None:
    cluster = kafka_cluster3
    watcher = Watcher(exporter)
    try:
        for node in cluster.nodes:
            cluster.kill(node)
        down = _until(exporter, "admin up=0 and no admin series",
                      lambda s: s.up() == 0 and not admin_series(s), TRUTH_SECONDS)  # fmt: skip
        for node in cluster.nodes:
            cluster.start(node, wait=False)
        cluster.wait_ready(180)
        back = _until(exporter, "recovered with lag", brokers(3), TRUTH_SECONDS)
        print(f"down seen after {down:.1f} s, recovery after {back:.1f} s")
    finally:
        problems = watcher.stop()
        for node in cluster.nodes:
            if not node.running:
                cluster.start(node, wait=False)
    assert problems == []


def test_no_thread_or_descriptor_leak(exporter: Exporter, baseline: tuple[int, int]) -> None:
    """Runs last: after every fault above, the counts are back near the healthy baseline."""
    exporter.wait_scrape("healthy", brokers(3), 60)
    time.sleep(3 * INTERVAL)
    threads, fds = exporter.threads(), exporter.fds()
    print(f"threads {baseline[0]} -> {threads}, fds {baseline[1]} -> {fds}")
    assert threads <= baseline[0] + THREAD_SLACK
    assert fds <= baseline[1] + FD_SLACK
