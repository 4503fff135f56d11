"""Exact and interpolated lag in seconds against a real Kafka, at the default 30 s poll interval,
with the exporter restarted mid-scenario.

Three stopped groups: on a topic with steady traffic, on a topic that goes idle while the exporter
runs, and on a topic whose messages were all written before the exporter started. The true age
of the oldest unconsumed message comes from the message the test reads itself. `exact` must be
within 1 s of it at every poll; `interpolated` within its documented bound (docs/metrics.md):
never above the truth where the messages predate its history, and, on the topic that went idle,
an error that does not grow with the idle time.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from exporter.catalog import admin as cat
from exporter.catalog import own
from exporter.config import Config, FiltersConfig, KafkaConfig, LagSecondsMode, PollConfig
from exporter.poller import Poller
from exporter.snapshot import Snapshot
from tests.harness import clients
from tests.harness.cluster import KafkaCluster
from tests.harness.procs import wait_for

pytestmark = pytest.mark.kafka

POLL = 30.0
"""The default poll interval: the time between the polls of each exporter."""


@contextmanager
def producing(bootstrap: str, topic: str, per_second: float) -> Iterator[None]:
    """Produce to `topic` at about `per_second` in a thread while the block runs."""
    stop = threading.Event()

    def run() -> None:
        producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
        while not stop.wait(1 / per_second):
            producer.produce(topic, b"m")
            producer.poll(0)
        producer.flush(30)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(60)


def written_at(bootstrap: str, topic: str, offset: int) -> float:
    """Unix time of the message at `offset` of partition 0, read by the test itself."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "lag-seconds-truth",
                         "enable.auto.commit": False})  # fmt: skip
    try:
        consumer.assign([TopicPartition(topic, 0, offset)])
        message = wait_for(lambda: consumer.poll(0.5), 30, f"message {offset} of {topic}")
        assert message.error() is None and message.offset() == offset, message.error()
        return float(message.timestamp()[1]) / 1000
    finally:
        consumer.close()


def test_exact_within_a_second_and_interpolated_within_its_bound(
    kafka_single: KafkaCluster, unique_name: Callable[[str], str]
) -> None:
    bootstrap = kafka_single.bootstrap_servers
    steady, idle, old = unique_name("steady"), unique_name("idle"), unique_name("old")
    groups = {steady: unique_name("g-steady"), idle: unique_name("g-idle"),
              old: unique_name("g-old")}  # fmt: skip
    for topic in groups:
        clients.create_topic(bootstrap, topic)
    clients.produce_messages(bootstrap, old, 20)  # written before any exporter starts
    clients.commit_offsets(bootstrap, groups[old], {(old, 0): 5})

    def config(mode: LagSecondsMode) -> Config:
        return Config(
            kafka=KafkaConfig(bootstrap_servers=bootstrap),
            filters=FiltersConfig(topic_allow=tuple(re.escape(t) for t in groups),
                                  group_allow=tuple(re.escape(g) for g in groups.values())),
            poll=PollConfig(lag_seconds_mode=mode),
        )  # fmt: skip

    snaps: dict[LagSecondsMode, list[Snapshot]] = {"exact": [], "interpolated": []}
    spans: dict[LagSecondsMode, list[tuple[float, float]]] = {"exact": [], "interpolated": []}

    def poll_both(pollers: dict[LagSecondsMode, Poller]) -> None:
        # the lag is computed at the moment the log ends are read, inside the poll: the truth
        # is taken over the poll's span
        for mode, poller in pollers.items():
            before = time.time()
            snaps[mode].append(poller.poll_once())
            spans[mode].append((before, time.time()))

    def start() -> dict[LagSecondsMode, Poller]:
        return {"exact": Poller(config("exact")), "interpolated": Poller(config("interpolated"))}

    with producing(bootstrap, steady, 40):
        time.sleep(3)
        with producing(bootstrap, idle, 40):
            time.sleep(3)
            ends = {t: clients.end_offsets(bootstrap, t)[0] for t in (steady, idle)}
            clients.commit_offsets(bootstrap, groups[steady], {(steady, 0): ends[steady] // 2})
            clients.commit_offsets(bootstrap, groups[idle], {(idle, 0): ends[idle] // 2})
            pollers = start()
            poll_both(pollers)
            time.sleep(POLL / 2)
        idle_since = time.time()  # the idle topic's traffic stops here, the exporter running
        time.sleep(POLL / 2)
        poll_both(pollers)
        time.sleep(POLL)
        poll_both(pollers)
        for poller in pollers.values():  # the exporter restarts
            poller.stop()
        pollers = start()
        try:
            poll_both(pollers)
            time.sleep(POLL)
            poll_both(pollers)
        finally:
            for poller in pollers.values():
                poller.stop()
    assert time.time() - idle_since > POLL

    committed = {t: s for t, s in ((old, 5), (steady, ends[steady] // 2), (idle, ends[idle] // 2))}
    truth = {t: written_at(bootstrap, t, offset) for t, offset in committed.items()}

    def served(snap: Snapshot, topic: str) -> float | None:
        return snap.value(cat.GROUP_LAG_SECONDS, groups[topic], topic, "0")

    report = {
        mode: [(round(b, 1), round(a - b, 1), {t: served(s, t) for t in groups})
               for s, (b, a) in zip(ss, spans[mode], strict=True)]
        for mode, ss in snaps.items()
    }  # fmt: skip
    for snap, (begin, end) in zip(snaps["exact"], spans["exact"], strict=True):
        for topic, at in truth.items():
            value = served(snap, topic)
            assert value is not None, (topic, report)
            assert begin - at - 1.0 <= value <= end - at + 1.0, (topic, report)
        assert snap.value(own.LAG_SECONDS_METHOD, "exact") == 3, report
    interpolated = list(zip(snaps["interpolated"], spans["interpolated"], strict=True))
    for i, (snap, (_begin, end)) in enumerate(interpolated):
        for topic in (old, idle) if i >= 3 else (old,):
            # the messages predate this exporter's history: a lower bound (absent at the first
            # poll, one point is nothing to go on)
            value = served(snap, topic)
            assert value is None or value <= end - truth[topic] + 1.0, (topic, report)
        assert snap.value(own.LAG_SECONDS_METHOD, "exact") is None, report
    # the topic that went idle while the exporter ran: the error stays what it was when traffic
    # stopped, however long the idle stretch lasts (it used to grow with it)
    errors = [(served(s, idle) or 0.0) - ((b + a) / 2 - truth[idle]) for s, (b, a) in
              interpolated[1:3]]  # fmt: skip
    slack = max(a - b for _s, (b, a) in interpolated[1:3])
    assert abs(errors[1] - errors[0]) <= 1.0 + slack, (errors, report)
    # steady traffic, the offset older than the history: extrapolated at the producers' rate
    # seen during the history, so off by what the rate changed before it (this test's producer
    # thread on a loaded machine: 12-17 % seen), and never further back than the cap
    last, (begin, end) = interpolated[-1]
    value = served(last, steady)
    true_age = (begin + end) / 2 - truth[steady]
    assert value is not None and 0 < value <= true_age + 600.0, report
    for topic in groups:
        clients.delete_topic(bootstrap, topic)
