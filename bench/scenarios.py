"""The benchmark scenarios, and how each is laid on a broker: topics, messages, committed offsets.

Every group of a scenario commits offsets on every partition of one topic (group `g` on topic
`g % topics`), through the Admin API (`alter_consumer_group_offsets`, one group per request as
librdkafka requires, many requests in flight); no consumer runs, so every group is Empty with
committed offsets. Committed offsets sit a little behind the log end, so lag is non-zero; with a
lagging fraction (`python -m bench --lagging-fraction F`), only about that fraction of the groups is
behind, on every partition of its topic (picked by a hash of the group, so spread over the
topics), the others committed at the log end: that fraction of the committed partitions lags, and
moving the lagging offsets between cycles (`--move-lagging`) takes one request per lagging group.
"""

from __future__ import annotations

import logging
import threading
import time
import zlib
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from confluent_kafka import ConsumerGroupTopicPartitions, Producer, TopicPartition
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

log = logging.getLogger(__name__)

TOPIC_PREFIX = "bench-t"
GROUP_PREFIX = "bench-g"


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    topics: int
    partitions: int
    """Partitions per topic; every group commits on all partitions of its topic."""
    groups: int
    messages: int
    """Messages produced to each partition."""
    interval_seconds: float
    """The exporter's poll interval: long enough that scrapes can be timed between cycles."""
    cycles: int
    """Cycles measured by default (after one warm-up cycle)."""
    heap: tuple[str, str]
    """Broker JVM heap (-Xms, -Xmx)."""

    def topic(self, i: int) -> str:
        return f"{TOPIC_PREFIX}{i:05d}"

    def group(self, i: int) -> str:
        return f"{GROUP_PREFIX}{i:06d}"

    def committed_offset(
        self, group: int, partition: int, lagging_fraction: float | None = None
    ) -> int:
        """Deterministic committed offsets, 0 to messages/2 behind the log end; with a lagging
        fraction, 2 to messages/2 behind on the partitions of that fraction of the groups and at
        the log end on the others (see `lagging`)."""
        if lagging_fraction is None:
            return self.messages - (group + partition) % (self.messages // 2 + 1)
        if not lagging(group, lagging_fraction):
            return self.messages
        return self.messages - 2 - (group + partition) % max(1, self.messages // 2 - 1)

    def key(self) -> dict[str, Any]:
        """What the broker data of this scenario depends on (the cache is reused when equal)."""
        return {
            "topics": self.topics,
            "partitions": self.partitions,
            "groups": self.groups,
            "messages": self.messages,
            "layout": 1,
        }


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario("small", 10, 10, 10, 50, 2.0, 3, ("256m", "512m")),
        Scenario("medium", 500, 10, 1_000, 20, 10.0, 5, ("256m", "768m")),
        Scenario("large", 1_000, 10, 10_000, 10, 30.0, 5, ("512m", "1g")),
    )
}


def lagging(group: int, fraction: float) -> bool:
    """Whether the group is behind, for a lagging fraction: a hash of it below the fraction, so
    about that share of the groups (and of the committed partitions), spread over the topics."""
    return zlib.crc32(f"bench-group-{group}".encode()) < fraction * 2**32


def _windowed(
    items: Iterable[Any], submit: Callable[[Any], Future[Any]], window: int
) -> list[Future[Any]]:
    """Submit one request per item with at most `window` in flight; return every future."""
    slots = threading.BoundedSemaphore(window)
    futures: list[Future[Any]] = []
    for item in items:
        slots.acquire()
        fut = submit(item)
        fut.add_done_callback(lambda _f: slots.release())
        futures.append(fut)
    return futures


def create_topics(admin: AdminClient, s: Scenario, timeout: float = 300.0) -> None:
    """Create the scenario's missing topics and wait until every broker's own metadata shows all
    of them with a leader: a broker answers metadata from its own copy, which trails the
    controller's for a moment, and a producer or a poller bootstrapped from a broker that has not
    caught up would not see every partition yet."""
    names = [s.topic(i) for i in range(s.topics)]
    existing = set(admin.list_topics(timeout=30).topics)
    missing = [n for n in names if n not in existing]
    for i in range(0, len(missing), 100):
        batch = [NewTopic(n, s.partitions, 1) for n in missing[i : i + 100]]
        futures = admin.create_topics(batch, operation_timeout=60, request_timeout=120)
        for name, fut in futures.items():
            try:
                fut.result(timeout=timeout)
            except Exception as exc:
                if "TOPIC_ALREADY_EXISTS" not in str(exc):
                    raise RuntimeError(f"create topic {name!r}: {exc}") from exc
    deadline = time.monotonic() + timeout
    _wait_leaders(admin, names, s, deadline)
    brokers = admin.list_topics(timeout=30).brokers.values()
    if len(brokers) > 1:
        for address in sorted(f"{b.host}:{b.port}" for b in brokers):
            _wait_leaders(AdminClient({"bootstrap.servers": address}), names, s, deadline)


def _wait_leaders(admin: AdminClient, names: list[str], s: Scenario, deadline: float) -> None:
    """Until the metadata `admin` is given shows every topic of `names` with a leader for each of
    its partitions; RuntimeError past the deadline."""
    while True:
        md = admin.list_topics(timeout=30)
        ready = sum(
            1
            for n in names
            if (t := md.topics.get(n)) is not None
            and len(t.partitions) == s.partitions
            and all(p.leader >= 0 for p in t.partitions.values())
        )
        if ready == len(names):
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {ready} of {len(names)} topics have leaders in time")
        time.sleep(1.0)


def produce(bootstrap: str, s: Scenario, timeout: float = 600.0) -> int:
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "linger.ms": 50,
            "acks": 1,
            "batch.num.messages": 10_000,
            "queue.buffering.max.messages": 1_000_000,
            "compression.type": "none",
        }
    )
    errors: list[str] = []

    def on_delivery(err: Any, _msg: Any) -> None:
        if err is not None:
            errors.append(str(err))

    value = b"x" * 16
    for t in range(s.topics):
        topic = s.topic(t)
        for p in range(s.partitions):
            for _ in range(s.messages):
                while True:
                    try:
                        producer.produce(topic, value, partition=p, on_delivery=on_delivery)
                        break
                    except BufferError:
                        producer.poll(0.1)
        producer.poll(0)
    left = producer.flush(timeout)
    if errors or left:
        raise RuntimeError(f"produce: {len(errors)} failed, {left} not delivered; {errors[:1]}")
    return s.topics * s.partitions * s.messages


def commit_offsets(
    admin: AdminClient,
    s: Scenario,
    lagging_fraction: float | None = None,
    window: int = 64,
    rounds: int = 5,
    groups: Iterable[int] | None = None,
    back: int = 0,
) -> None:
    """Commit the offsets of every group (or of `groups`) as `Scenario.committed_offset`, `back`
    offsets further behind on the lagging ones; groups whose commit failed are retried a few
    rounds."""
    todo = list(range(s.groups) if groups is None else groups)
    last_error = ""
    for _ in range(rounds):

        def submit(g: int) -> Future[Any]:
            topic = s.topic(g % s.topics)
            tps = []
            for p in range(s.partitions):
                offset = s.committed_offset(g, p, lagging_fraction)
                tps.append(
                    TopicPartition(topic, p, offset - back if offset < s.messages else offset)
                )
            request = [ConsumerGroupTopicPartitions(s.group(g), tps)]
            futures = admin.alter_consumer_group_offsets(request, request_timeout=60)
            return next(iter(futures.values()))

        futures = _windowed(todo, submit, window)
        failed: list[int] = []
        for g, fut in zip(todo, futures, strict=True):
            try:
                result = fut.result(timeout=120)
                errors = [tp.error for tp in result.topic_partitions if tp.error is not None]
                if errors:
                    raise RuntimeError(str(errors[0]))
            except Exception as exc:
                failed.append(g)
                last_error = str(exc)
        if not failed:
            return
        log.info("commit retry groups=%d error=%s", len(failed), last_error)
        todo = failed
        time.sleep(2.0)
    raise RuntimeError(f"commit offsets failed for {len(todo)} groups: {last_error}")


def lagging_groups(s: Scenario, fraction: float | None) -> list[int]:
    """The groups behind the log end on some partition."""
    return [
        g
        for g in range(s.groups)
        if any(s.committed_offset(g, p, fraction) < s.messages for p in range(s.partitions))
    ]


def count_present(admin: AdminClient, s: Scenario) -> tuple[int, int]:
    """(bench topics, bench groups) present on the broker."""
    topics = sum(1 for t in admin.list_topics(timeout=30).topics if t.startswith(TOPIC_PREFIX))
    listing = admin.list_consumer_groups(request_timeout=60).result(timeout=90)
    groups = sum(1 for g in listing.valid or () if g.group_id.startswith(GROUP_PREFIX))
    return topics, groups


def lay_out(bootstrap: str, s: Scenario, lagging_fraction: float | None = None) -> dict[str, float]:
    """Create the scenario's topics, produce, commit; seconds per step."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    steps: dict[str, float] = {}
    t0 = time.monotonic()
    create_topics(admin, s)
    steps["create_topics"] = time.monotonic() - t0
    t0 = time.monotonic()
    produce(bootstrap, s)
    steps["produce"] = time.monotonic() - t0
    t0 = time.monotonic()
    commit_offsets(admin, s, lagging_fraction)
    steps["commit_offsets"] = time.monotonic() - t0
    return steps
