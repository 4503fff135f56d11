"""End to end against the harness's single-node Kafka: `kafka-vitals serve` and `check` through
the real console script; /metrics passes promtool and both parsers."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families as parse_text

from harness import clients, procs
from harness.cluster import KafkaCluster
from tests.cli_run import get, run, spawn_serve
from tests.exposition_check import check_metrics
from tests.openmetrics import parse_openmetrics

pytestmark = pytest.mark.kafka


def test_serve_against_kafka(
    kafka_single: KafkaCluster, unique_name: object, tmp_path: Path
) -> None:
    bootstrap = kafka_single.bootstrap_servers
    topic = unique_name("topic")  # type: ignore[operator]
    group = unique_name('group "quoted"\\')  # type: ignore[operator]
    clients.create_topic(bootstrap, topic, partitions=2)
    # 5 to each partition: unkeyed messages could leave partition 0 below the committed offset
    for partition in (0, 1):
        clients.produce_messages(bootstrap, topic, 5, partition=partition)
    clients.commit_offsets(bootstrap, group, {(topic, 0): 2})
    config = tmp_path / "config.yaml"
    config.write_text(
        f"kafka:\n  bootstrap_servers: {bootstrap}\npoll:\n  interval_seconds: 2\n",
        encoding="utf-8",
    )
    proc, port = spawn_serve(tmp_path, "--config", str(config), "--log.format=json")
    try:
        procs.wait_for(lambda: get(port, "/ready")[0] == 200, 90, "kafka-vitals /ready",
                       check=lambda: _alive(proc))  # fmt: skip

        def scraped() -> bytes | None:
            body = get(port, "/metrics")[1]
            families = {f.name: f for f in parse_text(body.decode())}
            lag = families.get("kafka_consumergroup_lag")
            groups = {s.labels["consumergroup"] for s in lag.samples} if lag else set()
            return body if group in groups else None

        body = procs.wait_for(scraped, 60, f"lag series of {group!r}", check=lambda: _alive(proc))
        assert b'kafka_vitals_up{source="admin"} 1\n' in body
        check_metrics(body)
        families = {f.name: f for f in parse_text(body.decode())}
        lag = {
            (s.labels["consumergroup"], s.labels["partition"]): s.value
            for s in families["kafka_consumergroup_lag"].samples
            if s.labels["topic"] == topic
        }
        end = {
            s.labels["partition"]: s.value
            for s in families["kafka_topic_partition_current_offset"].samples
            if s.labels["topic"] == topic
        }
        assert end == {"0": 5, "1": 5}
        assert lag == {(group, "0"): 3}  # no lag series where nothing is committed
        status, om = get(port, "/metrics", Accept="application/openmetrics-text;version=1.0.0")
        assert status == 200 and list(parse_openmetrics(om.decode()))
        status, page = get(port, "/")
        assert status == 200 and bootstrap.encode() in page
        proc.signal(signal.SIGTERM)
        proc.wait(30)
        assert proc.popen is not None and proc.popen.returncode == 0, proc.log_tail()
    finally:
        proc.kill()
    log = (tmp_path / "serve.log").read_text()
    assert "Traceback" not in log and '"msg": "kafka-vitals started"' in log


def test_check_against_kafka(kafka_single: KafkaCluster) -> None:
    result = run(
        "check", env={"KAFKA_VITALS_KAFKA_BOOTSTRAP_SERVERS": kafka_single.bootstrap_servers}
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[-1] == "result: ok"
    assert any(line.split() == ["admin", "up"] for line in lines)
    assert any(line.split() == ["brokers", "1"] for line in lines)
    assert any(line.split()[:1] == ["kafka_topic_partitions"] for line in lines)


def _alive(proc: procs.Managed) -> None:
    if not proc.alive():
        raise procs.HarnessError(f"kafka-vitals serve exited:\n{proc.log_tail()}")
