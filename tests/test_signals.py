"""A signal is written once: the alert's expression and the panels that draw it carry the same
query, built by `alerts.signals` for the rules' selector and for the dashboards' variables."""

from __future__ import annotations

import json
from typing import Any

from alerts.rules import build
from alerts.signals import RuleQuery, consumer_lag
from alerts.thresholds import DEFAULT
from dashboards.common import scope
from dashboards.group_activity import G, T
from dashboards.output import build_all


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
