"""A signal is written once: the alert's expression and the panels that draw it carry the same
query, built by the theme's `signals` (`bundle.<theme>.signals`) for the rules' selector and
for the dashboards' variables."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from bundle.cluster import signals
from bundle.cluster.panels import B
from bundle.config import DEFAULT
from bundle.consumers.panels import G, T
from bundle.consumers.signals import consumer_lag, group_rebalances
from bundle.core.query import RuleQuery
from bundle.dashboards.output import build_all, scope
from bundle.probe.signals import latency_quantile
from bundle.rules import build
from bundle.throughput import signals as tp
from exporter.catalog import admin, jmx, probe


def _exprs(dashboard: dict[str, Any]) -> list[str]:
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("expr"), str):
                found.append(node["expr"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(dashboard)
    return found


def test_consumer_lag_is_one_signal_in_the_alerts_and_the_panels() -> None:
    bundle = build(DEFAULT)
    rule = RuleQuery(DEFAULT.common.selector, DEFAULT.common.cluster_label)
    signal = consumer_lag(rule)
    assert bundle.alert("KafkaConsumerGroupLagHigh").expr.startswith(f"{signal}\n  > ")
    assert bundle.alert("KafkaConsumerGroupStalled").expr.startswith(f"{signal} > 0\n")

    sc = scope(DEFAULT)
    dashboards = build_all(DEFAULT)
    overview = json.dumps(_exprs(dashboards["kafka-vitals-overview"]))
    groups = json.dumps(_exprs(dashboards["kafka-vitals-consumer-groups"]))
    assert json.dumps(consumer_lag(sc))[1:-1] in overview
    assert json.dumps(consumer_lag(sc, G, T))[1:-1] in groups
    # the same family, grouping and aggregation on both sides: only the scoping matchers differ
    assert signal.split("{")[0] == consumer_lag(sc).split("{")[0]


def _shape(expr: str) -> str:
    """The expression without its scoping: label matchers, windows and offsets emptied."""
    expr = re.sub(r" offset \w+", "", expr)
    return re.sub(r"\[[^\]]*\]", "[]", re.sub(r"\{[^{}]*\}", "{}", expr))


def _cases() -> list[tuple[str, str, str, list[tuple[str, str]]]]:
    """(alert, its signal for the rules, its signal for the panels, [(dashboard, the panel's
    expression)]): each panel draws the signal its alert fires on."""
    rq = RuleQuery.of(DEFAULT)
    sc = scope(DEFAULT)
    t = DEFAULT
    pq, mi, rr, pl = t.produce_latency, t.messages_in, t.rebalance_rate, t.probe_latency
    brokers, overview = "kafka-vitals-brokers", "kafka-vitals-overview"
    groups = "kafka-vitals-consumer-groups"
    urp, min_isr = jmx.UNDER_REPLICATED, jmx.UNDER_MIN_ISR
    flagged = admin.PARTITION_UNDER_REPLICATED
    e2e = probe.END_TO_END_LATENCY
    return [
        ("KafkaBrokerUnderReplicatedPartitions", signals.per_broker(rq, urp),
         signals.per_broker(sc, urp),
         [(overview, signals.per_broker(sc, urp)), (brokers, signals.per_broker(sc, urp, B))]),
        ("KafkaBrokerUnderMinIsrPartitions", signals.per_broker(rq, min_isr),
         signals.per_broker(sc, min_isr), [(brokers, signals.per_broker(sc, min_isr, B))]),
        ("KafkaTopicUnderReplicatedPartitions", signals.flagged_partitions(rq, flagged),
         signals.flagged_partitions(sc, flagged),
         [(overview, signals.flagged_partitions(sc, flagged)),
          (brokers, signals.flagged_partitions(sc, flagged, T))]),
        ("KafkaProduceLatencySpike", tp.produce_latency(rq, pq.quantile),
         tp.produce_latency(sc, pq.quantile),
         [(overview, tp.produce_latency(sc, pq.quantile))]),
        ("KafkaProduceLatencySpike",
         tp.produce_latency_baseline(rq, pq.quantile, pq.baseline_window, pq.baseline_offset),
         tp.produce_latency_baseline(sc, pq.quantile, pq.baseline_window, pq.baseline_offset),
         [(overview, tp.produce_latency_baseline(sc, pq.quantile, pq.baseline_window,
                                                 pq.baseline_offset))]),
        ("KafkaClusterMessagesInDropped",
         tp.messages_in(rq, 'topic=""', window=mi.window, offset=mi.offset),
         tp.messages_in(sc, 'topic=""', window=mi.window, offset=mi.offset),
         [(overview, tp.messages_in(sc, 'topic=""', window=mi.window, offset=mi.offset)),
          (overview, tp.messages_in(sc, 'topic=""'))]),
        ("KafkaTopicMessagesInDropped",
         tp.messages_in(rq, 'topic!=""', labels=("topic",), window=mi.window),
         tp.messages_in(sc, 'topic!=""', labels=("topic",), window=mi.window),
         [(brokers, tp.messages_in(sc, 'topic!=""', T, labels=("topic",)))]),
        ("KafkaConsumerGroupRebalanceStorm", group_rebalances(rq, rr.window),
         group_rebalances(sc, rr.window),
         [(overview, group_rebalances(sc, rr.window)),
          (groups, group_rebalances(sc, rr.window, G))]),
        ("KafkaProbeEndToEndLatencyHigh",
         latency_quantile(rq, e2e, pl.quantile, pl.window),
         latency_quantile(sc, e2e, pl.quantile, pl.window),
         [(brokers, latency_quantile(sc, e2e, pl.quantile))]),
    ]  # fmt: skip


CASES = _cases()


@pytest.mark.parametrize(("alert", "rule", "panel", "drawn"), CASES, ids=[c[0] for c in CASES])
def test_each_alert_and_its_panels_draw_one_signal(
    alert: str, rule: str, panel: str, drawn: list[tuple[str, str]]
) -> None:
    assert rule in build(DEFAULT).alert(alert).expr
    # the same family, grouping and aggregation on both sides: only the scoping differs
    assert _shape(rule) == _shape(panel)
    dashboards = build_all(DEFAULT)
    for uid, expr in drawn:
        assert _shape(expr) == _shape(rule)
        assert json.dumps(expr)[1:-1] in json.dumps(_exprs(dashboards[uid])), (uid, expr)
