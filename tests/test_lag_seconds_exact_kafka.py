"""Exact and interpolated lag in seconds against a real Kafka, at the default 30 s poll interval,
with the exporter restarted mid-scenario.

Three stopped groups: on a topic with steady traffic, on a topic that goes idle while the exporter
runs, and on a topic whose messages were all written before the exporter started. The true age
of the oldest unconsumed message comes from the message the test reads itself. `exact` must be
within 1 s of it at every poll; `interpolated` within its documented bound (docs/metrics.md):
never above the truth where the messages predate its history; with steady traffic, off only by
the broker's delivery delay when the history began (measured here per message) and the points'
timing; on the topic that went idle, over by at most the idle share of the interval in which its
traffic stopped, and by an error that does not grow with the idle time.

The producers keep a schedule (message n at start + n / rate), not a sleep between messages: a
thread that sleeps a fixed time between messages slows down whenever the machine is loaded (the
exporters starting beside it), so its rate before the history differed from the rate during it
by 12-17 %, which the extrapolation then carried, correctly, into the value.
"""

from __future__ import annotations

import functools
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
from harness import clients
from harness.cluster import KafkaCluster
from harness.procs import wait_for

pytestmark = pytest.mark.kafka

POLL = 30.0
"""The default poll interval: the time between the polls of each exporter."""


class Delays:
    """The delivery delay (produce call to the broker's acknowledgement) of each message, by the
    time it was produced: while the broker is slow to append, the log end lags the messages'
    create times by that much."""

    def __init__(self) -> None:
        self.seen: list[tuple[float, float]] = []

    def add(self, produced: float, _error: object, _message: object) -> None:
        self.seen.append((produced, time.time() - produced))

    def most(self, start: float, end: float) -> float:
        """The largest delay of the messages produced from `start` to `end`."""
        return max((d for t, d in self.seen if start <= t <= end), default=0.0)


@contextmanager
def producing(bootstrap: str, topic: str, per_second: float) -> Iterator[Delays]:
    """Produce to `topic` at `per_second` in a thread while the block runs: message n is due at
    start + n / per_second, so the rate holds over any stretch however late the thread wakes on a
    loaded machine (a late message goes out at once, the next ones keep the schedule)."""
    stop = threading.Event()
    delays = Delays()

    def run() -> None:
        producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
        start, sent = time.monotonic(), 0
        while not stop.wait(max(0.0, start + sent / per_second - time.monotonic())):
            producer.produce(topic, b"m", on_delivery=functools.partial(delays.add, time.time()))
            producer.poll(0)
            sent += 1
        producer.flush(30)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield delays
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

    with producing(bootstrap, steady, 40) as steady_delays:
        time.sleep(3)
        with producing(bootstrap, idle, 40) as idle_delays:
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

    # Older than the history with traffic before it (docs/metrics.md, "Lag in seconds"):
    # extrapolated back from the history's first point at the rate over the history. With the
    # producer's rate steady, off by what the log end lagged the create times when the history
    # began (the broker's delivery delay d then, seconds on this loaded machine: up to
    # d x (1 + extrapolated / history span) low) and by the points' timing (within one offsets
    # request each: 5 % of the age allowed). Polls 2 and 3 of the first exporter and the second
    # of the restarted one; the first poll of each has one point: absent.
    def bound(i: int, first: int, delays: Delays, topic: str) -> tuple[float, float, float]:
        (b0, a0), (b, a) = spans["interpolated"][first], spans["interpolated"][i]
        back = a0 - truth[topic]  # the extrapolated stretch, at most
        d = delays.most(b0 - POLL, a0)
        slack = 1.0 + (a - b) + (a0 - b0)
        return d * (1 + back / (b - a0)) + slack, slack, back

    for i, first in ((1, 0), (2, 0), (4, 3)):
        snap, (begin, end) = interpolated[i]
        value, true_age = served(snap, steady), (begin + end) / 2 - truth[steady]
        low, slack, _back = bound(i, first, steady_delays, steady)
        assert value is not None, report
        assert -low - 0.05 * true_age <= value - true_age <= slack + 0.05 * true_age, report
    assert served(interpolated[0][0], steady) is None, report
    assert served(interpolated[3][0], steady) is None, report
    # The topic that went idle while the exporter ran: the interval in which its traffic stopped
    # counts whole in the rate, so the rate is understated by the idle share of that interval and
    # the extrapolated stretch overstated by as much; the error then stays what it was, however
    # long the idle stretch lasts (it used to grow with it).
    errors = [(served(s, idle) or 0.0) - ((b + a) / 2 - truth[idle]) for s, (b, a) in
              interpolated[1:3]]  # fmt: skip
    for i, error in zip((1, 2), errors, strict=True):
        low, slack, back = bound(i, 0, idle_delays, idle)
        (_b0, a0), (b1, _a1) = spans["interpolated"][0], spans["interpolated"][1]
        over = back * ((b1 - a0) / max(1.0, idle_since - a0) - 1)
        assert -low <= error <= over + slack, (i, errors, report)
    assert abs(errors[1] - errors[0]) <= 1.0 + max(a - b for _s, (b, a) in interpolated[1:3]), (
        errors,
        report,
    )
    for topic in groups:
        clients.delete_topic(bootstrap, topic)
