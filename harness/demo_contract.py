"""The demo's schema contract: a Schema Registry (Apicurio, in memory) and two producers.

`orders` has its value schema registered (`orders-value`) and a producer writing registry-framed
Avro with the id the registry returned (magic byte 0, the 4-byte id, the Avro body); `clicks` has
a producer writing raw JSON and no subject. kafka-vitals samples their newest messages
(`schema_registry.payload_sampling`), so `KafkaTopicWithoutValueSchema` fires for `clicks` and
never for `orders`.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from confluent_kafka import Producer

from harness.procs import HarnessError
from harness.registry import (
    INSTALL_HINT,
    SchemaRegistry,
    avro_long,
    framed,
    java21,
    present,
)

AVRO_TOPIC, RAW_TOPIC = "orders", "clicks"
CONTRACT_ALERT = "KafkaTopicWithoutValueSchema"
ORDER = {"type": "record", "name": "Order", "namespace": "shop",
         "fields": [{"name": "id", "type": "long"}]}  # fmt: skip
RATE = 5.0
"""Messages per second of each producer."""


def preflight() -> list[str]:
    """What the registry needs that is missing, each with how to get it."""
    try:
        java21()
    except HarnessError as exc:
        return [str(exc)]
    return [] if present() else [f"Apicurio Registry missing: {INSTALL_HINT}"]


class ContractLoad:
    """The two producers, in threads of the demo process."""

    def __init__(self, bootstrap: str, schema_id: int) -> None:
        self._bootstrap = bootstrap
        self._schema_id = schema_id
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="demo-contract", daemon=True)
        self.name = "contract producers"
        self.error = ""

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def start(self) -> ContractLoad:
        self._thread.start()
        return self

    def _run(self) -> None:
        producer = Producer({"bootstrap.servers": self._bootstrap, "linger.ms": 5})
        i = 0
        try:
            while not self._stop.wait(1 / RATE):
                producer.produce(AVRO_TOPIC, framed(self._schema_id, avro_long(i)))
                producer.produce(RAW_TOPIC, json.dumps({"page": "/cart", "n": i}).encode())
                producer.poll(0)
                i += 1
        except Exception as exc:  # the watch loop reports a dead producer
            self.error = repr(exc)
        finally:
            producer.flush(10)

    def kill(self) -> None:
        self._stop.set()
        self._thread.join(15)


def start_registry() -> tuple[SchemaRegistry, int]:
    """The registry in memory, with `orders-value` registered; returns it and the schema id."""
    registry = SchemaRegistry().start()
    try:
        schema_id = registry.register(f"{AVRO_TOPIC}-value", ORDER)
    except HarnessError:
        registry.stop()
        raise
    return registry, schema_id


def exporter_settings(registry: SchemaRegistry) -> dict[str, Any]:
    """The `schema_registry` section of the demo's kafka-vitals config."""
    return {"url": registry.url, "payload_sampling": True}
