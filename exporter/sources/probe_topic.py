"""The probe topic at start: read its shape (created when `probe.create_topic` asks), check it.

One Admin API client of the probe's own, used only until the topic passed the check: the
metadata (partitions, their replicas, the brokers), the topic's `min.insync.replicas`, and, when
the topic is missing and the configuration allows, one CreateTopics request. Every request has
a deadline; the answer is `None` (fine) or one line saying what is wrong.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import (  # type: ignore[attr-defined]
    AdminClient,
    ConfigResource,
    NewTopic,
    ResourceType,
)

from exporter.config import ProbeConfig
from exporter.sources.probe_model import TopicShape, topic_problem
from exporter.sources.stages import describe_error, error_code

log = logging.getLogger(__name__)


def shape_of(admin: AdminClient, topic: str, timeout: float) -> TopicShape | None:
    """The topic's shape, or None when the metadata does not list it."""
    meta = admin.list_topics(topic=topic, timeout=max(0.1, timeout))
    found = meta.topics.get(topic)
    if found is None or (
        found.error is not None
        and found.error.code()
        in (
            KafkaError.UNKNOWN_TOPIC_OR_PART,
            KafkaError._UNKNOWN_TOPIC,
        )
    ):
        return None
    if found.error is not None:
        raise KafkaException(found.error)
    partitions = [(p.id, p.leader, tuple(p.replicas)) for p in found.partitions.values()]
    resource = ConfigResource(ResourceType.TOPIC, topic)
    futures = admin.describe_configs([resource], request_timeout=max(0.1, timeout))
    entries: dict[str, Any] = futures[resource].result(timeout=max(0.1, timeout))
    entry = entries.get("min.insync.replicas")
    min_isr = int(entry.value) if entry is not None and str(entry.value).isdigit() else None
    return TopicShape(sorted(partitions), min_isr, len(meta.brokers))


def create(admin: AdminClient, config: ProbeConfig, brokers: int, timeout: float) -> None:
    """Create the probe topic; a topic created meanwhile (another sidecar) is fine."""
    partitions = config.partitions or max(1, brokers)
    new = NewTopic(
        config.topic,
        num_partitions=partitions,
        replication_factor=config.replication_factor,
        config={"min.insync.replicas": str(config.min_insync_replicas)},
    )
    futures = admin.create_topics([new], request_timeout=max(0.1, timeout))
    try:
        futures[config.topic].result(timeout=max(0.1, timeout))
    except KafkaException as exc:
        if error_code(exc) == KafkaError.TOPIC_ALREADY_EXISTS:
            return
        raise
    log.info("probe topic created topic=%s partitions=%d replication_factor=%d min_isr=%d",
             config.topic, partitions, config.replication_factor,
             config.min_insync_replicas)  # fmt: skip


def _created(admin: AdminClient, topic: str, left: Callable[[], float]) -> TopicShape | None:
    """The shape of a topic just created: every broker lists it, with leaders, and answers for
    its config, a moment after the creation; asked again until then or the deadline."""
    while True:
        try:
            shape = shape_of(admin, topic, left())
            if shape is not None and all(leader >= 0 for _, leader, _ in shape.partitions):
                return shape
        except KafkaException:
            if left() <= 0.2:
                raise
        if left() <= 0.2:
            return None
        time.sleep(0.1)


def ensure(admin: AdminClient, config: ProbeConfig, timeout: float) -> str | None:
    """None when the probe topic exists (created if allowed) and fits the configuration, else
    one line saying why not."""
    deadline = time.monotonic() + timeout

    def left() -> float:
        return deadline - time.monotonic()

    try:
        shape = shape_of(admin, config.topic, left())
        if shape is None:
            if not config.create_topic:
                return (
                    f"probe topic {config.topic!r} does not exist; create it (at least one "
                    "partition per broker) or set probe.create_topic"
                )
            brokers = len(admin.list_topics(timeout=max(0.1, left())).brokers)
            create(admin, config, brokers, left())
            shape = _created(admin, config.topic, left)
            if shape is None:
                return f"probe topic {config.topic!r} was created but the metadata does not list it"
    except (KafkaException, TimeoutError, ValueError) as exc:
        return f"probe topic {config.topic!r} could not be checked: {describe_error(exc)}"
    return topic_problem(config, shape)
