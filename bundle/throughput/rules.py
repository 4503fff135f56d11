"""Throughput alerts: produce latency spikes against each broker's own baseline, and messages in
dropping per topic and cluster-wide.

Yammer quantiles are taken with `max`, never averaged. The broker-wide MessagesIn series
(topic="") and the per-topic ones (topic!="") share a name and are never mixed.
"""

from __future__ import annotations

from bundle.config import BundleConfig
from bundle.core.model import Alert, Group
from bundle.core.promql import by, label, num
from bundle.core.query import RuleQuery
from bundle.throughput import signals
from exporter.catalog import Metric, admin, jmx


def _alerts(t: BundleConfig) -> tuple[Alert, ...]:
    c = t.common.cluster_label
    pl, mi = t.produce_latency, t.messages_in
    q = RuleQuery.of(t)
    now = signals.produce_latency(q, pl.quantile)
    base = signals.produce_latency_baseline(q, pl.quantile, pl.baseline_window, pl.baseline_offset)
    spike = Alert(
        name="KafkaProduceLatencySpike",
        expr=f"{now}\n  > {num(pl.factor)} * {base}\nand\n{now}\n  > {num(pl.floor_ms)}",
        for_=pl.for_,
        keep_firing_for=pl.keep_firing_for,
        severity=pl.severity,
        summary=(
            f"Produce p{num(float(pl.quantile) * 100)} latency above {num(pl.factor)}x its "
            f"baseline and above {num(pl.floor_ms)} ms."
        ),
        description=(
            f"Broker {label('target')} answers produce requests in {{{{ $value | humanize }}}} "
            f"ms at quantile {pl.quantile}, more than {num(pl.factor)} times its average over "
            f"{pl.baseline_window} ending {pl.baseline_offset} ago."
        ),
        section="produce_latency",
        source="broker JMX",
    )

    def drop(
        metric: Metric, labels: tuple[str, ...], *matchers: str, once_by: tuple[str, ...] = ()
    ) -> str:
        """`once_by`: the labels of one series whatever instance serves it; the rate is taken
        once per such series (max over instances) before the sum, so that an instance handing a
        series over to another one does not count it twice."""

        def rate(offset: str = "") -> str:
            if metric is jmx.MESSAGES_IN:
                return signals.messages_in(q, *matchers, labels=labels, window=mi.window,
                                           offset=offset)  # fmt: skip
            inner = q.rate(metric, *matchers, window=mi.window, offset=offset)
            inner = f"max {by(c, *labels, *once_by)} ({inner})" if once_by else inner
            return f"sum {by(c, *labels)} ({inner})"

        r_now = rate()
        r_then = rate(offset=mi.offset)
        return (
            f"{r_now}\n  < {num(mi.drop_ratio)} * {r_then}\nand\n{r_then}\n  >= {num(mi.min_rate)}"
        )

    pct = num(mi.drop_ratio * 100)

    def drop_alert(name: str, expr: str, summary: str, description: str, source: str) -> Alert:
        return Alert(
            name=name,
            expr=expr,
            for_=mi.for_,
            keep_firing_for=mi.keep_firing_for,
            severity=mi.severity,
            summary=summary,
            description=description,
            section="messages_in",
            source=source,
        )

    topic_drop = drop_alert(
        name="KafkaTopicMessagesInDropped",
        expr=drop(jmx.MESSAGES_IN, ("topic",), 'topic!=""'),
        summary=f"Messages produced to a topic fell below {pct}% of the rate {mi.offset} earlier.",
        description=(
            f"Topic {label('topic')} receives {{{{ $value | humanize }}}} messages/s, less than "
            f"{pct}% of its rate {mi.offset} earlier (broker JMX MessagesIn)."
        ),
        source="broker JMX",
    )
    cluster_drop = drop_alert(
        name="KafkaClusterMessagesInDropped",
        expr=drop(jmx.MESSAGES_IN, (), 'topic=""'),
        summary=(
            f"Messages produced to the cluster fell below {pct}% of the rate {mi.offset} earlier."
        ),
        description=(
            "The brokers receive {{ $value | humanize }} messages/s in total, less than "
            f"{pct}% of the rate {mi.offset} earlier (broker JMX MessagesIn, broker-wide)."
        ),
        source="broker JMX",
    )
    offsets_drop = drop_alert(
        name="KafkaTopicOffsetRateDropped",
        expr=drop(admin.PARTITION_CURRENT_OFFSET, ("topic",), once_by=("partition",)),
        summary=f"Log-end offsets of a topic advance below {pct}% of the rate {mi.offset} earlier.",
        description=(
            f"The log-end offsets of topic {label('topic')} advance by {{{{ $value | humanize }}}} "
            f"per second, less than {pct}% of the rate {mi.offset} earlier (Admin API)."
        ),
        source="Admin API",
    )
    return spike, topic_drop, cluster_drop, offsets_drop


def groups(t: BundleConfig) -> tuple[Group, ...]:
    return (Group("throughput", _alerts(t)),)
