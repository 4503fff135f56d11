"""The Schema Registry alerts end to end: a real Prometheus scrapes a real `kafka-vitals serve`
watching a real Kafka and a real registry, evaluates the rendered rules (`for` and windows
shortened through an overrides file) and sends to a real Alertmanager running the rendered
example config, which notifies a webhook receiver in this process.

A producer writes raw JSON to a topic without a subject, beside one writing registry-framed Avro
(magic byte 0, the 4-byte schema id, the Avro body) to a topic with one; on a third topic, which
has its subject, a raw-JSON producer writes beside a registered-Avro one: only the payload samples
(`schema_registry.payload_sampling`) can tell. A subject is switched to compatibility NONE;
another gets a burst of versions. Exactly the expected alerts arrive.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from confluent_kafka import Producer

from bundle.core.query import RuleQuery
from bundle.outputs import RULES_PATH
from bundle.registry.signals import unregistered_payload_ratio
from harness import clients, procs
from harness.cluster import KafkaCluster
from harness.prom import Alertmanager, PrometheusServer, WebhookReceiver
from harness.registry import SchemaRegistry, avro_long, framed
from tests.alert_stack import render_bundle, start_alertmanager
from tests.cli_run import get, spawn_serve

pytestmark = [pytest.mark.kafka, pytest.mark.prometheus]

TIMEOUT = 180.0
NEWEST = 4
"""Newest messages sampled per partition."""


def framed_avro(schema_id: int, order_id: int) -> bytes:
    """A message as Confluent's serializers write it, for the record {"id": long}."""
    return framed(schema_id, avro_long(order_id))


ORDER = {"type": "record", "name": "Order", "namespace": "shop",
         "fields": [{"name": "id", "type": "long"}]}  # fmt: skip


def versioned(n: int) -> dict[str, Any]:
    """The Order schema with n optional fields: each a backward-compatible new version."""
    extra = [{"name": f"f{i}", "type": "string", "default": ""} for i in range(n)]
    return {**ORDER, "fields": [*ORDER["fields"], *extra]}


@pytest.fixture
def producers(
    kafka_single: KafkaCluster,
) -> Iterator[Callable[[str, Callable[[int], bytes]], None]]:
    stop = threading.Event()
    threads: list[threading.Thread] = []

    def start(topic: str, payload: Callable[[int], bytes]) -> None:
        def loop() -> None:
            producer = Producer({"bootstrap.servers": kafka_single.bootstrap_servers})
            i = 0
            while not stop.wait(0.3):
                producer.produce(topic, payload(i))
                producer.poll(0)
                i += 1
            producer.flush(10)

        thread = threading.Thread(target=loop, daemon=True)
        thread.start()
        threads.append(thread)

    yield start
    stop.set()
    for thread in threads:
        thread.join(15)


def test_contract_alerts_arrive_through_alertmanager(
    kafka_single: KafkaCluster,
    schema_registry: SchemaRegistry,
    producers: Callable[[str, Callable[[int], bytes]], None],
    tmp_path: Path,
    webhook_receiver: WebhookReceiver,
    prometheus_factory: Callable[..., PrometheusServer],
    alertmanager_factory: Callable[[str], Alertmanager],
    unique_name: Callable[[str], str],
) -> None:
    bootstrap = kafka_single.bootstrap_servers
    raw, avro, mixed = unique_name("raw"), unique_name("avro"), unique_name("mixed")
    for topic in (raw, avro, mixed):
        clients.create_topic(bootstrap, topic, partitions=1)
    schema_id = schema_registry.register(f"{avro}-value", ORDER)
    mixed_id = schema_registry.register(f"{mixed}-value", ORDER)
    loose, bursty = unique_name("loose"), unique_name("bursty")
    schema_registry.register(loose, ORDER)
    schema_registry.register(bursty, versioned(0))
    producers(raw, lambda i: json.dumps({"id": i, "amount": 1.5}).encode())
    producers(avro, lambda i: framed_avro(schema_id, i))
    producers(mixed, lambda i: framed_avro(mixed_id, i))
    producers(mixed, lambda i: json.dumps({"id": i}).encode())

    overrides = {
        "compatibility_none": {"for": "4s"},
        "topic_without_schema": {"window": "20s", "for": "4s", "keep_firing_for": "0s"},
        "registration_burst": {"window": "2m"},
    }  # fmt: skip
    out = render_bundle(tmp_path, webhook_receiver, overrides)
    am = start_alertmanager(alertmanager_factory, out)
    config = tmp_path / "kafka-vitals.yaml"
    config.write_text(yaml.safe_dump({
        "kafka": {"bootstrap_servers": bootstrap},
        "filters": {"topic_allow": [raw, avro, mixed], "group_allow": ["-"]},
        "poll": {"interval_seconds": 2, "stage_timeout_seconds": 15},
        "schema_registry": {"url": schema_registry.url, "timeout_seconds": 5,
                            "payload_sampling": True, "payload_sample_messages": NEWEST},
    }))  # fmt: skip
    proc, port = spawn_serve(tmp_path, "--config", str(config))
    try:
        procs.wait_for(lambda: get(port, "/ready")[0] == 200, 90, "kafka-vitals /ready")
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

        def ratio(topic: str) -> float:
            query = RuleQuery('job="kafka-vitals"', "")
            value = prom.query_value(unregistered_payload_ratio(query, f'topic="{topic}"'))
            assert value is not None, topic
            return value

        prom.wait_for_value(f'kafka_schema_registry_subject_versions{{subject="{bursty}"}}',
                            lambda v: v == 1, TIMEOUT)  # fmt: skip
        # after the exporter has seen the subject: a burst of versions, and NONE on another
        for n in range(1, 6):
            schema_registry.register(bursty, versioned(n))
        schema_registry.set_compatibility("NONE", loose)

        def notified(alertname: str, **labels: str) -> dict[str, Any]:
            def find() -> dict[str, Any] | None:
                for p in list(webhook_receiver.payloads):
                    for a in p.get("alerts", []):
                        got = a["labels"]
                        if (
                            got.get("alertname") == alertname
                            and a.get("status") == "firing"
                            and all(got.get(k) == v for k, v in labels.items())
                        ):
                            return dict(a)
                return None

            found: dict[str, Any] = procs.wait_for(find, TIMEOUT, f"{alertname} {labels}")
            return found

        none = notified("KafkaSchemaRegistrySubjectCompatibilityNone", subject=loose)
        assert none["labels"]["severity"] == "warning"
        assert none["annotations"]["runbook_url"].endswith(
            "KafkaSchemaRegistrySubjectCompatibilityNone.md"
        )
        burst = notified("KafkaSchemaRegistryRegistrationBurst", subject=bursty)
        assert burst["labels"]["severity"] == "warning"
        notified("KafkaTopicWithoutValueSchema", topic=raw)
        # mixed has its subject: only its sampled payloads can make it fire
        notified("KafkaTopicWithoutValueSchema", topic=mixed)
        assert prom.query_value(f'kafka_topic_value_subject_registered{{topic="{mixed}"}}') == 1
        # what the alerts say equals the registry and the topics
        assert prom.query_value(f'kafka_topic_value_subject_registered{{topic="{avro}"}}') == 1
        assert prom.query_value(f'kafka_topic_value_subject_registered{{topic="{raw}"}}') == 0
        versions = len(schema_registry.get(f"/subjects/{bursty}/versions"))
        assert versions == 6
        assert (
            prom.query_value(f'kafka_schema_registry_subject_versions{{subject="{bursty}"}}')
            == versions
        )
        firing = {(a["labels"]["alertname"], a["labels"].get("topic", a["labels"].get("subject")))
                  for a in prom.alerts() if a["state"] == "firing"}  # fmt: skip
        assert ("KafkaTopicWithoutValueSchema", avro) not in firing
        # the payload signals equal the messages: every raw-topic message lacks the wire format,
        # every avro-topic message carries the registered id
        assert prom.query_value(f'kafka_topic_payload_sampled_messages{{topic="{raw}"}}') == NEWEST
        assert ratio(raw) == 1 and ratio(avro) == 0
        assert (
            prom.query_value(f'kafka_topic_payload_unknown_schema_id_messages{{topic="{mixed}"}}')
            == 0
        )
        assert ("KafkaSchemaRegistrySubjectCompatibilityNone", f"{avro}-value") not in firing
        assert not any(name == "KafkaSchemaRegistryUnreachable" for name, _ in firing)
    finally:
        proc.stop(timeout=15)
