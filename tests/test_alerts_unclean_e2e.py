"""An unclean leader election pages end to end: on a 3-node cluster a topic's partition lives on
nodes 1 and 2 with `unclean.leader.election.enable=true`; node 1 stops (node 2 is the last in-sync
replica), records are produced, node 2 stops, and node 1 starts first, so the controller makes the
out-of-sync replica leader. A real `kafka-vitals serve` reads the three brokers' JMX, a real
Prometheus evaluates the rendered rules and a real Alertmanager notifies a webhook receiver in
this process.

In KRaft every controller counts the election when it applies the partition change (the
`ControllerStats` meter of its `ControllerMetadataMetrics`), so node 3, which runs throughout,
counts it from 0 to 1; node 1 counts it in a JVM started just before, whose first read may
already say 1.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from confluent_kafka.cimpl import NewTopic

from exporter.catalog import jmx_broker
from harness import clients, procs
from harness.cluster import KafkaCluster
from harness.prom import Alertmanager, PrometheusServer, WebhookReceiver
from tests.alert_stack import firing, render_bundle, scraping_prometheus, start_alertmanager
from tests.cli_run import get, spawn_serve

pytestmark = [pytest.mark.kafka, pytest.mark.prometheus]

TIMEOUT = 180.0
TOPIC = "unclean-election"


def _leader(cluster: KafkaCluster) -> tuple[int, list[int]]:
    """The partition's leader and ISR as the metadata says (-1 and [] when unknown)."""
    for p in clients.partitions(cluster.bootstrap_servers, [TOPIC]):
        if p.partition == 0:
            return p.leader, list(p.isr)
    return -1, []


def test_unclean_leader_election_pages_through_alertmanager(
    kafka_cluster3: KafkaCluster,
    tmp_path: Path,
    webhook_receiver: WebhookReceiver,
    prometheus_factory: Callable[..., PrometheusServer],
    alertmanager_factory: Callable[[str | Mapping[str, Any]], Alertmanager],
) -> None:
    cluster = kafka_cluster3
    one, two, _ = cluster.nodes
    admin = clients.admin_client(cluster.bootstrap_servers)
    topic = NewTopic(TOPIC, 1, replica_assignment=[[one.node_id, two.node_id]],
                     config={"unclean.leader.election.enable": "true",
                             "min.insync.replicas": "1"})  # fmt: skip
    admin.create_topics([topic], operation_timeout=30)[TOPIC].result(60)
    procs.wait_for(lambda: _leader(cluster)[0] >= 0, 60, f"a leader for {TOPIC}")
    clients.produce_messages(cluster.bootstrap_servers, TOPIC, 10, partition=0)

    out = render_bundle(tmp_path, webhook_receiver, {})
    am = start_alertmanager(alertmanager_factory, out)
    config = tmp_path / "kafka-vitals.yaml"
    targets = [{"url": n.jmx_url, "role": "broker", "name": f"broker-{n.node_id}",
                "timeout_seconds": 30} for n in cluster.nodes]  # fmt: skip
    config.write_text(yaml.safe_dump({
        "kafka": {"bootstrap_servers": cluster.bootstrap_servers},
        "poll": {"interval_seconds": 3, "stage_timeout_seconds": 30},
        "jmx": {"targets": targets},
    }))  # fmt: skip
    proc, port = spawn_serve(tmp_path, "--config", str(config))
    name = jmx_broker.UNCLEAN_ELECTIONS.name
    try:
        procs.wait_for(lambda: get(port, "/ready")[0] == 200, 90, "kafka-vitals /ready")
        prom = scraping_prometheus(prometheus_factory, port, am, out)
        prom.wait_for_value(f"count({name} == 0)", lambda v: v == 3, TIMEOUT)

        cluster.stop(one)
        procs.wait_for(lambda: _leader(cluster) == (two.node_id, [two.node_id]), 60,
                       "node 2 alone in the ISR")  # fmt: skip
        clients.produce_messages(cluster.bootstrap_servers, TOPIC, 20, partition=0)
        cluster.stop(two)
        cluster.start(one, wait=False)
        procs.wait_for(lambda: _leader(cluster)[0] == one.node_id, 120,
                       "node 1 (out of sync) elected leader")  # fmt: skip

        try:
            alert = procs.wait_for(
                lambda: firing(webhook_receiver, "KafkaUncleanLeaderElection"),
                TIMEOUT,
                "the unclean leader election notification",
            )
        except procs.HarnessError as exc:
            counts = {s["metric"]["target"]: s["value"][1] for s in prom.query(name)}
            up = {s["metric"]["target"]: s["value"][1]
                  for s in prom.query('kafka_vitals_up{source="jmx"}')}  # fmt: skip
            pytest.fail(f"{exc}; counts by target {counts}; JMX up {up}", pytrace=False)
        assert alert["labels"]["severity"] == "critical"
        # both live controllers (nodes 1 and 3) counted the one election: max, not their sum
        counted = float(alert["annotations"]["description"].split()[0])
        assert 0.9 < counted < 1.5, alert["annotations"]["description"]
        assert alert["annotations"]["runbook_url"].endswith("/KafkaUncleanLeaderElection.md")
    finally:
        proc.stop(timeout=15)
        if not two.running:
            cluster.start(two, wait=False)
        if not one.running:
            cluster.start(one, wait=False)
