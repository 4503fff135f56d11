"""The throughput panels: the overview's producer vitals (produce latency against its alert's bar,
messages in against the same rate an offset earlier) and the brokers dashboard's rows of request
latency (Yammer quantiles of the request total time) and throughput (messages and bytes, per
broker and per topic).

As in `bundle.dashboards.brokers`, every per-broker value is taken with `max by (target)` first, or
summed over the broker-wide series (topic="") only: the broker-wide and the per-topic series
(topic!="") share a name and are never mixed in one query.
"""

from __future__ import annotations

from grafanalib import core as g

from bundle.config import why
from bundle.core.promql import num
from bundle.dashboards.common import Scope, dashed, for_query
from bundle.dashboards.panels import Q, stat, timeseries
from bundle.throughput import signals
from exporter.catalog import Metric, jmx

B = 'target=~"$broker"'
T = 'topic=~"$topic"'
BROKER_WIDE = 'topic=""'
"""The broker-wide MessagesIn/BytesIn/BytesOut series; per-topic ones are topic!=""."""
PER_TOPIC = 'topic!=""'
QUANTILES = ("0.50", "0.99", "0.999")  # the exporter also has 0.75, 0.95 and 0.98


def produce_vital(sc: Scope) -> list[tuple[g.Panel, int]]:
    t = sc.config.produce_latency
    now = signals.produce_latency(sc, t.quantile)
    base = signals.produce_latency_baseline(sc, t.quantile, t.baseline_window, t.baseline_offset)
    bar = sc.bar("KafkaProduceLatencySpike", t.floor_ms)
    ratio = sc.bar("KafkaProduceLatencySpike", t.factor)
    p = f"p{num(float(t.quantile) * 100)}"
    desc = (
        f"Produce request total time at quantile {t.quantile} per broker (Yammer histogram: max "
        "by broker, never averaged). KafkaProduceLatencySpike fires when it is above "
        f"{num(t.factor)}x its own {t.baseline_window} baseline (ending {t.baseline_offset} ago) "
        f"and above {num(t.floor_ms)} ms. {why(t, 'floor_ms')}"
    )
    links = [sc.runbook("KafkaProduceLatencySpike")]
    vs = stat(
        f"Produce {p} (worst broker)",
        desc,
        "ms",
        [Q(f"max({now})", p), Q(f"max({now} / {base})", "x baseline")],
        bar.steps(),
        links=links,
        overrides=[for_query("B", "none", ratio.steps(), 1)],
    )
    return [
        (vs, 4),
        (
            timeseries(
                f"Produce {p} by broker",
                desc,
                "ms",
                [
                    Q(now, "{{target}}"),
                    Q(
                        f"clamp_min({num(t.factor)} * {base}, {num(t.floor_ms)})",
                        "alert bar {{target}}",
                    ),
                ],
                bar,
                links=links,
                overrides=[dashed("alert bar.*", bar.color)],
            ),
            8,
        ),
    ]


def messages_in_vital(sc: Scope) -> list[tuple[g.Panel, int]]:
    t = sc.config.messages_in
    rate = signals.messages_in(sc, BROKER_WIDE)
    win = signals.messages_in(sc, BROKER_WIDE, window=t.window)
    then = signals.messages_in(sc, BROKER_WIDE, window=t.window, offset=t.offset)
    bar = sc.bar("KafkaClusterMessagesInDropped", t.drop_ratio, op="<")
    desc = (
        "Messages appended per second, cluster-wide (JMX MessagesIn, broker-wide series "
        'topic=""). KafkaClusterMessagesInDropped fires when the '
        f"{t.window} rate is below {num(t.drop_ratio * 100)}% of the same window {t.offset} "
        f"earlier (that earlier rate at least {num(t.min_rate)}/s): the dashed line. "
        f"{why(t, 'drop_ratio')}"
    )
    links = [sc.runbook("KafkaClusterMessagesInDropped"), sc.runbook("KafkaTopicMessagesInDropped")]
    vs = stat(
        "Messages in",
        desc,
        "mps",
        [Q(rate, "now"), Q(f"{win} / {then}", f"vs {t.offset} ago")],
        links=links,
        overrides=[for_query("B", "percentunit", bar.steps())],
    )
    return [
        (vs, 4),
        (
            timeseries(
                "Messages in per second",
                desc,
                "mps",
                [Q(rate, "messages in"), Q(f"{num(t.drop_ratio)} * {then}", "alert bar")],
                links=links,
                overrides=[dashed("alert bar", bar.color)],
            ),
            8,
        ),
    ]


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
