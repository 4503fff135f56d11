"""The shipped alerts end to end: a real Prometheus scrapes a real `kafka-vitals serve` watching a
real 3-node Kafka cluster, evaluates the rules `kafka-vitals render` wrote (with `for` shortened
through an overrides file), and sends to a real Alertmanager running the rendered example config,
which notifies a webhook receiver in this process.

- Stopping a broker: the per-broker under-replicated alert (broker JMX) and the broker-count page
  arrive; the per-topic under-replicated alert (Admin API) fires in Prometheus but is inhibited by
  the broker-count page; everything resolves after the broker returns.
- Stopping a consumer while 20,000 messages are produced: the lag alert arrives, and resolves once
  a consumer drains the backlog.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from confluent_kafka import Consumer

from bundle.outputs import RULES_PATH
from harness import clients, procs
from harness.cluster import KafkaCluster
from harness.prom import Alertmanager, PrometheusServer, WebhookReceiver
from tests.alert_stack import render_bundle, start_alertmanager
from tests.cli_run import get, spawn_serve

pytestmark = [pytest.mark.kafka, pytest.mark.prometheus]

POLL_SECONDS = 3
TIMEOUT = 180.0
"""Bound of every wait: polls, scrapes, `for`, Alertmanager grouping, a broker restart."""


@dataclass
class Stack:
    prom: PrometheusServer
    am: Alertmanager
    webhook: WebhookReceiver

    def notifications(self, alertname: str, status: str) -> list[tuple[str, dict[str, Any]]]:
        """(receiver, alert) of every notification of `alertname` with `status` so far."""
        return [
            (p.get("receiver", ""), a)
            for p in list(self.webhook.payloads)
            for a in p.get("alerts", [])
            if a["labels"].get("alertname") == alertname and a.get("status") == status
        ]

    def wait_notified(
        self, alertname: str, status: str = "firing", **labels: str
    ) -> tuple[str, dict[str, Any]]:
        def find() -> tuple[str, dict[str, Any]] | None:
            for receiver, alert in self.notifications(alertname, status):
                if all(alert["labels"].get(k) == v for k, v in labels.items()):
                    return receiver, alert
            return None

        found: tuple[str, dict[str, Any]] = procs.wait_for(
            find, TIMEOUT, f"{status} notification of {alertname} {labels}"
        )
        return found

    def prometheus_alert(self, alertname: str, state: str, **labels: str) -> bool:
        return any(
            a["labels"].get("alertname") == alertname
            and a["state"] == state
            and all(a["labels"].get(k) == v for k, v in labels.items())
            for a in self.prom.alerts()
        )


StackFactory = Callable[[Mapping[str, Any], Mapping[str, Any]], Stack]


@pytest.fixture
def alert_stack(
    kafka_cluster3: KafkaCluster,
    tmp_path: Path,
    webhook_receiver: WebhookReceiver,
    prometheus_factory: Callable[..., PrometheusServer],
    alertmanager_factory: Callable[[str | Mapping[str, Any]], Alertmanager],
) -> Iterator[StackFactory]:
    """`alert_stack(overrides, exporter_config)` -> the running stack; torn down after the test."""
    served: list[procs.Managed] = []

    def make(overrides: Mapping[str, Any], exporter: Mapping[str, Any]) -> Stack:
        out = render_bundle(tmp_path, webhook_receiver, overrides)
        am = start_alertmanager(alertmanager_factory, out)

        config = tmp_path / "kafka-vitals.yaml"
        base = {
            "kafka": {"bootstrap_servers": kafka_cluster3.bootstrap_servers},
            "poll": {"interval_seconds": POLL_SECONDS, "stage_timeout_seconds": 15},
        }
        config.write_text(yaml.safe_dump({**base, **exporter}))
        proc, port = spawn_serve(tmp_path, "--config", str(config))
        served.append(proc)
        procs.wait_for(
            lambda: get(port, "/ready")[0] == 200,
            90,
            "kafka-vitals /ready",
            check=lambda: _alive(proc),
        )
        prom = prometheus_factory(
            {
                "global": {"scrape_interval": "2s", "evaluation_interval": "2s"},
                "scrape_configs": [
                    {
                        "job_name": "kafka-vitals",
                        "static_configs": [{"targets": [f"127.0.0.1:{port}"]}],
                    }
                ],
                "alerting": {"alertmanagers": [{"static_configs": [{"targets": [am.address]}]}]},
            },
            {"kafka-vitals-rules.yaml": (out / RULES_PATH).read_text()},
        )
        return Stack(prom, am, webhook_receiver)

    yield make
    for proc in served:
        proc.stop(timeout=15)


def _alive(proc: procs.Managed) -> None:
    if not proc.alive():
        raise procs.HarnessError(f"kafka-vitals serve exited:\n{proc.log_tail()}")


def test_stopped_broker_pages_once_and_resolves(
    kafka_cluster3: KafkaCluster, alert_stack: StackFactory, unique_name: Callable[[str], str]
) -> None:
    bootstrap = kafka_cluster3.bootstrap_servers
    topic = unique_name("urp")
    clients.create_topic(bootstrap, topic, partitions=3, replication_factor=3)
    clients.produce_messages(bootstrap, topic, 30)
    brokers = [
        {"url": node.jmx_url, "role": "broker", "name": f"broker-{node.node_id}"}
        for node in kafka_cluster3.nodes
    ]
    stack = alert_stack(
        {
            # The broker page must be firing before the per-topic alerts it inhibits.
            "broker_count": {"for": "4s"},
            "under_replicated": {"for": "20s", "keep_firing_for": "0s"},
        },
        {"filters": {"topic_allow": [topic]}, "jmx": {"targets": brokers, "max_concurrency": 3}},
    )
    prom = stack.prom
    urp_jmx = "sum(kafka_server_replicamanager_underreplicatedpartitions)"
    urp_topic = f'sum(kafka_topic_partition_under_replicated_partition{{topic="{topic}"}})'
    prom.wait_for_value(
        "count(kafka_server_replicamanager_underreplicatedpartitions)",
        lambda v: v == 3,
        timeout=TIMEOUT,
    )
    try:
        prom.wait_for_value(urp_jmx, lambda v: v == 0, TIMEOUT)
        prom.wait_for_value(urp_topic, lambda v: v == 0, TIMEOUT)
    except procs.HarnessError as exc:
        detail = prom.query("kafka_server_replicamanager_underreplicatedpartitions")
        detail += prom.query("kafka_topic_partition_under_replicated_partition == 1")
        pytest.fail(f"the cluster never became fully replicated: {exc}; {detail}")
    assert prom.query_value("kafka_brokers") == 3

    stopped = kafka_cluster3.nodes[-1]
    kafka_cluster3.stop(stopped)
    try:
        receiver, page = stack.wait_notified("KafkaBrokerCountDropped")
        assert receiver == "critical"
        assert page["labels"]["severity"] == "critical"
        assert page["annotations"]["runbook_url"].endswith("/KafkaBrokerCountDropped.md")
        receiver, urp = stack.wait_notified("KafkaBrokerUnderReplicatedPartitions")
        assert receiver == "critical"
        assert urp["labels"]["target"] in {f"broker-{n.node_id}" for n in kafka_cluster3.nodes}
        assert urp["labels"]["target"] != f"broker-{stopped.node_id}"
        assert "partitions whose ISR is smaller" in urp["annotations"]["description"]

        # The per-topic alert fires in Prometheus, but Alertmanager holds it behind the page.
        procs.wait_for(
            lambda: stack.prometheus_alert(
                "KafkaTopicUnderReplicatedPartitions", "firing", topic=topic
            ),
            TIMEOUT,
            "the per-topic URP alert to fire in Prometheus",
        )

        def inhibited() -> bool:
            return any(
                a["labels"]["alertname"] == "KafkaTopicUnderReplicatedPartitions"
                and a["labels"].get("topic") == topic
                and a["status"]["inhibitedBy"]
                for a in stack.am.alerts()
            )

        procs.wait_for(inhibited, TIMEOUT, "the per-topic URP alert to be inhibited")
        assert not stack.notifications("KafkaTopicUnderReplicatedPartitions", "firing")
    finally:
        kafka_cluster3.start(stopped)

    stack.wait_notified("KafkaBrokerCountDropped", "resolved")
    stack.wait_notified(
        "KafkaBrokerUnderReplicatedPartitions", "resolved", target=urp["labels"]["target"]
    )
    prom.wait_for_value(urp_topic, lambda v: v == 0, TIMEOUT)
    procs.wait_for(
        lambda: not stack.prometheus_alert("KafkaTopicUnderReplicatedPartitions", "firing"),
        TIMEOUT,
        "the per-topic URP alert to resolve",
    )


class ConsumerThread:
    """A confluent-kafka consumer in a thread: consumes and commits after every batch."""

    def __init__(self, bootstrap: str, group: str, topic: str) -> None:
        self.consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": group,
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
            }
        )
        self.topic = topic
        self.consumed = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"consumer-{group}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        self.consumer.subscribe([self.topic])
        try:
            while not self._stop.is_set():
                messages = self.consumer.consume(500, timeout=0.2)
                if messages:
                    self.consumed += len(messages)
                    self.consumer.commit(asynchronous=False)
        finally:
            self.consumer.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)
        assert not self._thread.is_alive(), "consumer thread did not stop"


def test_stopped_consumer_lag_alert_arrives_and_resolves(
    kafka_cluster3: KafkaCluster, alert_stack: StackFactory, unique_name: Callable[[str], str]
) -> None:
    bootstrap = kafka_cluster3.bootstrap_servers
    topic, group = unique_name("lag"), unique_name("group")
    clients.create_topic(bootstrap, topic, partitions=3, replication_factor=3)
    stack = alert_stack(
        {"consumer_lag": {"for": "10s"}},
        {"filters": {"topic_allow": [topic], "group_allow": [group]}},
    )
    lag = f'sum(kafka_consumergroup_lag_sum{{consumergroup="{group}"}})'

    behind = 20_000
    consumer = ConsumerThread(bootstrap, group, topic)
    try:
        everything = 100 + behind
        clients.produce_messages(bootstrap, topic, everything, timeout=120)
        procs.wait_for(lambda: consumer.consumed >= everything, TIMEOUT, "the consumer to catch up")
        stack.prom.wait_for_value(lag, lambda v: v == 0, TIMEOUT)
    finally:
        consumer.stop()
    # the stopped group falls 20,000 behind at once (its offsets moved back), not message by
    # message while a producer on a slow machine runs past the threshold: the alert then always
    # fires on 20k
    left, offsets = behind, dict[tuple[str, int], int]()
    for p, end in sorted(clients.end_offsets(bootstrap, topic).items()):
        back = min(left, end)
        offsets[(topic, p)] = end - back
        left -= back
    assert left == 0
    clients.commit_offsets(bootstrap, group, offsets)

    receiver, alert = stack.wait_notified("KafkaConsumerGroupLagHigh", consumergroup=group)
    assert receiver == "warning"
    assert alert["labels"]["topic"] == topic
    assert alert["labels"]["severity"] == "warning"
    assert alert["annotations"]["summary"] == "Consumer group lag above 10000 messages for 10s."
    assert (
        f"Consumer group {group} is 20k messages behind on topic {topic}"
        in (alert["annotations"]["description"])
    )
    assert alert["annotations"]["runbook_url"].endswith("/KafkaConsumerGroupLagHigh.md")

    consumer = ConsumerThread(bootstrap, group, topic)
    try:
        stack.wait_notified("KafkaConsumerGroupLagHigh", "resolved", consumergroup=group)
        # resolved once below the threshold; the consumer then drains the rest
        stack.prom.wait_for_value(lag, lambda v: v == 0, TIMEOUT)
    finally:
        consumer.stop()


def test_committed_offset_past_the_log_end_pages_and_resolves(
    kafka_cluster3: KafkaCluster, alert_stack: StackFactory, unique_name: Callable[[str], str]
) -> None:
    bootstrap = kafka_cluster3.bootstrap_servers
    topic, group = unique_name("past-end"), unique_name("group")
    clients.create_topic(bootstrap, topic, partitions=2, replication_factor=3)
    clients.produce_messages(bootstrap, topic, 10, partition=0)
    # what a topic recreated under the group leaves behind: an offset 100 past the log end
    clients.commit_offsets(bootstrap, group, {(topic, 0): 110, (topic, 1): 0})
    stack = alert_stack(
        {"offset_past_log_end": {"for": "4s"}},
        {"filters": {"topic_allow": [topic], "group_allow": [group]}},
    )
    prom, g = stack.prom, f'consumergroup="{group}"'
    prom.wait_for_value(
        f'kafka_consumergroup_offset_past_log_end{{{g},partition="0"}}', lambda v: v == 100, TIMEOUT
    )
    # the lag stays 0, not -100, and the lag status says why
    assert prom.query_value(f"kafka_consumergroup_lag_sum{{{g}}}") == 0
    prom.wait_for_value(f'kafka_consumergroup_status{{{g},status="PAST_END"}}', lambda v: v == 1,
                        TIMEOUT)  # fmt: skip

    receiver, alert = stack.wait_notified("KafkaConsumerGroupOffsetPastLogEnd", consumergroup=group)
    assert receiver == "critical"
    assert alert["labels"]["topic"] == topic
    assert alert["labels"]["severity"] == "critical"
    assert (
        f"Consumer group {group} has a committed offset past the log end on 1 partitions of "
        f"topic {topic}" in alert["annotations"]["description"]
    )
    assert alert["annotations"]["runbook_url"].endswith("/KafkaConsumerGroupOffsetPastLogEnd.md")

    clients.commit_offsets(bootstrap, group, {(topic, 0): 10})  # set right, as the runbook says
    stack.wait_notified("KafkaConsumerGroupOffsetPastLogEnd", "resolved", consumergroup=group)
    assert prom.query_value(f"kafka_consumergroup_partitions_past_log_end{{{g}}}") == 0


def test_paused_broker_probe_messages_lost_alert_arrives_for_that_broker_only(
    kafka_cluster3: KafkaCluster, alert_stack: StackFactory, unique_name: Callable[[str], str]
) -> None:
    """The end-to-end probe on an RF 1 topic (each partition on its leader alone): a leader
    paused past the probe's deadline makes KafkaProbeMessagesLost arrive for that broker, never
    for the others, and resolve after it runs again."""
    bootstrap = kafka_cluster3.bootstrap_servers
    topic = unique_name("probe")
    clients.create_topic(bootstrap, topic, partitions=3, replication_factor=1,
                         config={"min.insync.replicas": "1"})  # fmt: skip
    leaders = {p.partition: p.leader for p in clients.partitions(bootstrap, [topic])}
    assert len(set(leaders.values())) == 3, leaders
    paused = leaders[0]
    probe = {"enabled": True, "topic": topic, "group_id": topic, "replication_factor": 1,
             "min_insync_replicas": 1, "deadline_seconds": 2}  # fmt: skip
    stack = alert_stack(
        {"probe_messages_lost": {"for": "0s", "window": "20s", "keep_firing_for": "0s"}},
        {"probe": probe, "filters": {"topic_allow": [topic], "group_allow": ["-"]}},
    )
    sent = "min(kafka_probe_messages_sent_total)"
    stack.prom.wait_for_value(sent, lambda v: v >= 2, TIMEOUT)  # every broker probed, twice
    kafka_cluster3.pause(paused)
    try:
        stack.prom.wait_for_value(
            f'kafka_probe_messages_lost_total{{broker="{paused}"}}', lambda v: v >= 1, TIMEOUT
        )
    finally:
        kafka_cluster3.resume(paused)
    _, alert = stack.wait_notified("KafkaProbeMessagesLost", broker=str(paused))
    assert alert["labels"]["severity"] == "critical"
    assert alert["annotations"]["runbook_url"].endswith("/KafkaProbeMessagesLost.md")
    stack.wait_notified("KafkaProbeMessagesLost", "resolved", broker=str(paused))
    others = {a["labels"]["broker"] for _, a in stack.notifications("KafkaProbeMessagesLost",
                                                                    "firing")}  # fmt: skip
    assert others == {str(paused)}, others
    lost = stack.prom.query("kafka_probe_messages_lost_total")
    assert {r["metric"]["broker"]: float(r["value"][1]) for r in lost if
            r["metric"]["broker"] != str(paused)} == {str(b): 0.0 for b in set(leaders.values())
                                                      if b != paused}  # fmt: skip
