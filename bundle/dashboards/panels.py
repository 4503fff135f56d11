"""Panel factories and the grid layout: every panel a current Grafana type (timeseries, stat,
table, state-timeline), every panel and target pointing at the `${datasource}` variable, every
panel with a description and a unit. `layout` places panels on Grafana's 24-column grid and
`dashboard` wraps them with the shared variables, a stable uid and the declared schema version.
`alerts_firing` and `alerts_table` show the firing alerts of every theme at once.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import attr
from grafanalib import core as g

from bundle.dashboards.common import (
    DATASOURCE,
    GREEN,
    SCHEMA_VERSION,
    Bar,
    Scope,
    base_variables,
    colors,
)


# --- panels --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Q:
    """One query of a panel and its legend."""

    expr: str
    legend: str = ""


def _targets(queries: Sequence[Q], *, instant: bool = False, table: bool = False) -> list[Any]:
    return [
        g.Target(
            expr=q.expr,
            legendFormat=q.legend,
            refId=chr(ord("A") + i),
            datasource=DATASOURCE,
            instant=instant,
            format="table" if table else "time_series",
            intervalFactor=1,
        )
        for i, q in enumerate(queries)
    ]


def stat(
    title: str,
    description: str,
    unit: str,
    queries: Sequence[Q],
    steps: Sequence[Mapping[str, Any]] = GREEN,
    *,
    links: Sequence[Mapping[str, Any]] = (),
    mappings: Sequence[Mapping[str, Any]] = (),
    decimals: int | None = None,
    no_value: str = "no data",
    overrides: Sequence[Mapping[str, Any]] = (),
) -> g.Stat:
    """A big number coloured by thresholds, with a sparkline."""
    return g.Stat(
        title=title,
        description=description,
        format=unit,
        dataSource=DATASOURCE,
        targets=_targets(queries),
        thresholds=list(steps),
        color={"mode": "thresholds"},
        colorMode="background",
        graphMode="area",
        reduceCalc="lastNotNull",
        decimals=decimals,
        mappings=list(mappings),
        links=list(links),
        noValue=no_value,
        overrides=list(overrides),
        textMode="value_and_name" if len(queries) > 1 or "{{" in queries[0].legend else "value",
    )


def timeseries(
    title: str,
    description: str,
    unit: str,
    queries: Sequence[Q],
    bar: Bar | None = None,
    *,
    links: Sequence[Mapping[str, Any]] = (),
    overrides: Sequence[Mapping[str, Any]] = (),
    stack: bool = False,
    max_value: int | None = None,
) -> g.TimeSeries:
    """Lines over time; with a `bar`, the alert threshold is drawn as a line in its colour."""
    return g.TimeSeries(
        title=title,
        description=description + (f" {bar.text()}." if bar else ""),
        unit=unit,
        dataSource=DATASOURCE,
        targets=_targets(queries),
        thresholds=bar.steps() if bar else list(GREEN),
        thresholdsStyleMode="line" if bar else "off",
        links=list(links),
        overrides=list(overrides),
        fillOpacity=20 if stack else 0,
        stacking={"group": "A", "mode": "normal"} if stack else {},
        lineWidth=1,
        showPoints="never",
        legendDisplayMode="table",
        legendPlacement="bottom",
        legendCalcs=["lastNotNull", "max"],
        tooltipMode="multi",
        tooltipSort="desc",
        valueMin=0,
        valueMax=max_value,
        axisSoftMax=math.ceil(bar.step) if bar else None,
    )


def table(
    title: str,
    description: str,
    unit: str,
    queries: Sequence[Q],
    *,
    rename: Mapping[str, str] | None = None,
    hide: Sequence[str] = (),
    links: Sequence[Mapping[str, Any]] = (),
    overrides: Sequence[Mapping[str, Any]] = (),
) -> g.Table:
    """Instant queries joined on their labels into one row per label set."""
    organize = {
        "excludeByName": dict.fromkeys(("Time", "__name__", "job", "instance", *hide), True),
        "renameByName": dict(rename or {}),
    }
    transformations = [{"id": "merge", "options": {}}] if len(queries) > 1 else []
    transformations.append({"id": "organize", "options": organize})
    return g.Table(
        title=title,
        description=description,
        unit=unit,
        dataSource=DATASOURCE,
        targets=_targets(queries, instant=True, table=True),
        transformations=transformations,
        links=list(links),
        overrides=list(overrides),
        filterable=True,
    )


def timeline(
    title: str,
    description: str,
    queries: Sequence[Q],
    mappings: Sequence[Mapping[str, Any]],
) -> g.StateTimeline:
    """Coloured bands of a coded state over time (value mappings turn codes into names)."""
    return g.StateTimeline(
        title=title,
        description=description,
        dataSource=DATASOURCE,
        targets=_targets(queries),
        mappings=list(mappings),
        colorMode="fixed",
        showValue="never",
        extraJson={"fieldConfig": {"defaults": {"unit": "none"}}},
    )


def value_names(codes: Mapping[str, tuple[int, str]]) -> list[dict[str, Any]]:
    """Value mappings code -> (name, colour) for a coded state."""
    options = {
        str(code): {"color": color, "index": i, "text": name}
        for i, (name, (code, color)) in enumerate(codes.items())
    }
    return [{"options": options, "type": "value"}]


# --- the bundle's own alerts ---------------------------------------------------------------------
def alerts_firing(sc: Scope) -> g.Panel:
    """How many alerts of the bundle fire now, for the overview's health row."""
    return stat(
        "Alerts firing",
        "Alerts of this bundle firing now (Prometheus ALERTS). See the table below for "
        "which, with links to their runbooks.",
        "short",
        [Q(f"count({sc.alerts()}) or vector(0)")],
        colors((None, "green"), (1, "red")),
    )


def alerts_table(sc: Scope) -> g.Panel:
    """Every alert of the bundle firing now, each linked to its runbook."""
    base = sc.config.common.runbook_url_base.rstrip("/")
    link = {
        "matcher": {"id": "byName", "options": "alertname"},
        "properties": [
            {
                "id": "links",
                "value": [
                    {"targetBlank": True, "title": "Runbook", "url": base + "/${__value.raw}.md"}
                ],
            }
        ],
    }
    return table(
        "Firing Kafka alerts",
        "Every alert of the kafka-vitals bundle firing now (Prometheus ALERTS series, "
        'alertstate="firing"). Click an alert name for its runbook.',
        "short",
        [Q(sc.alerts())],
        hide=["alertstate", "Value"],
        overrides=[link],
    )


# --- layout --------------------------------------------------------------------------------------
Placed = tuple[g.Panel, int]
Row = str | tuple[int, Sequence[Placed]]


def layout(rows: Sequence[Row]) -> list[g.Panel]:
    """Place panels on the 24-column grid: a str starts a titled row, (height, panels) fills one."""
    out: list[g.Panel] = []
    y = 0
    for row in rows:
        if isinstance(row, str):
            out.append(g.RowPanel(title=row, gridPos=g.GridPos(h=1, w=24, x=0, y=y)))
            y += 1
            continue
        height, placed = row
        x = 0
        for panel, width in placed:
            out.append(attr.evolve(panel, gridPos=g.GridPos(h=height, w=width, x=x, y=y)))
            x += width
        if x > 24:
            raise ValueError(f"row at y={y} is {x} columns wide, more than 24")
        y += height
    return out


def dashboard(
    uid: str,
    title: str,
    description: str,
    sc: Scope,
    rows: Sequence[Row],
    extra_variables: Sequence[g.Template] = (),
) -> g.Dashboard:
    """A dashboard with the shared variables, stable uid and ids, and links to its siblings."""
    return g.Dashboard(
        title=title,
        uid=uid,
        description=description,
        tags=["kafka", "kafka-vitals"],
        panels=layout(rows),
        templating=g.Templating(list=[*base_variables(sc), *extra_variables]),
        links=[
            {
                "asDropdown": True,
                "includeVars": True,
                "keepTime": True,
                "tags": ["kafka-vitals"],
                "title": "kafka-vitals",
                "type": "dashboards",
            }
        ],
        time=g.Time("now-1h", "now"),
        refresh="30s",
        timezone="browser",
        graphTooltip=1,
        editable=False,
        schemaVersion=SCHEMA_VERSION,
    ).auto_panel_ids()
