"""Reading generated dashboards back: their panels and queries, and the variables expanded.

Used by the lint and live tests and by the plot script, so all three look at exactly the queries
Grafana will run. The queries' metric names and counters are found by the bundle's one PromQL
scanner (`bundle.core.promql`: `metric_names`, `bare_counters`), as the rules' are.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

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
