"""The floor: the Admin API calls of one poll cycle, made bare with confluent-kafka.

The same requests as the exporter's admin stages (see `exporter.sources.admin`), with the same
batch size and in-flight windows, and nothing else: metadata and cluster description, the group
listing, describes in batches of the groups the exporter's plan describes (`DescribeCache`: Empty
groups are described again only when their last description is due for refresh; the floor keeps a
cache of its own across runs, as the exporter does across cycles), one committed-offsets request
per group, and the log ends and starts of every partition as the exporter reads them: one
`offsets_for_times` call per leader, spec and 500 partitions, ends and starts at once, each on a
consumer of its own. Results are only waited for; of a description only the four facts the describe
plan needs are kept. The ratio of the exporter's cycle to this time is what the exporter adds on
top of Kafka.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any

from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka.admin import AdminClient

from exporter.sources.admin_convert import group_state_name, group_type_name
from exporter.sources.admin_model import GroupDescription
from exporter.sources.admin_offsets import (
    CHUNK,
    CONSUMER_PROPERTIES,
    LOG_END,
    LOG_START,
    by_leader,
)
from exporter.sources.filters import is_internal_topic
from exporter.sources.group_cache import DescribeCache, listed_from

STEPS = ("metadata", "groups", "committed", "offsets", "total")


def _release_after(count: int, slots: threading.BoundedSemaphore) -> Callable[[Any], None]:
    """A done-callback that frees one window slot when `count` futures are done."""
    left = [count]
    lock = threading.Lock()

    def done(_fut: Any) -> None:
        with lock:
            left[0] -= 1
            if left[0] == 0:
                slots.release()

    return done


def _windowed(
    items: Iterable[Any], submit: Callable[[Any], Mapping[Any, Future[Any]]], window: int
) -> list[Future[Any]]:
    """One request per item, at most `window` requests in flight; every future, all done."""
    slots = threading.BoundedSemaphore(window)
    every: list[Future[Any]] = []
    for item in items:
        slots.acquire()
        futures = list(submit(item).values())
        done = _release_after(len(futures), slots)
        for fut in futures:
            fut.add_done_callback(done)
        every += futures
    wait(every)
    return every


class FloorClient(AdminClient):
    """The floor's AdminClient, with the consumers its offsets step reads with."""

    consumers: tuple[Consumer, Consumer]


def client(bootstrap: str) -> FloorClient:
    """One client for every floor run, as the exporter keeps one (connections and group
    coordinators known after the first run), and the two consumers of the log ends and starts."""
    props: dict[str, Any] = {
        "bootstrap.servers": bootstrap,
        "client.id": "kafka-vitals-floor",
        "log_level": 2,
    }
    admin = FloorClient(props)
    admin.list_topics(timeout=60.0)
    consumer = {**props, **CONSUMER_PROPERTIES}
    admin.consumers = (Consumer(consumer), Consumer(consumer))
    return admin


def _offsets(consumer: Consumer, tps: list[tuple[str, int]], spec: int, timeout: float) -> None:
    consumer.offsets_for_times([TopicPartition(t, p, spec) for t, p in tps], timeout=timeout)


def _plan_facts(desc: Any) -> GroupDescription:
    """The four facts of a description that the describe plan looks at; nothing else."""
    coordinator = desc.coordinator.id if desc.coordinator is not None else -1
    return GroupDescription(
        str(desc.group_id), group_state_name(desc.state), group_type_name(desc.type), "",
        int(coordinator), bool(desc.is_simple_consumer_group), (),
    )  # fmt: skip


def measure(
    client: FloorClient,
    cache: DescribeCache,
    *,
    describe_batch: int = 200,
    in_flight: int = 32,
    timeout: float = 60.0,
) -> dict[str, float]:
    """Seconds per step of one bare cycle, `total`, and the CPU time this process spent (the
    client library's threads included)."""
    out: dict[str, float] = {}
    cpu = time.process_time()
    t_start = t0 = time.monotonic()
    md = client.list_topics(timeout=timeout)
    client.describe_cluster(request_timeout=timeout).result(timeout=timeout)
    out["metadata"] = time.monotonic() - t0

    t0 = time.monotonic()
    listing = client.list_consumer_groups(request_timeout=timeout).result(timeout=timeout)
    listed = listed_from(listing.valid or ())
    ids = [g.group_id for g in listed]
    now = time.monotonic()
    brokers = frozenset(int(b) for b in md.brokers)
    plan, _ = cache.plan(listed, brokers, now)
    batches = [plan[i : i + describe_batch] for i in range(0, len(plan), describe_batch)]
    described = _windowed(
        batches,
        lambda b: client.describe_consumer_groups(b, request_timeout=timeout),
        max(1, in_flight // 4),
    )
    cache.remember({d.group_id: _plan_facts(d) for d in (f.result() for f in described)}, now)
    out["groups"] = time.monotonic() - t0

    t0 = time.monotonic()
    committed = _windowed(
        ids,
        lambda gid: client.list_consumer_group_offsets(
            [ConsumerGroupTopicPartitions(gid)], request_timeout=timeout
        ),
        in_flight,
    )
    for fut in committed:
        fut.result()
    out["committed"] = time.monotonic() - t0

    t0 = time.monotonic()
    leaders = {
        (name, int(pid)): int(p.leader)
        for name, t in md.topics.items()
        if not is_internal_topic(name)
        for pid, p in t.partitions.items()
    }
    wanted = list(leaders)
    calls = [
        (i, spec, tps)
        for i, spec in enumerate((LOG_END, LOG_START))
        for tps in by_leader(wanted, leaders).values()
    ]
    calls = [
        (i, spec, tps[j : j + CHUNK]) for i, spec, tps in calls for j in range(0, len(tps), CHUNK)
    ]
    with ThreadPoolExecutor(2) as pool:  # one consumer per spec: the two run at once
        for fut in [pool.submit(_offsets, client.consumers[i], tps, spec, timeout)
                    for i, spec, tps in calls]:  # fmt: skip
            fut.result()
    out["offsets"] = time.monotonic() - t0
    out["total"] = time.monotonic() - t_start
    out["cpu_seconds"] = time.process_time() - cpu
    out["groups_listed"] = float(len(ids))
    out["groups_described"] = float(len(plan))
    out["partitions"] = float(len(wanted))
    return out
