"""An offline log directory pages end to end: a 1-node Kafka cluster with two log directories
loses the second one (the directory is moved away and a plain file takes its name, so the broker's
next checkpoint write fails; permissions cannot do it, as tests may run as root), a real
`kafka-vitals serve` reads the broker's JMX, a real Prometheus evaluates the rendered rules and a
real Alertmanager notifies a webhook receiver in this process.

The cluster is this module's own: a failed log directory only comes back with a restart.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness import clients, jars, procs
from harness.cluster import KafkaCluster
from harness.prom import Alertmanager, PrometheusServer, WebhookReceiver
from tests.alert_stack import firing, render_bundle, scraping_prometheus, start_alertmanager
from tests.cli_run import get, spawn_serve

pytestmark = [pytest.mark.kafka, pytest.mark.prometheus]

TIMEOUT = 180.0


@pytest.fixture(scope="module")
def two_dir_cluster() -> Iterator[KafkaCluster]:
    try:
        jars.java()
        jars.fetch()
        cluster = KafkaCluster(1)
        node = cluster.nodes[0]
        (node.dir / "data2").mkdir(parents=True, exist_ok=True)
        cluster.overrides.update({
            "log.dirs": f"{node.dir / 'data'},{node.dir / 'data2'}",
            # checkpoints every second: the broker notices a lost directory at once
            "log.flush.offset.checkpoint.interval.ms": "1000",
            "log.flush.start.offset.checkpoint.interval.ms": "1000",
        })  # fmt: skip
        cluster.up()
    except procs.HarnessError as exc:
        pytest.fail(f"cannot start a 1-node cluster with two log dirs: {exc}", pytrace=False)
    yield cluster
    cluster.down()


def test_offline_log_directory_pages_through_alertmanager(
    two_dir_cluster: KafkaCluster,
    tmp_path: Path,
    webhook_receiver: WebhookReceiver,
    prometheus_factory: Callable[..., PrometheusServer],
    alertmanager_factory: Callable[[str | Mapping[str, Any]], Alertmanager],
) -> None:
    cluster = two_dir_cluster
    node = cluster.nodes[0]
    clients.create_topic(cluster.bootstrap_servers, "spread", partitions=4)
    clients.produce_messages(cluster.bootstrap_servers, "spread", 40)
    assert list((node.dir / "data2").glob("spread-*")), "no partition in the second log dir"

    out = render_bundle(tmp_path, webhook_receiver, {"offline_log_directory": {"for": "2s"}})
    am = start_alertmanager(alertmanager_factory, out)
    config = tmp_path / "kafka-vitals.yaml"
    config.write_text(yaml.safe_dump({
        "kafka": {"bootstrap_servers": cluster.bootstrap_servers},
        "poll": {"interval_seconds": 3, "stage_timeout_seconds": 30},
        "jmx": {"targets": [{"url": node.jmx_url, "role": "broker", "name": "broker-1",
                             "timeout_seconds": 30}]},
    }))  # fmt: skip
    proc, port = spawn_serve(tmp_path, "--config", str(config))
    try:
        procs.wait_for(lambda: get(port, "/ready")[0] == 200, 90, "kafka-vitals /ready")
        prom = scraping_prometheus(prometheus_factory, port, am, out)
        offline = "kafka_log_logmanager_offlinelogdirectorycount"
        prom.wait_for_value(offline, lambda v: v == 0, TIMEOUT)

        # the directory becomes a plain file: the next checkpoint write fails with an I/O error
        (node.dir / "data2").rename(node.dir / "data2.gone")
        (node.dir / "data2").write_text("not a directory\n")

        prom.wait_for_value(offline, lambda v: v == 1, TIMEOUT)
        by_dir = {s["metric"]["log_directory"]: s["value"][1] for s in prom.query(
            "kafka_log_logmanager_logdirectoryoffline")}  # fmt: skip
        assert by_dir == {str(node.dir / "data"): "0", str(node.dir / "data2"): "1"}

        alert = procs.wait_for(
            lambda: firing(webhook_receiver, "KafkaBrokerLogDirectoryOffline"),
            TIMEOUT,
            "the offline log directory notification",
        )
        assert alert["labels"]["target"] == "broker-1"
        assert alert["labels"]["severity"] == "critical"
        assert alert["annotations"]["runbook_url"].endswith("/KafkaBrokerLogDirectoryOffline.md")
        assert node.running, "the broker must survive the loss of a non-metadata log directory"
    finally:
        proc.stop(timeout=15)
