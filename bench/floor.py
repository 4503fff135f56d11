"""The floor: the Admin API calls of one poll cycle, made bare with confluent-kafka.

The same requests as the exporter's admin stages (see `exporter.sources.admin`), with the same
batch size and in-flight windows, and nothing else: metadata and cluster description, the group
listing, describes in batches of the groups the exporter's plan describes (`DescribeCache`: Empty
groups are described again only when their last description is due for refresh; the floor keeps a
cache of its own across runs, as the exporter does across cycles), one committed-offsets request
per group, and one `list_offsets` call per spec for every partition. Results are only waited for;
of a description only the four facts the describe plan needs are kept. The ratio of the exporter's
cycle to this time is what the exporter adds on top of Kafka.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, wait
from typing import Any

from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec  # type: ignore[attr-defined]

from exporter.sources.admin_convert import group_state_name, group_type_name
from exporter.sources.admin_model import GroupDescription
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


def client(bootstrap: str) -> AdminClient:
    """One client for every floor run, as the exporter keeps one (connections and group
    coordinators known after the first run)."""
    admin = AdminClient(
        {"bootstrap.servers": bootstrap, "client.id": "kafka-vitals-floor", "log_level": 2}
    )
    admin.list_topics(timeout=60.0)
    return admin


def _plan_facts(desc: Any) -> GroupDescription:
    """The four facts of a description that the describe plan looks at; nothing else."""
    coordinator = desc.coordinator.id if desc.coordinator is not None else -1
    return GroupDescription(
        str(desc.group_id), group_state_name(desc.state), group_type_name(desc.type), "",
        int(coordinator), bool(desc.is_simple_consumer_group), (),
    )  # fmt: skip


def measure(
    client: AdminClient,
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
    wanted = [
        TopicPartition(name, pid)
        for name, t in md.topics.items()
        if not is_internal_topic(name)
        for pid in t.partitions
    ]
    latest = OffsetSpec.latest()  # type: ignore[no-untyped-call]
    earliest = OffsetSpec.earliest()  # type: ignore[no-untyped-call]
    ends = client.list_offsets(dict.fromkeys(wanted, latest), request_timeout=timeout)
    starts = client.list_offsets(dict.fromkeys(wanted, earliest), request_timeout=timeout)
    wait([*ends.values(), *starts.values()], timeout=timeout)
    out["offsets"] = time.monotonic() - t0
    out["total"] = time.monotonic() - t_start
    out["cpu_seconds"] = time.process_time() - cpu
    out["groups_listed"] = float(len(ids))
    out["groups_described"] = float(len(plan))
    out["partitions"] = float(len(wanted))
    return out
