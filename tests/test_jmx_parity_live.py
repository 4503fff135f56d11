"""The queries of dashboards and rules written for jmx_exporter, run by a real Prometheus against a
real `kafka-vitals serve` reading a real broker, a Java producer and a Java consumer over JMX.

The expressions are written here from the names and shapes of Strimzi's Kafka dashboard (its 33
panel queries and 5 variable queries), Strimzi's broker PrometheusRule (the 6 rules that read
Kafka or exporter metrics) and the consumer and producer names of Confluent's dashboards and
kafka-observ-lib. Selectors that only Kubernetes relabelling adds (`namespace`,
`kubernetes_pod_name`, `strimzi_io_cluster`, `container`) and Confluent's `env`/`hostname` and
constant `client_type` are left out; everything else is as those files write it. Queries that
cannot return data are listed in `CANNOT` with the reason (docs/metrics.md lists them too).

The same stack checks that a partition's `kafka_log_log_size` equals the bytes of the segment
files in its directory on the broker's disk, and that `promtool check metrics` finds nothing in
the JMX families of a live scrape.

Kafka 4 creates a topic's request meters lazily, at their first mark: the test makes one failed
produce (a record without key to a compacted topic) so that a failed-produce series exists.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from exporter import catalog
from exporter.catalog import process
from harness import clients, tools
from harness.cluster import KafkaCluster
from harness.procs import HarnessError, Managed, free_ports, spawn, wait_for
from harness.prom import PrometheusServer
from tests.exposition_check import check_metrics

pytestmark = [pytest.mark.kafka, pytest.mark.prometheus]

ROOT = Path(__file__).resolve().parent.parent

TOPIC = "parity"
COMPACTED = "parity-compacted"

STRIMZI_DASHBOARD = {
    "brokers online": "count(kafka_server_replicamanager_leadercount)",
    "active controllers": "sum(kafka_controller_kafkacontroller_activecontrollercount)",
    "unclean election rate":
        "sum(irate(kafka_controller_controllerstats_uncleanleaderelections_total[5m]))",
    "online replicas": "sum(kafka_server_replicamanager_partitioncount)",
    "under-replicated": "sum(kafka_server_replicamanager_underreplicatedpartitions)",
    "at min ISR": "sum(kafka_cluster_partition_atminisr)",
    "under min ISR": "sum(kafka_cluster_partition_underminisr)",
    "offline partitions": "sum(kafka_controller_kafkacontroller_offlinepartitionscount)",
    "memory usage": "sum(container_memory_working_set_bytes) by (pod)",
    "cpu usage": "sum(rate(process_cpu_seconds_total[5m])) by (target)",
    "available disk": "sum(kubelet_volume_stats_available_bytes) by (persistentvolumeclaim)",
    "open file descriptors": "sum(process_open_fds) by (target)",
    "jvm memory used": "sum(jvm_memory_bytes_used) by (target)",
    "jvm gc time": "sum(rate(jvm_gc_collection_seconds_sum[5m])) by (target)",
    "jvm gc count": "sum(rate(jvm_gc_collection_seconds_count[5m])) by (target)",
    "jvm thread count": "sum(jvm_threads_current) by (target)",
    "incoming byte rate":
        'sum(irate(kafka_server_brokertopicmetrics_bytesin_total{topic=~".+",topic!=""}[1m]))',
    "outgoing byte rate":
        'sum(irate(kafka_server_brokertopicmetrics_bytesout_total{topic=~".+",topic!=""}[1m]))',
    "incoming messages rate":
        'sum(irate(kafka_server_brokertopicmetrics_messagesin_total{topic=~".+",topic!=""}[1m]))',
    "produce request rate (stat)": 'sum(irate('
        'kafka_server_brokertopicmetrics_totalproducerequests_total{topic=~".+",topic!=""}[1m]))',
    "byte rate in":
        'sum(irate(kafka_server_brokertopicmetrics_bytesin_total{topic=~".+",topic!=""}[1m]))',
    "byte rate out":
        'sum(irate(kafka_server_brokertopicmetrics_bytesout_total{topic=~".+",topic!=""}[1m]))',
    "messages in per second":
        'sum(irate(kafka_server_brokertopicmetrics_messagesin_total{topic=~".+",topic!=""}[1m]))',
    "produce request rate": 'sum(irate('
        'kafka_server_brokertopicmetrics_totalproducerequests_total{topic=~".+",topic!=""}[1m]))',
    "failed produce request rate": 'sum(irate('
        'kafka_server_brokertopicmetrics_failedproducerequests_total{topic=~".+",topic!=""}[1m]))',
    "fetch request rate": 'sum(irate('
        'kafka_server_brokertopicmetrics_totalfetchrequests_total{topic=~".+",topic!=""}[1m]))',
    "failed fetch request rate": 'sum(irate('
        'kafka_server_brokertopicmetrics_failedfetchrequests_total{topic=~".+",topic!=""}[1m]))',
    "network processor idle":
        "sum(kafka_network_socketserver_networkprocessoravgidle_percent*100) by (target)",
    "request handler idle":
        "sum(kafka_server_kafkarequesthandlerpool_requesthandleravgidle_percent*100) by (target)",
    "disk writes": "sum(irate(kafka_server_kafkaserver_linux_disk_write_bytes[1m])) by (target)",
    "disk reads": "sum(irate(kafka_server_kafkaserver_linux_disk_read_bytes[1m])) by (target)",
    "connections per listener":
        "sum(kafka_server_socket_server_metrics_connection_count) by (target, listener)",
    "log size": 'kafka_log_log_size{topic=~".+",partition=~".*"}',
    "variable namespace": "kafka_server_replicamanager_leadercount",
    "variable cluster": "kafka_server_replicamanager_leadercount",
    "variable broker": "kafka_server_replicamanager_leadercount",
    "variable topic": "kafka_cluster_partition_replicascount",
    "variable partition": 'kafka_log_log_size{topic=~".+"}',
}  # fmt: skip

STRIMZI_RULES = {
    "UnderReplicatedPartitions": ("kafka_server_replicamanager_underreplicatedpartitions", "> 0"),
    "AbnormalControllerState": (
        "sum(kafka_controller_kafkacontroller_activecontrollercount) by (strimzi_io_name, "
        "namespace)", "!= 1"),
    "OfflinePartitions": (
        "sum(kafka_controller_kafkacontroller_offlinepartitionscount) by (namespace, pod)", "> 0"),
    "UnderMinIsrPartitionCount": (
        "kafka_server_replicamanager_underminisrpartitioncount", "> 0"),
    "OfflineLogDirectoryCount": ("kafka_log_logmanager_offlinelogdirectorycount", "> 0"),
    "ScrapeProblem": ('up{job="kafka-vitals"}', "== 0"),
}  # fmt: skip
"""Rule -> (the expression's vector, its comparison). The vector must return data; the whole
rule must run and, in this healthy stack, return nothing."""

_C = "kafka_consumer_consumer_"
_P = "kafka_producer_producer_metrics_"
CLIENT_QUERIES = {
    **{name: f"topk(10, {_C}{name})" for name in (
        "fetch_manager_metrics_records_consumed_rate", "fetch_manager_metrics_bytes_consumed_rate",
        "fetch_manager_metrics_records_lag_max", "fetch_manager_metrics_fetch_rate",
        "fetch_manager_metrics_fetch_latency_avg", "fetch_manager_metrics_fetch_latency_max",
        "fetch_manager_metrics_fetch_size_avg", "fetch_manager_metrics_records_per_request_avg",
        "fetch_manager_metrics_fetch_throttle_time_avg",
        "coordinator_metrics_rebalance_rate_per_hour",
        "coordinator_metrics_failed_rebalance_rate_per_hour",
        "coordinator_metrics_commit_rate", "coordinator_metrics_commit_latency_avg",
        "coordinator_metrics_assigned_partitions", "coordinator_metrics_heartbeat_rate",
        "coordinator_metrics_join_rate", "coordinator_metrics_sync_rate",
        "coordinator_metrics_last_heartbeat_seconds_ago",
        "metrics_time_between_poll_avg", "metrics_time_between_poll_max",
        "metrics_last_poll_seconds_ago", "metrics_poll_idle_ratio_avg",
        "metrics_connection_count", "metrics_io_ratio", "metrics_io_wait_ratio",
        "metrics_incoming_byte_rate", "metrics_outgoing_byte_rate", "metrics_request_rate",
        "metrics_response_rate",
    )},
    **{name: f"topk(10, {_P}{name})" for name in (
        "record_send_rate", "record_error_rate", "record_retry_rate", "request_latency_avg",
        "request_latency_max", "batch_size_avg", "batch_size_max", "compression_rate_avg",
        "record_queue_time_avg", "record_queue_time_max", "record_size_avg",
        "records_per_request_avg", "buffer_available_bytes", "buffer_total_bytes",
        "bufferpool_wait_ratio", "waiting_threads", "requests_in_flight", "metadata_age",
        "produce_throttle_time_avg", "produce_throttle_time_max", "connection_count",
        "incoming_byte_rate", "outgoing_byte_rate", "io_ratio", "io_wait_ratio",
        "request_rate", "response_rate", "select_rate", "network_io_rate",
    )},
    "record send total rate": f"sum by (client_id) (rate({_P}record_send_total[1m]))",
    "records consumed total rate":
        f"sum by (client_id) (rate({_C}fetch_manager_metrics_records_consumed_total[1m]))",
    "records lag per partition": f'sum by (topic) ({_C}fetch_manager_metrics_records_lag)',
    "consumer client version": 'count by (version) (kafka_consumer_app_info{version!=""})',
    "producer client version": 'count by (version) (kafka_producer_app_info{version!=""})',
}  # fmt: skip

CANNOT = {
    "memory usage": "container_memory_working_set_bytes comes from cAdvisor (the kubelet)",
    "available disk": "kubelet_volume_stats_available_bytes comes from the kubelet",
    "metrics_connection_count": "not read: promtool flags a gauge ending in _count",
    "connection_count": "not read: promtool flags a gauge ending in _count",
    "coordinator_metrics_failed_rebalance_rate_per_hour":
        "NaN in the client (no series) until a rebalance failed in its window",
    "fetch_manager_metrics_fetch_throttle_time_avg":
        "NaN in the client until a throttled fetch is in its window",
    "produce_throttle_time_avg": "may be NaN until a throttled produce is in its window",
    "produce_throttle_time_max": "may be NaN until a throttled produce is in its window",
    "coordinator_metrics_commit_latency_avg": "NaN between the console consumer's commits",
    "record_error_rate": "a healthy producer has no errors (0, or NaN in an idle window)",
    "record_retry_rate": "a healthy producer has no retries (0, or NaN in an idle window)",
    "connections per listener": "kafka-vitals names it ..._connections: promtool flags a gauge "
    "ending in _count",
    "failed fetch request rate": "Kafka 4 registers a topic's failed-fetch meter at the topic's "
    "first failed fetch; a healthy stack has none (the broker-wide series, topic=\"\", exists)",
}  # fmt: skip
"""Query -> why it may return no data here."""


def _start_exporter(cluster: KafkaCluster, targets: list[dict[str, Any]], tmp: Path
                    ) -> tuple[Managed, str]:  # fmt: skip
    port = free_ports(1)[0]
    config = {
        "kafka": {"bootstrap_servers": cluster.bootstrap_servers},
        "poll": {"interval_seconds": 4},
        "web": {"listen_address": f"127.0.0.1:{port}"},
        "jmx": {"targets": targets},
    }
    path = tmp / "kafka-vitals.yaml"
    path.write_text(yaml.safe_dump(config))
    exe = ROOT / ".venv" / "bin" / "kafka-vitals"
    proc = spawn("kafka-vitals", [str(exe), "serve", "--config", str(path)],
                 log_path=tmp / "kafka-vitals.log", ports=(port,))  # fmt: skip

    def serving() -> bool:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
            return b"kafka_log_log_size{" in resp.read()

    def alive() -> None:
        if not proc.alive():
            raise HarnessError(f"kafka-vitals serve exited:\n{proc.log_tail()}")

    wait_for(serving, 240, "kafka-vitals to serve broker JMX", interval=1, check=alive)
    return proc, f"127.0.0.1:{port}"


@pytest.fixture
def stack(kafka_single: KafkaCluster, prometheus_factory: Callable[..., PrometheusServer],
          tmp_path: Path) -> Iterator[dict[str, Any]]:  # fmt: skip
    cluster = kafka_single
    bootstrap = cluster.bootstrap_servers
    clients.create_topic(bootstrap, TOPIC, partitions=3, replication_factor=1)
    clients.create_topic(bootstrap, COMPACTED, config={"cleanup.policy": "compact"})
    producer = tools.start_producer_perf(bootstrap, TOPIC, 10_000_000, throughput=300, jmx=True)
    consumer = tools.start_console_consumer(bootstrap, TOPIC, "parity-readers", "parity-reader")
    exporter: Managed | None = None
    try:
        node = cluster.nodes[0]
        targets = [
            {"url": node.jmx_url, "role": "broker", "name": "broker-1", "timeout_seconds": 30},
            {"url": producer.jmx_url, "role": "client", "name": "producer",
             "timeout_seconds": 30},
            {"url": consumer.jmx_url, "role": "client", "name": "consumer",
             "timeout_seconds": 30},
        ]  # fmt: skip
        exporter, address = _start_exporter(cluster, targets, tmp_path)
        prom = prometheus_factory(
            {"global": {"scrape_interval": "2s", "evaluation_interval": "2s"},
             "scrape_configs": [{"job_name": "kafka-vitals",
                                 "static_configs": [{"targets": [address]}]}]},
        )  # fmt: skip
        yield {"prom": prom, "address": address, "producer": producer, "node": node,
               "bootstrap": bootstrap}  # fmt: skip
    finally:
        producer.kill()
        consumer.stop()
        if exporter is not None:
            exporter.stop()


def _has_data(prom: PrometheusServer, expr: str) -> bool:
    return bool(prom.query(expr))


@pytest.mark.timeout(600)
def test_established_queries_return_data_and_partition_size_matches_the_disk(
    stack: dict[str, Any],
) -> None:
    prom: PrometheusServer = stack["prom"]
    # a failed produce (a record without key to a compacted topic) registers that topic's
    # failed-produce meter, which Kafka 4 creates at the first failure
    with pytest.raises(HarnessError, match="INVALID_RECORD"):
        clients.produce_messages(stack["bootstrap"], COMPACTED, 1)
    # every family present, then two JMX polls with traffic between them, so irate() has data
    prom.wait_for_value(
        f'count(kafka_server_brokertopicmetrics_messagesin_total{{topic="{TOPIC}"}})'
        " + count(kafka_server_brokertopicmetrics_failedproducerequests_total"
        f'{{topic="{COMPACTED}"}})'
        " + count(kafka_producer_producer_metrics_record_send_rate)"
        " + count(kafka_consumer_consumer_fetch_manager_metrics_records_lag_max)"
        " + count(kafka_consumer_consumer_metrics_time_between_poll_max)",
        lambda v: v >= 5,
        timeout=300,
    )
    prom.wait_for_value(
        f'changes(kafka_server_brokertopicmetrics_messagesin_total{{topic="{TOPIC}"}}[1m])',
        lambda v: v >= 1, timeout=180,
    )  # fmt: skip

    empty = {name: expr for name, expr in {**STRIMZI_DASHBOARD, **CLIENT_QUERIES}.items()
             if not _has_data(prom, expr)}  # fmt: skip
    unexpected = {name: expr for name, expr in empty.items() if name not in CANNOT}
    health = {s["metric"].get("target", ""): s["value"][1] for s in prom.query(
        "kafka_vitals_jmx_query_duration_seconds")}  # fmt: skip
    topics = prom.query("count by (topic) (kafka_server_brokertopicmetrics_messagesin_total)")
    assert not unexpected, f"no data for: {unexpected}; jmx durations {health}; topics {topics}"
    dashboard_ok = sum(1 for name in STRIMZI_DASHBOARD if name not in empty)
    assert len(STRIMZI_DASHBOARD) == 38
    assert dashboard_ok >= 34, f"only {dashboard_ok} of 38 Strimzi dashboard queries have data"
    print(f"Strimzi dashboard: {dashboard_ok}/38; client queries: "
          f"{sum(1 for n in CLIENT_QUERIES if n not in empty)}/{len(CLIENT_QUERIES)}; "
          f"empty: {sorted(empty)}")  # fmt: skip
    for rule, (vector, comparison) in STRIMZI_RULES.items():
        assert _has_data(prom, vector), f"{rule}: {vector} has no data"
        assert not prom.query(f"{vector} {comparison}"), f"{rule} fires in a healthy stack"

    # the exporter's own series and the broker's JVM stay apart by their target label
    assert {s["metric"]["target"] for s in prom.query('process_open_fds{target!=""}')} == {
        "broker-1", "producer", "consumer"}  # fmt: skip

    assert [s["metric"].get("job") for s in prom.query('process_cpu_seconds_total{target=""}')] == [
        "kafka-vitals"
    ], "the exporter's own process_cpu_seconds_total (no target) is missing"

    # the exporter's own process_* and python_* are read at every scrape, not once per cycle
    def own(body: bytes) -> dict[str, str]:
        lines = [
            line.rsplit(" ", 1)
            for line in body.decode().splitlines()
            if line.startswith(("process_", "python_gc_")) and "target=" not in line
        ]
        return {series: value for series, value in lines}  # fmt: skip

    def scrape() -> bytes:
        with urllib.request.urlopen(f"http://{stack['address']}/metrics", timeout=10) as resp:
            return bytes(resp.read())

    first = own(scrape())
    assert {"process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds",
            'python_gc_collections_total{generation="0"}'} <= set(first)  # fmt: skip
    moving = {"process_cpu_seconds_total", "process_resident_memory_bytes"}
    wait_for(lambda: {k for k, v in own(scrape()).items() if first.get(k) != v} & moving or None,
             30, "the exporter's CPU seconds or resident memory to change between scrapes",
             interval=0.5)  # fmt: skip

    # a live scrape passes promtool for every JMX family and the exporter's own process ones
    body = scrape()
    jmx_names = {n for m in catalog.ALL if m.source.startswith("jmx") or m in process.ALL
                 for n in catalog.exposed_names(m)}  # fmt: skip
    lines = [line for line in body.decode().splitlines()
             if line.split("{")[0].split(" ")[0] in jmx_names
             or (line.startswith("#") and line.split(" ")[2] in jmx_names)]  # fmt: skip
    check_metrics(("\n".join(lines) + "\n").encode())

    # partition size on disk: stop writing, then the exporter's figure is the segments' bytes
    stack["producer"].kill()
    node = stack["node"]

    def sizes_agree() -> tuple[dict[int, float], dict[int, int]] | None:
        on_disk = {p: sum(f.stat().st_size for f in (node.dir / "data" / f"{TOPIC}-{p}").glob(
            "*.log")) for p in range(3)}  # fmt: skip
        reported = {int(s["metric"]["partition"]): float(s["value"][1])
                    for s in prom.query(f'kafka_log_log_size{{topic="{TOPIC}"}}')}  # fmt: skip
        return (reported, on_disk) if reported == on_disk else None

    _reported, on_disk = wait_for(sizes_agree, 60, "kafka_log_log_size to equal the bytes on disk",
                                 interval=1)  # fmt: skip
    assert all(size > 0 for size in on_disk.values())
    topic_sum = prom.query_value(f'kafka_vitals_topic_log_size_bytes{{topic="{TOPIC}"}}')
    assert topic_sum == sum(on_disk.values())
