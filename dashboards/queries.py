"""Reading generated dashboards back: their panels and queries, variables expanded, and the metric
names a PromQL expression uses (and whether a counter appears outside rate/increase).

Used by the lint and live tests and by the plot script, so all three look at exactly the queries
Grafana will run.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from exporter.catalog import Metric, lookup

_IDENT = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\(([^()]*)\)")
_OFFSET = re.compile(r"\boffset\s+-?[0-9a-z]+")
_NUMBER = re.compile(r"(?<![A-Za-z0-9_:])[0-9.]+(?:e[+-]?[0-9]+)?")
_KEYWORDS = """
by without on ignoring group_left group_right bool and or unless offset
sum min max avg group stddev stdvar count count_values bottomk topk quantile inf nan Inf NaN
"""
KEYWORDS = frozenset(_KEYWORDS.split())
"""Words in PromQL that are not metric names (aggregations, set operators, modifiers)."""
RATE_FUNCTIONS = frozenset({"rate", "irate", "increase"})
VARIABLE = re.compile(r"\$(?:\{(\w+)(?::\w+)?\}|(\w+))")


@dataclass(frozen=True, slots=True)
class PanelQuery:
    """One target of one panel of one dashboard."""

    dashboard: str
    panel: str
    panel_type: str
    ref: str
    expr: str
    legend: str
    instant: bool


def panels(dashboard: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, rows' nested panels included."""
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def panel_queries(uid: str, dashboard: Mapping[str, Any]) -> Iterator[PanelQuery]:
    for panel in panels(dashboard):
        for target in panel.get("targets", []):
            yield PanelQuery(
                uid,
                panel["title"],
                panel["type"],
                target["refId"],
                target["expr"],
                target.get("legendFormat", ""),
                bool(target.get("instant")),
            )


def variable_queries(dashboard: Mapping[str, Any]) -> dict[str, str]:
    """Query variables by name -> their PromQL selector (the part label_values looks at)."""
    out = {}
    for variable in dashboard.get("templating", {}).get("list", []):
        if variable["type"] == "query":
            m = re.fullmatch(r"label_values\((.*),\s*(\w+)\)", variable["query"].strip(), re.S)
            out[variable["name"]] = m.group(1) if m else variable["query"]
    return out


def expand(expr: str, values: Mapping[str, str]) -> str:
    """Replace `$name` and `${name}` by `values[name]`; KeyError names an unknown variable."""

    def sub(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(2)
        if name not in values:
            raise KeyError(f"no value for variable ${name} in {expr!r}")
        return values[name]

    return VARIABLE.sub(sub, expr)


def _mask(expr: str) -> str:
    """The expression with strings, label matchers, ranges, grouping lists and offsets blanked
    out (same length, so positions still point into the original)."""

    def blank(m: re.Match[str]) -> str:
        return " " * len(m.group(0))

    text = _STRING.sub(blank, expr)
    text = re.sub(r"\{[^{}]*\}", blank, text)
    text = re.sub(r"\[[^\[\]]*\]", blank, text)
    text = _GROUPING.sub(lambda m: m.group(1) + " " * (len(m.group(0)) - len(m.group(1))), text)
    text = _OFFSET.sub(blank, text)
    return _NUMBER.sub(blank, text)


def metric_names(expr: str) -> list[tuple[str, int]]:
    """(name, position) of every identifier in `expr` that is a series name, not a function,
    keyword or label."""
    masked = _mask(expr)
    out = []
    for m in _IDENT.finditer(masked):
        rest = masked[m.end() :].lstrip()
        if m.group(0) in KEYWORDS or rest.startswith("("):
            continue
        out.append((m.group(0), m.start()))
    return out


def _enclosing_function(masked: str, pos: int) -> str:
    """The name of the innermost function call whose parentheses contain `pos`, or ''."""
    depth = 0
    for i in range(pos - 1, -1, -1):
        ch = masked[i]
        if ch == ")":
            depth += 1
        elif ch == "(":
            if depth == 0:
                m = re.search(r"([A-Za-z_]\w*)\s*$", masked[:i])
                return m.group(1) if m else ""
            depth -= 1
    return ""


def is_counter_sample(name: str, metric: Metric) -> bool:
    """Counters, a summary's `_sum` / `_count` and a histogram's samples only make sense inside
    rate()/increase()."""
    return metric.type == "counter" or (
        metric.type in ("summary", "histogram") and name.endswith(("_sum", "_count", "_bucket"))
    )


def bare_counters(expr: str) -> list[str]:
    """Counter samples used anywhere but directly inside rate(), irate() or increase()."""
    masked = _mask(expr)
    bad = []
    for name, pos in metric_names(expr):
        metric = lookup(name)
        in_rate = _enclosing_function(masked, pos) in RATE_FUNCTIONS
        if metric and is_counter_sample(name, metric) and not in_rate:
            bad.append(name)
    return bad
