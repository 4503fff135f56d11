"""The brokers dashboard's traffic rows: request latency (Yammer quantiles of the request total
time), throughput (messages and bytes, per broker and per topic) and the thread pools' idle time.

As in `bundle.dashboards.brokers`, every per-broker value is taken with `max by (target)` first, or
summed over the broker-wide series (topic="") only: the broker-wide and the per-topic series
(topic!="") share a name and are never mixed in one query.
"""

from __future__ import annotations

from grafanalib import core as g

from bundle.cluster import signals
from bundle.cluster.panels import BROKER_WIDE, B, T
from bundle.config import why
from bundle.core.promql import num
from bundle.dashboards.common import Scope
from bundle.dashboards.panels import Q, timeseries
from exporter.catalog import Metric, jmx

PER_TOPIC = 'topic!=""'
QUANTILES = ("0.50", "0.99", "0.999")  # the exporter also has 0.75, 0.95 and 0.98


def latency(sc: Scope) -> list[tuple[g.Panel, int]]:
    pl = sc.config.produce_latency
    q = 'quantile=~"' + "|".join(QUANTILES) + '"'
    by_q = sc.by("target", "quantile")

    def quantiles(request: str) -> str:
        request_is = 'request="' + request + '"'
        return f"max {by_q} ({sc.sel(jmx.REQUEST_TOTAL_TIME, B, request_is, q)})"

    floor = sc.bar("KafkaProduceLatencySpike", pl.floor_ms)
    note = (
        "Yammer histogram quantiles over a recent decaying window, per broker: max by "
        "broker, never averaged or summed."
    )
    return [
        (
            timeseries(
                "Produce total time",
                f"Produce request total time per broker. {note} "
                f"The line is the spike alert's floor; it also needs {num(pl.factor)}x the "
                f"broker's own {pl.baseline_window} baseline. " + why(pl, "quantile"),
                "ms",
                [Q(quantiles("Produce"), "p{{quantile}} {{target}}")],
                floor,
                links=[sc.runbook(floor.alert)],
            ),
            8,
        ),
        (
            timeseries(
                "Fetch (consumer) total time",
                f"Consumer fetch total time per broker "
                f"(includes fetch.max.wait.ms when there is nothing to read). {note}",
                "ms",
                [Q(quantiles("FetchConsumer"), "p{{quantile}} {{target}}")],
            ),
            8,
        ),
        (
            timeseries(
                "Requests per second",
                "Produce, consumer fetch and follower fetch "
                "requests per second per broker (count of the TotalTimeMs histogram).",
                "reqps",
                [
                    Q(
                        f"sum {sc.by('target', 'request')} "
                        f"({sc.rate(jmx.REQUEST_TOTAL_TIME, B, sample='_count')})",
                        "{{request}} {{target}}",
                    )
                ],
            ),
            8,
        ),
    ]


def throughput(sc: Scope) -> list[tuple[g.Panel, int]]:
    per_broker = sc.by("target")
    per_topic = sc.by("topic")

    def broker(metric: Metric) -> str:
        return f"sum {per_broker} ({sc.rate(metric, B, BROKER_WIDE)})"

    def topic(metric: Metric) -> str:
        return f"sum {per_topic} ({sc.rate(metric, PER_TOPIC, T)})"

    return [
        (
            timeseries(
                "Messages in by broker",
                'Messages appended per second on each broker (broker-wide series, topic="").',
                "mps",
                [Q(signals.messages_in(sc, B, BROKER_WIDE, labels=("target",)), "{{target}}")],
                links=[sc.runbook("KafkaClusterMessagesInDropped")],
            ),
            6,
        ),
        (
            timeseries(
                "Messages in by topic",
                "Messages appended per second to each topic, "
                'summed over the brokers leading its partitions (topic!="").',
                "mps",
                [Q(signals.messages_in(sc, PER_TOPIC, T, labels=("topic",)), "{{topic}}")],
                links=[sc.runbook("KafkaTopicMessagesInDropped")],
            ),
            6,
        ),
        (
            timeseries(
                "Bytes in and out by broker",
                "Bytes per second from producers (in) and to "
                "consumers and followers (out), broker-wide series.",
                "Bps",
                [
                    Q(broker(jmx.BYTES_IN), "in {{target}}"),
                    Q(broker(jmx.BYTES_OUT), "out {{target}}"),
                ],
            ),
            6,
        ),
        (
            timeseries(
                "Bytes in and out by topic",
                'Bytes per second per topic (topic!=""), summed over brokers.',
                "Bps",
                [Q(topic(jmx.BYTES_IN), "in {{topic}}"), Q(topic(jmx.BYTES_OUT), "out {{topic}}")],
            ),
            6,
        ),
    ]


def threads(sc: Scope) -> list[tuple[g.Panel, int]]:
    per = sc.by("target")
    return [
        (
            timeseries(
                "Request handler idle",
                "Fraction of time the request handler threads were "
                "idle (one-minute rate). Below 0.3 the broker starts queueing requests. On a "
                "combined broker+controller node Kafka counts both handler pools, so it can "
                "reach 2.",
                "percentunit",
                [Q(f"max {per} ({sc.sel(jmx.REQUEST_HANDLER_IDLE, B)})", "{{target}}")],
            ),
            12,
        ),
        (
            timeseries(
                "Network processor idle",
                "Fraction of time the network processor threads "
                "were idle. Below 0.3 the broker cannot read requests fast enough.",
                "percentunit",
                [Q(f"max {per} ({sc.sel(jmx.NETWORK_PROCESSOR_IDLE, B)})", "{{target}}")],
                max_value=1,
            ),
            12,
        ),
    ]
