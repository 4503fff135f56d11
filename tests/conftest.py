"""Shared pytest fixtures: real Kafka clusters, Prometheus, Alertmanager, a webhook receiver,
unique names, and a session-end check that every process the harness started is gone.

A missing part (Java, Maven, the Kafka jars, Prometheus, Alertmanager) fails the test with a
message saying how to install it; nothing is skipped.
"""

from __future__ import annotations

import itertools
import re
import secrets
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NoReturn

import pytest

from harness import jars, procs
from harness.cluster import KafkaCluster
from harness.procs import HarnessError
from harness.prom import Alertmanager, PrometheusServer, WebhookReceiver, webhook_config
from harness.registry import SchemaRegistry


def _start_cluster(size: int) -> KafkaCluster:
    try:
        jars.java()
        jars.fetch()  # reuses the cache; needs Maven only the first time
        return KafkaCluster(size).up()
    except HarnessError as exc:
        pytest.fail(f"cannot start a {size}-node Kafka cluster: {exc}", pytrace=False)


@pytest.fixture(scope="session", autouse=True)
def harness_leaves_nothing_behind() -> Iterator[None]:
    """After the session, every process the harness started must be dead and its ports free."""
    yield
    problems = procs.leftovers()
    if problems:
        procs.kill_all()
        pytest.fail("the harness left processes behind: " + "; ".join(problems), pytrace=False)


@pytest.fixture(scope="session")
def kafka_single() -> Iterator[KafkaCluster]:
    """A 1-node cluster shared by the whole session: never stop, pause or reconfigure it."""
    cluster = _start_cluster(1)
    yield cluster
    cluster.down()


@pytest.fixture(scope="module")
def kafka_cluster3() -> Iterator[KafkaCluster]:
    """A 3-node cluster for one test module; a test that stops a node must start it again."""
    cluster = _start_cluster(3)
    yield cluster
    cluster.down()


@pytest.fixture(scope="session")
def schema_registry() -> Iterator[SchemaRegistry]:
    """Apicurio Registry in memory on loopback, shared by the session (global compatibility
    BACKWARD). Tests register subjects with unique names; a test that stops it starts it again."""
    try:
        registry = SchemaRegistry().start()
    except HarnessError as exc:
        pytest.fail(f"cannot start the Schema Registry: {exc}", pytrace=False)
    yield registry
    registry.stop()


_name_counter = itertools.count(1)


@pytest.fixture
def unique_name(request: pytest.FixtureRequest) -> Callable[[str], str]:
    """`unique_name("topic")` -> a topic/group name unique to this test and call."""
    test = re.sub(r"[^A-Za-z0-9._-]+", "-", request.node.name)[:80].strip("-")

    def make(kind: str = "t") -> str:
        return f"{kind}-{test}-{next(_name_counter)}-{secrets.token_hex(3)}"

    return make


def _fail_missing(exc: HarnessError) -> NoReturn:
    pytest.fail(str(exc), pytrace=False)


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    """An HTTP receiver in this process recording Alertmanager notifications (and serving
    `metrics_text` at /metrics)."""
    receiver = WebhookReceiver()
    yield receiver
    receiver.stop()


@pytest.fixture
def prometheus_factory() -> Iterator[Callable[..., PrometheusServer]]:
    """`prometheus_factory(config, rules={"name.yml": text})` -> a started Prometheus."""
    started: list[PrometheusServer] = []

    def make(
        config: str | Mapping[str, Any], rules: Mapping[str, str] | None = None
    ) -> PrometheusServer:
        try:
            server = PrometheusServer(config, rules)
        except HarnessError as exc:
            _fail_missing(exc)
        started.append(server)
        server.start()
        return server

    yield make
    for server in started:
        server.stop()


@pytest.fixture
def alertmanager_factory() -> Iterator[Callable[[str | Mapping[str, Any]], Alertmanager]]:
    """`alertmanager_factory(config)` -> a started Alertmanager."""
    started: list[Alertmanager] = []

    def make(config: str | Mapping[str, Any]) -> Alertmanager:
        try:
            server = Alertmanager(config)
        except HarnessError as exc:
            _fail_missing(exc)
        started.append(server)
        server.start()
        return server

    yield make
    for server in started:
        server.stop()


@pytest.fixture
def alertmanager(
    alertmanager_factory: Callable[[Mapping[str, Any]], Alertmanager],
    webhook_receiver: WebhookReceiver,
) -> Alertmanager:
    """An Alertmanager that sends every alert to `webhook_receiver` within about a second."""
    return alertmanager_factory(webhook_config(webhook_receiver.url))
