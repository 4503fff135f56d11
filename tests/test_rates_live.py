"""Every shipped dashboard query over message rates, run by a real Prometheus that scrapes
kafka-vitals twice per poll, reads the true rate of a steady producer within 10 %.

The issue this guards: the data changes once per poll, whatever the scrape interval, so a window
counted in scrape intervals (Grafana's `$__rate_interval`) or `irate()` reads wrong rates. The
dashboards' window is 4 poll intervals plus one scrape interval (from the bundle config). Scaled
down 5x to keep the test short, with the ratio of the case reported (15 s scrape, 30 s poll):
poll every 6 s, scrape every 3 s, so the window is 27 s. The producer writes at a steady rate;
the true rate is counted from its delivery reports. Points are checked from 4 poll intervals after
the start of production (plus the window) to its end.

A cycle that ends after the scrape that normally serves it (a slow cycle on a loaded machine) makes
that scrape serve the snapshot before, and the windows starting or ending at it read up to 1.14x
or 0.86x for one step whatever the window (docs/dashboards.md). The check scales the true rate at
each step by what the exporter served there (its snapshot times in the same scrapes), and requires
most steps to have been served on time.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Producer

from bundle.config import DEFAULT
from bundle.dashboards.output import build_all
from bundle.dashboards.queries import expand, panel_queries
from harness import clients, procs
from harness.cluster import KafkaCluster
from harness.prom import PrometheusServer
from tests.cli_run import clean_env, console_script, get

pytestmark = [pytest.mark.kafka, pytest.mark.prometheus]

POLL, SCRAPE = 6, 3
RATE = 25.0
"""Messages per second the producer writes."""
PRODUCE_SECONDS = 76
JOB = "kafka-vitals"
MESSAGE_RATE_FAMILIES = (
    "kafka_server_brokertopicmetrics_messagesin_total",
    "kafka_topic_partition_current_offset",
)
"""Families whose rate is a message rate (per topic and partition or per broker)."""


@pytest.fixture
def exporter(kafka_single: KafkaCluster, tmp_path: Path) -> Iterator[int]:
    (port,) = procs.free_ports(1)
    node = kafka_single.nodes[0]
    env = clean_env(
        {
            "KAFKA_VITALS_POLL_INTERVAL_SECONDS": str(POLL),
            "KAFKA_VITALS_JMX_TARGETS": f'[{{"url": "{node.jmx_url}", "role": "broker", '
            f'"name": "node-1"}}]',
        }
    )
    cmd = [
        console_script(),
        f"--kafka.server={kafka_single.bootstrap_servers}",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    proc = procs.spawn("kafka-vitals", cmd, log_path=tmp_path / "serve.log", ports=[port], env=env)
    try:
        procs.wait_for(lambda: get(port, "/ready")[0] == 200, 90, "kafka-vitals /ready")
        yield port
    finally:
        proc.kill()


def _produce(bootstrap: str, topic: str, stop: threading.Event, counted: list[float]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0})

    def delivered(err: Any, _msg: Any) -> None:
        if err is None:
            counted.append(time.time())

    start = time.monotonic()
    n = 0
    while not stop.is_set():
        due = start + n / RATE
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(min(delay, 0.05))
            continue
        producer.produce(topic, b"x", partition=n % 2, on_delivery=delivered)
        producer.poll(0)
        n += 1
    producer.flush(10)


def message_rate_queries(values: dict[str, str]) -> list[tuple[str, str, str]]:
    """(dashboard, panel, expanded expr) of every panel query over a message-rate family,
    rendered with the test's poll and scrape intervals."""
    common = dataclasses.replace(
        DEFAULT.common, poll_interval=f"{POLL}s", scrape_interval=f"{SCRAPE}s"
    )
    out = []
    for uid, dashboard in build_all(dataclasses.replace(DEFAULT, common=common)).items():
        for q in panel_queries(uid, dashboard):
            if "offset 1h" in q.expr or not any(f in q.expr for f in MESSAGE_RATE_FAMILIES):
                continue  # a comparison with an hour ago has no data in a minutes-old stack
            if "rate(" in q.expr:
                out.append((uid, q.panel, expand(q.expr, values)))
    return out


def _data_spans(prom: PrometheusServer, steps: list[float], window: float) -> dict[float, float]:
    """Per step of the range queries: how much data time the samples `rate()` reads at that step
    span, over how much scrape time they span, read from the snapshot time the exporter serves
    (`kafka_vitals_last_poll_timestamp_seconds`) in the same scrapes.

    1 when every snapshot was published before the same scrape as the others; when one cycle ends
    after the scrape that normally serves it (a slow cycle on a loaded machine), that scrape
    serves the snapshot before, and the windows starting or ending there span one poll more or
    less of data (up to 1 +/- POLL / (4 * POLL)). The true rate is scaled by it: what the exporter
    served, not the dashboards' window, moved."""
    span = int(steps[-1] - steps[0] + 2 * window)
    data = prom.api(
        "query",
        query=f'kafka_vitals_last_poll_timestamp_seconds{{job="{JOB}"}}[{span}s]',
        time=str(steps[-1]),
    )["result"]
    assert len(data) == 1, f"one series of the exporter's snapshot time expected: {data}"
    samples = [(float(t), float(v)) for t, v in data[0]["values"]]
    out = {}
    for step in steps:
        inside = [(t, v) for t, v in samples if step - window <= t <= step]  # Prometheus 2: closed
        assert len(inside) >= 2, f"fewer than two scrapes in the window ending {step}"
        (s0, f0), (s1, f1) = inside[0], inside[-1]
        out[step] = round((f1 - f0) / (s1 - s0), 3)
    return out


def _step(t: float, steps: list[float]) -> float:
    return min(steps, key=lambda s: abs(s - t))


def test_dashboard_message_rates_within_10_percent(
    kafka_single: KafkaCluster,
    exporter: int,
    unique_name: Callable[[str], str],
    prometheus_factory: Callable[..., PrometheusServer],
) -> None:
    topic = unique_name("rated")
    bootstrap = kafka_single.bootstrap_servers
    clients.create_topic(bootstrap, topic, partitions=2)
    values = {"job": JOB, "cluster": ".*", "consumergroup": ".*", "topic": topic, "broker": ".*"}
    queries = message_rate_queries(values)
    assert len(queries) >= 2, queries
    prom = prometheus_factory(
        {
            "global": {"scrape_interval": f"{SCRAPE}s", "evaluation_interval": f"{SCRAPE}s"},
            "scrape_configs": [
                {"job_name": JOB, "static_configs": [{"targets": [f"127.0.0.1:{exporter}"]}]}
            ],
        }
    )
    stop, counted = threading.Event(), []  # type: ignore[var-annotated]
    producer = threading.Thread(target=_produce, args=(bootstrap, topic, stop, counted))
    producer.start()
    try:
        time.sleep(PRODUCE_SECONDS)
    finally:
        stop.set()
        producer.join(30)
    assert len(counted) > 2, "the producer delivered nothing"
    true_rate = (len(counted) - 1) / (counted[-1] - counted[0])
    assert abs(true_rate - RATE) / RATE < 0.05, f"the producer was not steady: {true_rate:.2f}/s"
    window = 4 * POLL + SCRAPE
    first = counted[0] + 4 * POLL + window
    last = counted[-1] - SCRAPE
    assert last - first > 20, "too short a run to judge"
    steps = [first + k * SCRAPE for k in range(int((last - first) // SCRAPE) + 1)]
    spans = _data_spans(prom, steps, window)
    on_time = sum(abs(r - 1) <= 0.02 for r in spans.values())
    print(f"{on_time} of {len(spans)} steps read snapshots spaced as their scrapes: {spans}")
    assert on_time >= len(spans) / 2, f"the exporter's snapshots came late at most steps: {spans}"
    failures = []
    for uid, panel, expr in queries:
        result = prom.api(
            "query_range", query=expr, start=str(first), end=str(last), step=str(SCRAPE)
        )["result"]
        points = [float(v) for series in result for _, v in series["values"]]
        assert points, f"{uid} / {panel}: no data for {expr}"
        # per-partition or per-topic queries: the topic's total is the sum at each step
        by_time: dict[float, float] = {}
        for series in result:
            for t, v in series["values"]:
                by_time[float(t)] = by_time.get(float(t), 0.0) + float(v)
        per_minute = "60 *" in expr or "* 60" in expr
        want = true_rate * (60 if per_minute else 1)
        worst = max(abs(v / want - spans[_step(t, steps)]) for t, v in by_time.items())
        if worst > 0.10:
            seen = sorted(round(v / (60 if per_minute else 1), 1) for v in by_time.values())
            failures.append(f"{uid} / {panel}: off by up to {worst:.1%}: {seen} ({expr})")
    assert not failures, f"true rate {true_rate:.2f}/s:\n" + "\n".join(failures)
