"""A kafka_exporter argument line, as its README writes one, starts kafka-vitals against the
harness's Kafka, and kafka_exporter's series are served; `promtool check metrics` on that live
scrape finds nothing but kafka_exporter's two `_sum` gauges."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families as parse_text

from harness import clients, procs
from harness.cluster import KafkaCluster
from tests.cli_run import clean_env, console_script, get
from tests.exposition_check import check_metrics

pytestmark = pytest.mark.kafka

KAFKA_EXPORTER_FAMILIES = (
    "kafka_brokers",
    "kafka_broker_info",
    "kafka_topic_partitions",
    "kafka_topic_partition_current_offset",
    "kafka_topic_partition_oldest_offset",
    "kafka_topic_partition_in_sync_replica",
    "kafka_topic_partition_leader",
    "kafka_topic_partition_leader_is_preferred",
    "kafka_topic_partition_replicas",
    "kafka_topic_partition_under_replicated_partition",
    "kafka_consumergroup_current_offset",
    "kafka_consumergroup_current_offset_sum",
    "kafka_consumergroup_lag",
    "kafka_consumergroup_lag_sum",
    "kafka_consumergroup_members",
)


def test_kafka_exporter_argument_line_serves_its_series(
    kafka_single: KafkaCluster, unique_name: object, tmp_path: Path
) -> None:
    bootstrap = kafka_single.bootstrap_servers
    wanted, other = unique_name("orders"), unique_name("audit")  # type: ignore[operator]
    group = unique_name("billing")  # type: ignore[operator]
    for topic in (wanted, other):
        clients.create_topic(bootstrap, topic, partitions=2)
        for partition in (0, 1):
            clients.produce_messages(bootstrap, topic, 4, partition=partition)
    clients.commit_offsets(bootstrap, group, {(wanted, 0): 1, (other, 0): 1})
    (port,) = procs.free_ports(1)
    # The argument line of kafka_exporter's README ("Run Binary", the flags table): the broker
    # given twice, filters, the listen address and path, the log level.
    argv = [
        f"--kafka.server={bootstrap}",
        f"--kafka.server={bootstrap}",
        f"--topic.filter={wanted}",
        "--topic.exclude=^$",
        "--group.filter=.*",
        "--group.exclude=^console-consumer-",
        f"--web.listen-address=127.0.0.1:{port}",
        "--web.telemetry-path=/metrics",
        "--log.level=info",
    ]
    env = clean_env({"KAFKA_VITALS_POLL_INTERVAL_SECONDS": "2"})
    proc = procs.spawn(
        "kafka-vitals", [console_script(), *argv], log_path=tmp_path / "serve.log",
        ports=[port], env=env,
    )  # fmt: skip
    try:

        def scraped() -> bytes | None:
            status, body = get(port, "/metrics")
            return body if status == 200 and group.encode() in body else None

        body = procs.wait_for(scraped, 90, f"lag series of {group}", check=lambda: _alive(proc))
    finally:
        proc.kill()
    families = {f.name: f for f in parse_text(body.decode())}
    missing = [name for name in KAFKA_EXPORTER_FAMILIES if not families.get(name)]
    assert not missing, f"kafka_exporter families not served: {missing}"
    offsets = {
        (s.labels["topic"], s.labels["partition"]): s.value
        for s in families["kafka_topic_partition_current_offset"].samples
    }
    assert offsets == {(wanted, "0"): 4, (wanted, "1"): 4}  # --topic.filter kept only `wanted`
    lag = {
        (s.labels["consumergroup"], s.labels["topic"]): s.value
        for s in families["kafka_consumergroup_lag"].samples
    }
    assert lag == {(group, wanted): 3}
    check_metrics(body)
    assert "Traceback" not in (tmp_path / "serve.log").read_text()


def _alive(proc: procs.Managed) -> None:
    if not proc.alive():
        pytest.fail(f"kafka-vitals exited:\n{proc.log_tail()}", pytrace=False)
