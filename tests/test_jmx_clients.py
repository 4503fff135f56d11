"""Client JMX against real Java consumers on the shared 1-node cluster: records-lag-max against the
Admin API's lag, a rebalance when a second member joins, and a password-protected JMX endpoint."""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from exporter.catalog import jmx as cat
from exporter.catalog.model import Metric
from exporter.config import JmxConfig, JmxTarget, Secret
from exporter.snapshot import Snapshot
from exporter.sources.jmx import JmxSource
from harness import clients, jars, tools
from harness.cluster import KafkaCluster
from harness.procs import HarnessError, Managed, free_ports, spawn, wait_for
from tests.jmx_helpers import describe, poll_with_results, values

pytestmark = pytest.mark.kafka

# Small fetches and a byte-rate quota keep the consumer well behind the log end for minutes.
SLOW = {"max.partition.fetch.bytes": "16384", "fetch.max.bytes": "16384"}


def throttle(bootstrap: str, client_id: str, bytes_per_second: int = 20_000) -> None:
    tools.run_tool(
        "kafka.admin.ConfigCommand",
        ["--bootstrap-server", bootstrap, "--alter", "--entity-type", "clients",
         "--entity-name", client_id, "--add-config", f"consumer_byte_rate={bytes_per_second}"],
    )  # fmt: skip


def client_source(**urls: str) -> JmxSource:
    return JmxSource(
        JmxConfig(targets=tuple(JmxTarget(url=u, role="client", name=n) for n, u in urls.items()))
    )


def snap_of(source: JmxSource) -> Snapshot:
    snap, results = poll_with_results(source)
    assert all(r.ok for r in results.values()), describe(results.values())
    return snap


def one(snap: Snapshot, metric: Metric, **where: str) -> float | None:
    """The value of the one series matching `where`, or None when there is none."""
    found = values(snap, metric, where)
    return found[0] if found else None


def test_records_lag_max_tracks_admin_lag_and_a_joining_member_rebalances(
    kafka_single: KafkaCluster, unique_name: Callable[[str], str]
) -> None:
    bootstrap = kafka_single.bootstrap_servers
    topic, group = unique_name("topic"), unique_name("group")
    clients.create_topic(bootstrap, topic, partitions=1)
    tools.run_producer_perf(bootstrap, topic, 50_000, record_size=100)
    first_id, second_id = f"{group}-a", f"{group}-b"
    throttle(bootstrap, first_id)
    throttle(bootstrap, second_id)
    first = tools.start_console_consumer(bootstrap, topic, group, first_id, properties=SLOW)
    second = None
    try:
        source = client_source(a=first.jmx_url)

        def behind() -> Snapshot | None:
            snap = snap_of(source)
            lag = one(snap, cat.CLIENT_RECORDS_LAG_MAX, target="a", client_id=first_id)
            return snap if lag is not None and lag > 1000 else None

        snap = wait_for(behind, 120, "records-lag-max of the slow consumer", interval=2)
        # the Admin API's view (committed offsets, auto-committed every 5 s)
        rows = wait_for(
            lambda: [r for r in tools.describe_group(bootstrap, group) if r.lag is not None],
            60,
            "a committed offset of the group",
            interval=2,
        )
        snap = snap_of(source)
        jmx_lag = one(snap, cat.CLIENT_RECORDS_LAG_MAX, target="a", client_id=first_id)
        admin_lag = max(r.lag or 0 for r in rows)
        assert jmx_lag is not None and admin_lag > 0
        assert 0.5 <= jmx_lag / admin_lag <= 2.0, f"records-lag-max {jmx_lag} vs Admin {admin_lag}"
        partition_lag = one(
            snap, cat.CLIENT_RECORDS_LAG, target="a", client_id=first_id, topic=topic,
            partition="0",
        )  # fmt: skip
        assert partition_lag is not None and partition_lag > 1000

        joined = wait_for(
            lambda: one(snap_of(source), cat.CLIENT_REBALANCES, client_id=first_id),
            60,
            "the first member's initial rebalance",
            interval=2,
        )
        second = tools.start_console_consumer(bootstrap, topic, group, second_id, properties=SLOW)
        both = client_source(a=first.jmx_url, b=second.jmx_url)

        def rebalanced() -> Snapshot | None:
            snap = snap_of(both)
            total = one(snap, cat.CLIENT_REBALANCES, client_id=first_id) or 0
            return snap if total > joined else None

        snap = wait_for(rebalanced, 120, "a rebalance when the second member joins", interval=2)
        latency = one(snap, cat.CLIENT_REBALANCE_LATENCY_AVG, client_id=first_id)
        assert latency is not None and latency > 0 and math.isfinite(latency)
        assert (one(snap, cat.CLIENT_REBALANCE_LATENCY_MAX, client_id=first_id) or 0) >= latency
        assert one(snap, cat.CLIENT_REBALANCES, client_id=second_id) is not None
        assert one(snap, cat.CLIENT_FAILED_REBALANCES, client_id=first_id) is not None
    finally:
        first.stop()
        if second is not None:
            second.stop()
    clients.delete_topic(bootstrap, topic)


def start_protected_client(
    bootstrap: str, topic: str, group: str, tmp_path: Path, password: str
) -> tuple[str, Managed]:
    """A console consumer whose JMX asks for a user and password; returns (JMX URL, process)."""
    port = free_ports(1)[0]
    pw = tmp_path / "jmx.password"
    pw.write_text(f"monitorRole {password}\n")
    os.chmod(pw, 0o600)
    access = tmp_path / "jmx.access"
    access.write_text("monitorRole readonly\n")
    cmd = jars.java_command(
        tools.CONSOLE_CONSUMER,
        ["--bootstrap-server", bootstrap, "--topic", topic, "--group", group,
         "--formatter", tools.NOOP_FORMATTER],
        jmx_port=port,
    )  # fmt: skip
    cmd = [a for a in cmd if a != "-Dcom.sun.management.jmxremote.authenticate=false"]
    at = cmd.index("-cp")
    cmd[at:at] = [
        "-Dcom.sun.management.jmxremote.authenticate=true",
        f"-Dcom.sun.management.jmxremote.password.file={pw}",
        f"-Dcom.sun.management.jmxremote.access.file={access}",
    ]
    proc = spawn("protected-consumer", cmd, log_path=tmp_path / "consumer.out", ports=(port,))
    return jars.jmx_url(port), proc


def test_password_protected_jmx(
    kafka_single: KafkaCluster, unique_name: Callable[[str], str], tmp_path: Path
) -> None:
    bootstrap = kafka_single.bootstrap_servers
    topic, group = unique_name("topic"), unique_name("group")
    clients.create_topic(bootstrap, topic, partitions=1)
    password = 'pa"ss\\w0rd#1'
    url, proc = start_protected_client(bootstrap, topic, group, tmp_path, password)
    try:
        good = JmxSource(JmxConfig(targets=(
            JmxTarget(url=url, role="client", name="ok", username="monitorRole",
                      password=Secret(password)),
            JmxTarget(url=url, role="client", name="wrong", username="monitorRole",
                      password=Secret("nope")),
            JmxTarget(url=url, role="client", name="anonymous"),
        )))  # fmt: skip

        try:
            wait_for(
                lambda: good.poll(timeout=60)["ok"].ok, 60, "the protected endpoint", interval=1
            )
        except HarnessError as exc:
            raise AssertionError(f"{exc}: {describe(good.poll(timeout=60).values())}") from None
        got = good.poll(timeout=60)
        assert got["ok"].ok, describe(got.values())
        assert (got["wrong"].ok, got["wrong"].reason) == (False, "auth"), describe(got.values())
        assert (got["anonymous"].ok, got["anonymous"].reason) == (False, "auth")
        assert password not in got["wrong"].detail and "nope" not in got["wrong"].detail
    finally:
        proc.stop()
    clients.delete_topic(bootstrap, topic)
