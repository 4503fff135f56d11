"""The demo's one-screen summary of the Kafka vitals, read from Prometheus.

Every figure is a PromQL query over what Prometheus scraped from kafka-vitals, so the screen shows
the whole path (Kafka -> exporter -> Prometheus -> rules) working. A query that fails or has no
data yet shows as `-`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from exporter.catalog import admin, jmx, lessons, own
from harness.procs import HarnessError

SELECTOR = 'job="kafka-vitals"'
"""The scrape job the shipped rules select (the demo's Prometheus scrapes under it)."""


def q(metric: Any, matchers: str = "") -> str:
    """`name{job="kafka-vitals", matchers}` for a catalog metric."""
    return f"{metric.name}{{{SELECTOR}{', ' + matchers if matchers else ''}}}"


PRODUCE_P99 = 'request="Produce", quantile="0.99"'
QUERIES = {
    "brokers": f"max({q(admin.BROKERS)})",
    "urp_jmx": f"sum(max by (target) ({q(jmx.UNDER_REPLICATED)}))",
    "urp_metadata": f"sum(max by (topic, partition) ({q(admin.PARTITION_UNDER_REPLICATED)}))",
    "controllers": f"sum(max by (target) ({q(jmx.ACTIVE_CONTROLLER)}))",
    "produce_p99": "max(" + q(jmx.REQUEST_TOTAL_TIME, PRODUCE_P99) + ")",
    "messages_in": "sum(rate(" + q(jmx.MESSAGES_IN, 'topic!=""') + "[1m]))",
    "exporter_up": f"min({q(own.UP)})",
}
GROUP_QUERIES = {
    "lag": f"sum by (consumergroup) (max by (consumergroup, topic) ({q(admin.GROUP_LAG_SUM)}))",
    "members": f"max by (consumergroup) ({q(admin.GROUP_MEMBERS)})",
    "rebalances": f"sum by (consumergroup) (increase({q(admin.GROUP_REBALANCES)}[10m]))",
}
DLT_QUERY = f"max by (topic) ({q(lessons.DEADLETTER_DEPTH)})"
STATE_QUERY = f"max by (consumergroup, state) ({q(admin.GROUP_STATE)})"


@dataclass(frozen=True, slots=True)
class Links:
    prometheus: str
    alertmanager: str
    exporter: str
    bootstrap: str
    logs: str


def _fmt(value: float | None, unit: str = "", digits: int = 0) -> str:
    if value is None or math.isnan(value):
        return "-"
    return f"{value:,.{digits}f}{unit}"


def _value(query: Callable[[str], list[dict[str, Any]]], expr: str) -> float | None:
    try:
        result = query(expr)
    except HarnessError:
        return None
    return float(result[0]["value"][1]) if result else None


def _by(query: Callable[[str], list[dict[str, Any]]], expr: str, *labels: str) -> dict[Any, float]:
    try:
        result = query(expr)
    except HarnessError:
        return {}
    out: dict[Any, float] = {}
    for item in result:
        key = tuple(item["metric"].get(label, "") for label in labels)
        out[key[0] if len(key) == 1 else key] = float(item["value"][1])
    return out


def screen(
    query: Callable[[str], list[dict[str, Any]]],
    alerts: Callable[[], list[dict[str, Any]]],
    links: Links,
    started: float,
    notifications: int,
) -> str:
    """The summary as text, about 25 lines."""
    v = {name: _value(query, expr) for name, expr in QUERIES.items()}
    groups = {name: _by(query, expr, "consumergroup") for name, expr in GROUP_QUERIES.items()}
    states = {group: state for (group, state) in _by(query, STATE_QUERY, "consumergroup", "state")}
    dlt = _by(query, DLT_QUERY, "topic")
    try:
        active = alerts()
    except HarnessError:
        active = []
    up = "yes" if v["exporter_up"] == 1 else ("starting" if v["exporter_up"] is None else "NO")
    lines = [
        f"kafka-vitals demo    up {time.monotonic() - started:5.0f}s    Ctrl-C stops everything",
        f"  Prometheus    {links.prometheus}   (alerts: {links.prometheus}/alerts)",
        f"  Alertmanager  {links.alertmanager}",
        f"  kafka-vitals  {links.exporter}",
        f"  Kafka         {links.bootstrap}",
        f"  logs          {links.logs}",
        "",
        f"brokers {_fmt(v['brokers'])}   active controllers {_fmt(v['controllers'])}   "
        f"exporter sources up: {up}",
        f"under-replicated partitions  JMX {_fmt(v['urp_jmx'])}   "
        f"metadata {_fmt(v['urp_metadata'])}",
        f"produce p99 {_fmt(v['produce_p99'], ' ms', 1)}   "
        f"messages in {_fmt(v['messages_in'], '/s', 1)}",
        "",
        f"{'consumer group':<24}{'state':<14}{'members':>8}{'lag':>12}{'rebalances 10m':>16}",
    ]
    for group in sorted(set(groups["lag"]) | set(states)):
        lines.append(
            f"{group:<24}{states.get(group, '-'):<14}{_fmt(groups['members'].get(group)):>8}"
            f"{_fmt(groups['lag'].get(group)):>12}{_fmt(groups['rebalances'].get(group)):>16}"
        )
    if not groups["lag"] and not states:
        lines.append("(waiting for the first poll)")
    lines.append("")
    lines.append(
        "dead letters  " + ("   ".join(f"{t} {_fmt(n)}" for t, n in sorted(dlt.items())) or "-")
    )
    firing = sorted({a["labels"]["alertname"] for a in active if a.get("state") == "firing"})
    pending = sorted({a["labels"]["alertname"] for a in active if a.get("state") == "pending"})
    lines.append(f"alerts firing ({len(firing)}): " + (", ".join(firing) or "none"))
    lines.append(f"alerts pending ({len(pending)}): " + (", ".join(pending) or "none"))
    lines.append(f"notifications received from Alertmanager: {notifications}")
    return "\n".join(lines)
