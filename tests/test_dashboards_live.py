"""Every query of every dashboard panel, run by a real Prometheus against a real `kafka-vitals
serve` polling a real 3-node Kafka cluster under load, returns data; the pictures in docs/img come
from the same run.

The stack: topics `orders` (6 partitions), `payments` (3), `audit` (1), the dead-letter topic
`orders.DLT`, and `solo` (1 partition, replication factor 1); a producer writing to all of them;
Java consumers with JMX on (`billing` on orders, two `auditors` on the one-partition audit topic,
so one of them idles); a group `reporting` that committed half of orders and has no members
(lag that grows, lag status STOP); a third auditor joining later (a rebalance). kafka-vitals polls
the Admin API and the JMX of every broker and consumer, the registry and the newest messages of
each topic (raw bytes, and on payments a schema id the registry never gave); Prometheus scrapes
it every 5 s under job `kafka-vitals` with `cluster="live"` and evaluates the shipped alert rules.

Phase A runs every query in the healthy stack. Phase B stops the broker holding `solo`: offline
and under-replicated partitions, firing alerts and JMX errors appear, and every query runs again.
Queries that may stay empty are listed in MAY_BE_EMPTY (with the reason) or ONLY_WITH_A_BROKER_DOWN;
each must still run without error. Set KAFKA_VITALS_PLOT_DIR=docs/img to refresh the pictures.
"""

from __future__ import annotations

import dataclasses
import os
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from confluent_kafka import Producer

from bundle.config import DEFAULT, BundleConfig
from bundle.dashboards.output import build_all
from bundle.dashboards.queries import expand, panel_queries, variable_queries
from bundle.rules import rules_document
from exporter.catalog import jmx, registry
from harness import clients, tools
from harness.cluster import KafkaCluster
from harness.procs import HarnessError, Managed, free_ports, spawn, wait_for
from harness.prom import PrometheusServer
from harness.registry import SchemaRegistry, framed
from tools.plot import render_all

pytestmark = [pytest.mark.kafka, pytest.mark.prometheus]

ROOT = Path(__file__).resolve().parent.parent
JOB, CLUSTER = "kafka-vitals", "live"
VALUES = {
    "job": JOB, "cluster": CLUSTER, "consumergroup": ".*", "topic": ".*", "broker": ".*",
    "__rate_interval": "1m",
}  # fmt: skip
TOPICS = {"orders": 6, "payments": 3, "audit": 1, "orders.DLT": 1}
HISTORY = "it compares with the same window {offset} earlier; the stack is minutes old"
FOREIGN_SCHEMA_ID = 987_654
"""A schema id the stack's registry never gave."""


def _order_schema(*extra: dict[str, object]) -> dict[str, object]:
    fields = [{"name": "id", "type": "long"}, {"name": "amount", "type": "double"}, *extra]
    return {"type": "record", "name": "Order", "namespace": "live", "fields": fields}


MAY_BE_EMPTY: dict[tuple[str, str, str], str] = {
    ("kafka-vitals-overview", "Produce p99 (worst broker)", "B"): HISTORY.format(offset="15 m"),
    ("kafka-vitals-overview", "Produce p99 by broker", "B"): HISTORY.format(offset="15 m"),
    ("kafka-vitals-overview", "Messages in", "B"): HISTORY.format(offset="1 h"),
    ("kafka-vitals-overview", "Messages in per second", "B"): HISTORY.format(offset="1 h"),
    ("kafka-vitals-consumer-groups", "Client rebalance latency", "A"):
        "the client reports NaN (no series) once its last rebalance left its sample window",
    ("kafka-vitals-consumer-groups", "Client rebalance latency", "B"):
        "the client reports NaN (no series) once its last rebalance left its sample window",
    ("kafka-vitals-exporter", "Series dropped, duplicates, clamped lag", "A"):
        "only when a family exceeds the configured series cap",
    ("kafka-vitals-exporter", "Series dropped, duplicates, clamped lag", "B"):
        "only when a collector emits a duplicate series (a bug)",
    ("kafka-vitals-exporter", "Collectors failing", "A"):
        "only while a collector fails (kafka_vitals_collector_success == 0)",
    ("kafka-vitals-consumer-groups", "Time since the last commit", "A"):
        "the commit time comes only from the offsets log (committed_offsets.source: log or auto)",
}  # fmt: skip
ONLY_WITH_A_BROKER_DOWN = {
    ("kafka-vitals-overview", "Firing Kafka alerts", "A"),
    ("kafka-vitals-brokers", "Unhealthy partitions", "A"),
    ("kafka-vitals-brokers", "Unhealthy partitions", "B"),
    ("kafka-vitals-brokers", "Unhealthy partitions", "C"),
    ("kafka-vitals-exporter", "JMX errors by target", "A"),
}
"""Empty in a healthy cluster by design; must have data while a broker is stopped."""


def _fast_rules() -> BundleConfig:
    """The shipped rules, with replication alerts' `for` shortened so they fire within the test."""
    t = DEFAULT
    return dataclasses.replace(
        t,
        under_replicated=dataclasses.replace(t.under_replicated, for_="15s"),
        offline_partitions=dataclasses.replace(t.offline_partitions, for_="15s"),
    )


RAW = b"x" * 200
PAYLOADS = {"payments": framed(FOREIGN_SCHEMA_ID, RAW[5:])}
"""What the load writes: raw bytes, and on payments the wire format with a schema id from another
registry (the payload panels' unknown-id query has data)."""


class Load:
    """Produces to every topic a few times a second until stopped."""

    def __init__(self, bootstrap: str) -> None:
        conf = {"bootstrap.servers": bootstrap, "linger.ms": 20, "message.timeout.ms": 10000}
        self._producer = Producer(conf)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="load", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        i = 0
        while not self._stop.is_set():
            for topic, count in (("orders", 40), ("payments", 15), ("audit", 5), ("solo", 3)):
                for _ in range(count):
                    self._producer.produce(topic, PAYLOADS.get(topic, RAW))
            if i % 4 == 0:
                self._producer.produce("orders.DLT", b"failed")
            self._producer.poll(0)
            self._producer.flush(2)
            i += 1
            self._stop.wait(0.5)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)


def _start_exporter(cluster: KafkaCluster, consumers: list[tools.JavaClient], tmp: Path,
                    registry_url: str) -> tuple[Managed, str]:  # fmt: skip
    port = free_ports(1)[0]
    # a JMX query starts a JVM: on a loaded host that alone took over the default 10 s, so the
    # surviving brokers' OfflinePartitionsCount never arrived and KafkaOfflinePartitions could
    # not fire (seen with the diagnosis below: broker JMX up 0, "query JVM killed")
    brokers = [{"url": n.jmx_url, "role": "broker", "name": f"broker-{n.node_id}",
                "timeout_seconds": 30} for n in cluster.nodes]  # fmt: skip
    client_targets = [{"url": c.jmx_url, "role": "client", "name": c.client_id,
                       "timeout_seconds": 30} for c in consumers]  # fmt: skip
    config = {
        "kafka": {"bootstrap_servers": cluster.bootstrap_servers},
        "poll": {"interval_seconds": 10},
        "web": {"listen_address": f"127.0.0.1:{port}"},
        "jmx": {"targets": brokers + client_targets},
        "lessons": {"planned_consumers_by_group": {"billing": 4}},
        "log": {"level": "debug"},  # so that a failure can be traced in its log
        "schema_registry": {"url": registry_url, "timeout_seconds": 10, "payload_sampling": True},
        "probe": {"enabled": True, "create_topic": True},  # the end-to-end probe's row
    }
    path = tmp / "kafka-vitals.yaml"
    path.write_text(yaml.safe_dump(config))
    exe = ROOT / ".venv" / "bin" / "kafka-vitals"
    proc = spawn("kafka-vitals", [str(exe), "serve", "--config", str(path)],
                 log_path=tmp / "kafka-vitals.log", ports=(port,))  # fmt: skip
    url = f"http://127.0.0.1:{port}/metrics"

    def serving() -> bool:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return b"kafka_brokers " in resp.read()

    def alive() -> None:
        if not proc.alive():
            raise HarnessError(f"kafka-vitals serve exited:\n{proc.log_tail()}")

    wait_for(serving, 120, "kafka-vitals to serve its first snapshot", interval=1, check=alive)
    return proc, f"127.0.0.1:{port}"


@dataclasses.dataclass
class Outcome:
    series: int = 0
    error: str = ""


def _run_queries(prom: PrometheusServer) -> dict[tuple[str, str, str], Outcome]:
    """Every panel query (range over the last 5 minutes, or instant) and every variable query."""
    end = time.time()
    out: dict[tuple[str, str, str], Outcome] = {}
    for uid, dashboard in build_all().items():
        for q in panel_queries(uid, dashboard):
            expr = expand(q.expr, VALUES)
            params = {"query": expr}
            if q.instant:
                params["time"] = f"{end:.3f}"
            else:
                params.update(start=f"{end - 300:.3f}", end=f"{end:.3f}", step="15")
            try:
                data = prom.api("query" if q.instant else "query_range", **params)
                out[(uid, q.panel, q.ref)] = Outcome(series=len(data["result"]))
            except HarnessError as exc:
                out[(uid, q.panel, q.ref)] = Outcome(error=f"{expr}: {exc}")
        for name, selector in variable_queries(dashboard).items():
            expr = expand(f"count by (__name__) ({selector})", VALUES)
            try:
                series = len(prom.api("query", query=expr)["result"])
                out[(uid, f"variable {name}", "")] = Outcome(series=series)
            except HarnessError as exc:
                out[(uid, f"variable {name}", "")] = Outcome(error=f"{expr}: {exc}")
    return out


@pytest.fixture
def stack(kafka_cluster3: KafkaCluster, prometheus_factory: Callable[..., PrometheusServer],
          schema_registry: SchemaRegistry, tmp_path: Path) -> Iterator[dict[str, Any]]:  # fmt: skip
    cluster = kafka_cluster3
    bootstrap = cluster.bootstrap_servers
    for topic, partitions in TOPICS.items():
        clients.create_topic(bootstrap, topic, partitions, 3, config={"min.insync.replicas": "2"})
    clients.create_topic(bootstrap, "solo", 1, 1)
    load = Load(bootstrap)
    consumers = [
        tools.start_console_consumer(bootstrap, "orders", "billing", "billing-1",
                                     properties={"max.poll.records": "100"}),
        tools.start_console_consumer(bootstrap, "audit", "auditors", "auditor-1"),
        tools.start_console_consumer(bootstrap, "audit", "auditors", "auditor-2"),
    ]  # fmt: skip
    late: list[tools.JavaClient] = []
    exporter: Managed | None = None
    try:
        time.sleep(3)
        ends = clients.end_offsets(bootstrap, "orders")
        clients.commit_offsets(bootstrap, "reporting",
                               {("orders", p): end // 2 for p, end in ends.items()})  # fmt: skip
        # the contract: orders has a value schema, payments one without a compatibility check,
        # audit and solo none
        schema_registry.register("orders-value", _order_schema())
        schema_registry.register("payments-value", _order_schema())
        schema_registry.set_compatibility("NONE", "payments-value")
        exporter, address = _start_exporter(cluster, consumers, tmp_path, schema_registry.url)
        scrape = {"job_name": JOB, "static_configs": [
            {"targets": [address], "labels": {"cluster": CLUSTER}}]}  # fmt: skip
        prom = prometheus_factory(
            {"global": {"scrape_interval": "5s", "evaluation_interval": "5s"},
             "scrape_configs": [scrape]},
            {"kafka-vitals.yml": yaml.safe_dump(rules_document(_fast_rules()))},
        )  # fmt: skip
        # a second orders version once the exporter has counted the subject at its first
        prom.wait_for_value(f'count({registry.SUBJECT_REGISTRATIONS.name}'
                            '{subject="orders-value"})', lambda v: v > 0, timeout=120)  # fmt: skip
        schema_registry.register(
            "orders-value", _order_schema({"name": "note", "type": ["null", "string"],
                                           "default": None}))  # fmt: skip
        yield {"cluster": cluster, "prom": prom, "late": late, "tmp": tmp_path}
    finally:
        load.stop()
        for client in consumers + late:
            client.stop()
        if exporter is not None:
            exporter.stop()
        for node in cluster.nodes:
            if not node.running:
                cluster.start(node)


def _offline_diagnosis(prom: PrometheusServer, tmp: Path, stopped: int) -> str:
    """What Prometheus saw of the alert's input and of the exporter's health over the last
    5 minutes, the alert states, and the end of the exporter's debug log: enough to tell a
    missing JMX reading from a zero count from a rule that did not fire."""
    end = time.time()
    lines = [f"broker {stopped} (the leader of 'solo') was stopped"]
    exprs = (
        f"{jmx.OFFLINE_PARTITIONS.name}",
        'kafka_vitals_up{source="jmx"}',
        'kafka_vitals_up{source="admin"}',
        "kafka_vitals_poll_errors_total > 0",
        'kafka_vitals_poll_duration_seconds{stage=~"cycle|jmx"}',
        "ALERTS",
    )
    for expr in exprs:
        try:
            result = prom.api("query_range", query=expr, start=f"{end - 300:.0f}",
                              end=f"{end:.0f}", step="10")["result"]  # fmt: skip
        except HarnessError as exc:
            lines.append(f"{expr}: query failed: {exc}")
            continue
        lines.append(f"{expr}: {len(result)} series")
        for series in result:
            values = " ".join(f"{float(t) - end:+.0f}s={v}" for t, v in series["values"][-12:])
            lines.append(f"  {series['metric']}: {values}")
    log = tmp / "kafka-vitals.log"
    if log.exists():
        wanted = ("jmx", "offline", "failed", "warning", "error", "replaced")
        tail = [ln for ln in log.read_text(errors="replace").splitlines()[-3000:]
                if any(w in ln.lower() for w in wanted)]  # fmt: skip
        lines.append("exporter log (jmx, failures, warnings; last 60):")
        lines.extend(f"  {ln[:300]}" for ln in tail[-60:])
    return "\n".join(lines)


def _missing_when_healthy(run: dict[tuple[str, str, str], Outcome]) -> list[str]:
    may_be_empty = MAY_BE_EMPTY.keys() | ONLY_WITH_A_BROKER_DOWN
    return [f"{k}: no data in the healthy stack" for k, o in run.items()
            if not o.series and k not in may_be_empty]  # fmt: skip


def _missing_when_degraded(run: dict[tuple[str, str, str], Outcome]) -> list[str]:
    return [f"{k}: no data" for k in ONLY_WITH_A_BROKER_DOWN if k in run and not run[k].series]


def _until(
    prom: PrometheusServer,
    missing: Callable[[dict[tuple[str, str, str], Outcome]], list[str]],
    timeout: float,
) -> dict[tuple[str, str, str], Outcome]:
    """Every query run again every 5 s until `missing` finds nothing (or `timeout` passes): the
    last run, for the caller to judge."""
    end = time.monotonic() + timeout
    while True:
        run = _run_queries(prom)
        if not missing(run) or time.monotonic() > end:
            return run
        time.sleep(5)


def _solo_leader(bootstrap: str) -> int:
    (info,) = [p for p in clients.partitions(bootstrap, ["solo"]) if p.topic == "solo"]
    return int(info.leader)


@pytest.mark.timeout(1200)
def test_every_dashboard_query_returns_data_in_a_live_stack(stack: dict[str, Any]) -> None:
    cluster: KafkaCluster = stack["cluster"]
    prom: PrometheusServer = stack["prom"]
    bootstrap = cluster.bootstrap_servers
    prom.wait_for_value(f'count(kafka_server_brokertopicmetrics_messagesin_total{{job="{JOB}"}})',
                        lambda v: v > 0, timeout=180)  # fmt: skip
    prom.wait_for_value(f'max(kafka_consumergroup_members{{job="{JOB}",consumergroup="auditors"}})',
                        lambda v: v >= 2, timeout=120)  # fmt: skip
    stack["late"].append(tools.start_console_consumer(bootstrap, "audit", "auditors", "auditor-3"))
    if os.environ.get("KAFKA_VITALS_PLOT_DIR"):
        time.sleep(120)  # the pictures for the docs: a few minutes of history on every panel
    # history for rates, lag in seconds and lag status; JMX client metrics need a fetch first
    healthy = _until(prom, _missing_when_healthy, timeout=240)

    stopped = _solo_leader(bootstrap)
    cluster.stop(stopped)
    try:
        prom.wait_for_value('count(ALERTS{alertname="KafkaOfflinePartitions",alertstate="firing"})',
                            lambda v: v > 0, timeout=240)  # fmt: skip
    except HarnessError as exc:
        pytest.fail(f"{exc}\n{_offline_diagnosis(prom, stack['tmp'], stopped)}", pytrace=False)
    degraded = _until(prom, _missing_when_degraded, timeout=90)
    plot_dir = Path(os.environ.get("KAFKA_VITALS_PLOT_DIR") or stack["tmp"] / "img")
    pictures = render_all(prom.url, JOB, plot_dir, minutes=6, rate_interval="1m")
    cluster.start(stopped)

    for key, reason in MAY_BE_EMPTY.items():
        print(f"may be empty ({reason}): {key}: {healthy[key].series} / {degraded[key].series}")
    problems = [f"{k}: query failed: {o.error}" for run in (healthy, degraded)
                for k, o in run.items() if o.error]  # fmt: skip
    problems += _missing_when_healthy(healthy)
    for key in ONLY_WITH_A_BROKER_DOWN:
        assert key in degraded, f"{key} is not a query of the dashboards any more"
    problems += [f"{p} (broker {stopped} stopped)" for p in _missing_when_degraded(degraded)]
    assert not problems, "\n".join(problems)
    expected = sum(
        len(list(panel_queries(uid, d))) + len(variable_queries(d))
        for uid, d in build_all().items()
    )
    assert len(healthy) == len(degraded) == expected
    assert sorted(p.name for p in pictures) == sorted(f"{uid}.png" for uid in build_all())
    assert all(p.stat().st_size > 50_000 for p in pictures)
