"""Python-side Kafka helpers for tests, built on confluent-kafka.

Create and delete topics, produce and read back messages, commit offsets for a group without
running a consumer, and read partition metadata (replicas and ISR). Every call has a timeout and
turns a Kafka error into a HarnessError that names the topic or group.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaException,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from harness.procs import HarnessError, wait_for

log = logging.getLogger(__name__)
_rdkafka_log = logging.getLogger("harness.librdkafka")


@dataclass(frozen=True, slots=True)
class Message:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


@dataclass(frozen=True, slots=True)
class PartitionInfo:
    topic: str
    partition: int
    leader: int
    replicas: tuple[int, ...]
    isr: tuple[int, ...]

    @property
    def under_replicated(self) -> bool:
        return len(self.isr) < len(self.replicas)


def _conf(bootstrap: str, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    return {"bootstrap.servers": bootstrap, "logger": _rdkafka_log, **(extra or {})}


def admin_client(bootstrap: str) -> AdminClient:
    return AdminClient(_conf(bootstrap))


def _result(future: Any, what: str, timeout: float) -> Any:
    try:
        return future.result(timeout=timeout)
    except KafkaException as exc:
        raise HarnessError(f"{what} failed: {exc.args[0]}") from exc
    except TimeoutError as exc:  # concurrent.futures.TimeoutError is TimeoutError on 3.11
        raise HarnessError(f"{what} did not finish in {timeout:.0f}s") from exc


def create_topic(
    bootstrap: str,
    name: str,
    partitions: int = 1,
    replication_factor: int = 1,
    config: Mapping[str, str] | None = None,
    timeout: float = 60.0,
) -> None:
    """Create a topic and wait until every partition has a leader."""
    client = admin_client(bootstrap)
    topic = NewTopic(name, partitions, replication_factor, config=dict(config or {}))
    futures = client.create_topics([topic], operation_timeout=timeout, request_timeout=timeout)
    _result(futures[name], f"create topic {name!r}", timeout)

    def ready() -> bool:
        md = client.list_topics(name, timeout=5).topics.get(name)
        return (
            md is not None
            and md.error is None
            and len(md.partitions) == partitions
            and all(p.leader >= 0 for p in md.partitions.values())
        )

    wait_for(ready, timeout, f"leaders for all partitions of topic {name!r}")


def delete_topic(bootstrap: str, name: str, timeout: float = 60.0) -> None:
    """Delete a topic and wait until the metadata no longer lists it."""
    client = admin_client(bootstrap)
    futures = client.delete_topics([name], operation_timeout=timeout, request_timeout=timeout)
    _result(futures[name], f"delete topic {name!r}", timeout)
    wait_for(
        lambda: name not in client.list_topics(timeout=5).topics,
        timeout,
        f"topic {name!r} to disappear from metadata",
    )


def produce_messages(
    bootstrap: str,
    topic: str,
    count: int,
    *,
    keyed: bool = False,
    prefix: str = "message",
    partition: int | None = None,
    timeout: float = 60.0,
) -> int:
    """Produce `count` messages with values `<prefix>-<i>` (keys `key-<i>` when keyed).

    Waits for every delivery report; returns the number delivered or raises HarnessError.
    """
    producer = Producer(_conf(bootstrap, {"linger.ms": 5, "acks": "all"}))
    errors: list[str] = []
    delivered = 0

    def on_delivery(err: Any, _msg: Any) -> None:
        nonlocal delivered
        if err is not None:
            errors.append(str(err))
        else:
            delivered += 1

    for i in range(count):
        kwargs: dict[str, Any] = {"value": f"{prefix}-{i}".encode(), "on_delivery": on_delivery}
        if keyed:
            kwargs["key"] = f"key-{i}".encode()
        if partition is not None:
            kwargs["partition"] = partition
        while True:
            try:
                producer.produce(topic, **kwargs)
                break
            except BufferError:
                producer.poll(0.1)
        producer.poll(0)
    remaining = producer.flush(timeout)
    if errors:
        raise HarnessError(f"producing to {topic!r}: {len(errors)} failed, first: {errors[0]}")
    if remaining:
        raise HarnessError(f"producing to {topic!r}: {remaining} not delivered in {timeout:.0f}s")
    return delivered


def read_messages(
    bootstrap: str, topic: str, count: int, *, timeout: float = 60.0
) -> list[Message]:
    """Read `count` messages from the start of every partition of `topic`.

    Uses assign(), so no consumer group is joined and nothing is committed.
    """
    admin = admin_client(bootstrap)
    md = admin.list_topics(topic, timeout=10).topics.get(topic)
    if md is None or md.error is not None:
        raise HarnessError(f"topic {topic!r} not found in metadata")
    consumer = Consumer(
        _conf(
            bootstrap,
            {"group.id": "kafka-vitals-test-reader", "enable.auto.commit": False},
        )
    )
    try:
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in md.partitions])
        out: list[Message] = []
        deadline = time.monotonic() + timeout
        while len(out) < count and time.monotonic() < deadline:
            for msg in consumer.consume(min(500, count - len(out)), timeout=1.0):
                if msg.error() is not None:
                    raise HarnessError(f"reading {topic!r}: {msg.error()}")
                out.append(
                    Message(topic, msg.partition() or 0, msg.offset() or 0, msg.key(), msg.value())
                )
        if len(out) < count:
            raise HarnessError(f"read {len(out)} of {count} messages from {topic!r}")
        return out
    finally:
        consumer.close()


def commit_offsets(
    bootstrap: str,
    group: str,
    offsets: Mapping[tuple[str, int], int],
    timeout: float = 30.0,
) -> None:
    """Commit offsets {(topic, partition): offset} for `group` without a consumer running.

    The group must have no active members. The commit goes through a consumer that never
    subscribes (so it never joins the group): librdkafka's AdminClient path for this
    (alter_consumer_group_offsets) can abort the process on an internal assertion when a request
    times out while the group coordinator is still loading after start-up.
    """
    tps = [TopicPartition(t, p, off) for (t, p), off in sorted(offsets.items())]
    what = f"commit offsets for group {group!r}"
    conf = {**_conf(bootstrap), "group.id": group, "enable.auto.commit": False}
    consumer = Consumer(conf)

    def attempt() -> bool:
        # right after start-up the group coordinator may still be loading: retry
        result = consumer.commit(offsets=tps, asynchronous=False)
        failed = [tp.error for tp in result or () if tp.error is not None]
        if failed:
            raise HarnessError(f"{what} failed: {failed[0]}")
        return True

    try:
        wait_for(attempt, timeout, what, interval=0.5)
    finally:
        consumer.close()


def partitions(bootstrap: str, topics: Iterable[str] | None = None) -> list[PartitionInfo]:
    """Leader, replicas and ISR of every partition (of `topics`, or of all topics)."""
    md = admin_client(bootstrap).list_topics(timeout=10)
    wanted = set(topics) if topics is not None else None
    out = [
        PartitionInfo(name, p.id, p.leader, tuple(p.replicas), tuple(p.isrs))
        for name, tmd in md.topics.items()
        if wanted is None or name in wanted
        for p in tmd.partitions.values()
    ]
    return sorted(out, key=lambda x: (x.topic, x.partition))


def under_replicated(bootstrap: str, topics: Iterable[str] | None = None) -> list[PartitionInfo]:
    """Partitions whose ISR is smaller than their replica set, from the metadata."""
    return [p for p in partitions(bootstrap, topics) if p.under_replicated]


def end_offsets(bootstrap: str, topic: str, timeout: float = 10.0) -> dict[int, int]:
    """Log-end offset (high watermark) of each partition of `topic`.

    Read uncommitted: librdkafka's default `read_committed` answers the last stable offset, which
    stays below the high watermark while a transaction is open.
    """
    consumer = Consumer(
        _conf(
            bootstrap,
            {"group.id": "kafka-vitals-test-reader", "isolation.level": "read_uncommitted"},
        )
    )
    try:
        md = consumer.list_topics(topic, timeout=timeout).topics.get(topic)
        if md is None or md.error is not None:
            raise HarnessError(f"topic {topic!r} not found in metadata")
        return {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout)[1]
            for p in md.partitions
        }
    finally:
        consumer.close()
