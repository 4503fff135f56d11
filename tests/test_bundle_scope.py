"""Every shipped alert rule and dashboard query rides through a handover between instances.

In `broker` and `shard` scope a series moves from one instance to another when a leader or a
coordinator moves; for at most one interval a query can see it from both (see the handover section
of docs/deployment.md). A query survives that when every Admin API or lessons family in it is
deduplicated over instances (`max`/`min` by labels without `instance`) before any `sum`, `avg` or
`count` adds instances up; an alert rule must also aggregate at all, or it would fire once per
instance during the move.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from exporter.catalog import ALL

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "deploy" / "prometheus" / "kafka-vitals-rules.yaml"
DASHBOARDS = sorted((ROOT / "dashboards").glob("kafka-vitals-*.json"))
SPLIT = {m.name for m in ALL if m.source in ("admin", "lessons")}
"""Families whose series move between instances (the JMX and own families stay put)."""
ADDING = {"sum", "avg", "count", "stddev", "stdvar", "quantile", "count_values"}
DEDUPLICATING = {"max", "min", "topk", "bottomk", "group"}
_AGGREGATION = re.compile(r"\b(?P<op>[a-z_]+)\s*(?:(?:by|without)\s*\((?P<by>[^()]*)\)\s*)?$")


def _masked(expr: str) -> str:
    """The expression with strings and label matchers blanked (they may hold parentheses)."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', lambda m: " " * len(m.group(0)), expr)
    return re.sub(r"\{[^{}]*\}", lambda m: " " * len(m.group(0)), expr)


def _enclosing(masked: str, pos: int) -> list[tuple[str, str]]:
    """(operator or function, its `by` labels) of every parenthesis around `pos`, innermost
    first, with a trailing `by (...)` after the closing parenthesis taken into account."""
    opened: list[int] = []
    for i, c in enumerate(masked[:pos]):
        if c == "(":
            opened.append(i)
        elif c == ")" and opened:
            opened.pop()
    out = []
    for at in reversed(opened):
        match = _AGGREGATION.search(masked[:at])
        op, by = (match.group("op"), match.group("by") or "") if match else ("", "")
        if op in ("by", "without"):  # `max by (x) (...)`: the `by` list is this parenthesis' head
            head = re.search(r"\b([a-z_]+)\s*(?:by|without)\s*$", masked[:at])
            op = head.group(1) if head else ""
        out.append((op, by))
    return out


def problems(expr: str, *, must_aggregate: bool) -> list[str]:
    masked = _masked(expr)
    found = []
    for match in re.finditer(r"\b[a-z_:][a-z0-9_:]*\b", masked):
        name = match.group(0)
        if name not in SPLIT:
            continue
        ops = _enclosing(masked, match.start())
        aggregations = [(op, by) for op, by in ops if op in ADDING | DEDUPLICATING]
        if must_aggregate and not aggregations:
            found.append(f"{name} is not aggregated: one alert per instance during a handover")
            continue
        if aggregations:
            op, by = aggregations[0]
            if op in ADDING and "instance" not in by:
                found.append(f"{name} is added up over instances by {op} without a max inside")
    return found


def rule_exprs() -> list[tuple[str, str]]:
    doc = yaml.safe_load(RULES.read_text())
    return [
        (r.get("alert") or r.get("record"), r["expr"]) for g in doc["groups"] for r in g["rules"]
    ]


def panel_exprs() -> list[tuple[str, str]]:
    out = []
    for path in DASHBOARDS:
        board = json.loads(path.read_text())
        stack = list(board.get("panels", []))
        while stack:
            panel = stack.pop()
            stack += panel.get("panels", [])
            for target in panel.get("targets", []):
                if target.get("expr"):
                    out.append((f"{path.name}: {panel.get('title')}", target["expr"]))
    return out


def test_the_scanner_tells_safe_from_unsafe() -> None:
    assert problems("sum by (topic) (max by (topic, partition) (kafka_topic_partition_offline))",
                    must_aggregate=True) == []  # fmt: skip
    assert problems("max by (consumergroup) (increase(kafka_consumergroup_rebalances_total[1h]))",
                    must_aggregate=True) == []  # fmt: skip
    assert problems('sum(kafka_consumergroup_lag{consumergroup="a(b"})', must_aggregate=False)
    assert problems("kafka_brokers < 3", must_aggregate=True)
    assert problems("kafka_brokers < 3", must_aggregate=False) == []
    assert problems("sum by (instance) (kafka_brokers)", must_aggregate=True) == []


@pytest.mark.parametrize(("name", "expr"), rule_exprs(), ids=lambda v: str(v)[:60])
def test_every_rule_survives_a_handover(name: str, expr: str) -> None:
    assert problems(expr, must_aggregate=True) == [], name


def test_every_panel_survives_a_handover() -> None:
    assert DASHBOARDS, "no dashboards found"
    found = [f"{where}: {p}" for where, expr in panel_exprs()
             for p in problems(expr, must_aggregate=False)]  # fmt: skip
    assert found == []
