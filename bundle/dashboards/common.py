"""What every dashboard's queries and thresholds are built from: the scope, variables and bars.

Queries never spell a metric name: they pass the catalog's `Metric` to `Scope.sel` / `Scope.rate`,
which scope it with the dashboard variables (`$job`, `$cluster`) and refuse labels the family does
not have. Threshold colours and lines come from `bundle.config` through `Scope.bar`, so a line
on a panel is the alert's own threshold; runbook links go to the alert's shipped runbook.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from grafanalib import core as g

from bundle.config import BundleConfig, Severity, seconds
from bundle.core.promql import num, parse_selector
from bundle.core.settings import RATE_WINDOW_POLLS
from exporter.catalog import Metric, own

DATASOURCE: dict[str, str] = {"type": "prometheus", "uid": "${datasource}"}
"""Every panel and target points at the datasource variable, never at a fixed datasource."""
SEVERITY_COLOR: dict[Severity, str] = {"critical": "red", "warning": "orange", "info": "blue"}
PROMETHEUS_OWN = ("ALERTS", "up", "scrape_duration_seconds", "scrape_samples_scraped")
"""Series Prometheus writes itself; the only names a query may use that the catalog lacks."""

SCHEMA_VERSION = 38
"""Written by Grafana 10.0; Grafana 10, 11 and 12 load it and migrate it forward (see docs)."""


@dataclass(frozen=True, slots=True)
class Scope:
    """The label matchers every query starts with, and the variables that set them."""

    config: BundleConfig
    """The bundle configuration the panels draw their thresholds and links from."""
    matchers: tuple[str, ...]
    job_default: str
    job_filter: str
    cluster_label: str
    severities: Mapping[str, Severity]
    """Severity of every alert the bundle ships, by name."""

    def sel(self, metric: Metric, *extra: str, sample: str = "") -> str:
        """`name{job=~"$job",...,extra}`; ValueError on a label the family lacks."""
        more = {"summary": ["quantile"], "histogram": ["le"]}.get(metric.type, [])
        allowed = {*metric.labels, *more}
        for label, _op, _value in parse_selector(", ".join(extra)):
            if label not in allowed:
                raise ValueError(f"{metric.name} has no label {label!r}")
        samples = {"summary": ("_sum", "_count"), "histogram": ("_bucket", "_sum", "_count")}
        if sample and sample not in samples.get(metric.type, ()):
            raise ValueError(f"{metric.name} has no {sample} sample")
        if metric.type == "histogram" and not sample:
            raise ValueError(f"{metric.name} is a histogram: name its _bucket, _sum or _count")
        return f"{metric.name}{sample}{{{', '.join((*self.matchers, *extra))}}}"

    def rate(
        self, metric: Metric, *extra: str, window: str = "", offset: str = "", sample: str = ""
    ) -> str:
        """`rate(counter{...}[window] offset X)` (window: `rate_window` unless given);
        ValueError for a gauge."""
        self._counter(metric, sample)
        window = window or self.rate_window
        shift = f" offset {offset}" if offset else ""
        return f"rate({self.sel(metric, *extra, sample=sample)}[{window}]{shift})"

    @property
    def rate_window(self) -> str:
        """The rate window of every panel: RATE_WINDOW_POLLS poll intervals plus one scrape
        interval (2m30s at the defaults), so the samples in it span exactly 4 polls whatever the
        scrape interval. Not Grafana's `$__rate_interval`, which counts scrape intervals, while
        kafka-vitals' data moves once per poll."""
        common = self.config.common
        return duration(
            RATE_WINDOW_POLLS * seconds(common.poll_interval) + seconds(common.scrape_interval)
        )

    def offset_rate(self, metric: Metric, *extra: str, window: str = "") -> str:
        """`rate()` of an offset gauge: offsets only grow (a reset reads as a counter reset)."""
        window = window or self.rate_window
        if "offset" not in metric.name or metric.type != "gauge":
            raise ValueError(f"{metric.name} is not an offset gauge")
        return f"rate({self.sel(metric, *extra)}[{window}])"

    def increase(self, metric: Metric, window: str, *extra: str) -> str:
        """`increase(counter{...}[window])`; ValueError for a gauge."""
        self._counter(metric, "")
        return f"increase({self.sel(metric, *extra)}[{window}])"

    def prometheus(self, name: str) -> str:
        """A series Prometheus writes itself for each scrape target (`up`, ...), scoped."""
        if name not in PROMETHEUS_OWN:
            raise ValueError(f"{name} is not a series Prometheus writes")
        return f"{name}{{{', '.join(self.matchers)}}}"

    def alerts(self) -> str:
        """The firing Kafka alerts of the selected cluster (Prometheus's own ALERTS series)."""
        cluster = [f'{self.cluster_label}=~"$cluster"'] if self.cluster_label else []
        return (
            "ALERTS{" + ", ".join(['alertname=~"Kafka.*"', 'alertstate="firing"', *cluster]) + "}"
        )

    def by(self, *labels: str) -> str:
        """`by (cluster, labels...)`: aggregations keep the cluster apart when it is labelled."""
        return "by (" + ", ".join(x for x in (self.cluster_label, *labels) if x) + ")"

    def bar(
        self, alert: str, value: float, op: Literal[">", "<"] = ">", step: float | None = None
    ) -> Bar:
        """The threshold of a shipped alert (KeyError if the bundle has no such alert)."""
        return Bar(value, self.severities[alert], alert, op, value if step is None else step)

    def runbook(self, alert: str) -> dict[str, Any]:
        """A panel link to the runbook the alert ships with."""
        if alert not in self.severities:
            raise KeyError(alert)
        base = self.config.common.runbook_url_base.rstrip("/")
        return {"title": f"Runbook: {alert}", "url": f"{base}/{alert}.md", "targetBlank": True}

    def runbooks_if_shipped(self, *alerts: str) -> list[dict[str, Any]]:
        """Runbook links for those of `alerts` the bundle ships (for alerts still to come)."""
        return [self.runbook(a) for a in alerts if a in self.severities]

    @staticmethod
    def _counter(metric: Metric, sample: str) -> None:
        if metric.type != "counter" and not (metric.type in ("summary", "histogram") and sample):
            raise ValueError(
                f"{metric.name} is a {metric.type}: rate() and increase() need a counter"
            )


def duration(total: float) -> str:
    """Seconds as a PromQL duration: `2m`, `90s`, `1h30m`."""
    whole = round(total)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    text = "".join(f"{v}{u}" for v, u in ((hours, "h"), (minutes, "m"), (secs, "s")) if v)
    return text or "0s"


# --- variables -----------------------------------------------------------------------------------
def datasource_variable() -> g.Template:
    return g.Template(
        name="datasource", label="Data source", type="datasource", query="prometheus", default=""
    )


def query_variable(
    name: str, label: str, query: str, *, default: str = "", include_all: bool = True
) -> g.Template:
    """A Prometheus query variable; "All" matches every value, the empty one included."""
    return g.Template(
        name=name,
        label=label,
        query=query,
        dataSource=DATASOURCE,
        default=default or ("$__all" if include_all else None),
        includeAll=include_all,
        allValue=".*" if include_all else None,
        multi=include_all,
        refresh=2,
        sort=1,
    )


def base_variables(sc: Scope) -> list[g.Template]:
    """datasource, job (from the configured job selector) and cluster (when labelled)."""
    probe = own.UP
    job_sel = f"{probe.name}{{{sc.job_filter}}}" if sc.job_filter else probe.name
    out = [
        datasource_variable(),
        query_variable(
            "job",
            "Job",
            f"label_values({job_sel}, job)",
            default=sc.job_default,
            include_all=not sc.job_default,
        ),
    ]
    if sc.cluster_label:
        out.append(
            query_variable(
                "cluster",
                "Cluster",
                f'label_values({probe.name}{{job=~"$job"}}, {sc.cluster_label})',
            )
        )
    return out


# --- thresholds ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Bar:
    """An alert's threshold on a panel: breach above (`>`) or below (`<`) `value`."""

    value: float
    severity: Severity
    alert: str
    op: Literal[">", "<"] = ">"
    step: float = 0.0
    """Where the colour changes; differs from `value` for counts (`> 0` colours from 1)."""

    @property
    def color(self) -> str:
        return SEVERITY_COLOR[self.severity]

    def steps(self) -> list[dict[str, Any]]:
        if self.op == ">":
            return [{"color": "green", "value": None}, {"color": self.color, "value": self.step}]
        return [{"color": self.color, "value": None}, {"color": "green", "value": self.step}]

    def text(self) -> str:
        return f"{self.alert} fires at {self.op} {num(self.value)}"


def colors(*steps: tuple[float | None, str]) -> list[dict[str, Any]]:
    """Threshold colours for a panel with no alert behind it: (from value, colour) pairs."""
    return [{"color": c, "value": v} for v, c in steps]


GREEN = colors((None, "green"))


def for_query(
    ref: str, unit: str, steps: Sequence[Mapping[str, Any]], decimals: int | None = None
) -> dict[str, Any]:
    """Override giving the values of one query (by refId) their own unit and thresholds."""
    props: list[dict[str, Any]] = [
        {"id": "unit", "value": unit},
        {"id": "thresholds", "value": {"mode": "absolute", "steps": list(steps)}},
    ]
    if decimals is not None:
        props.append({"id": "decimals", "value": decimals})
    return {"matcher": {"id": "byFrameRefID", "options": ref}, "properties": props}


def dashed(regex: str, color: str) -> dict[str, Any]:
    """Override drawing series whose name matches `regex` as a dashed line of one colour."""
    return {
        "matcher": {"id": "byRegexp", "options": regex},
        "properties": [
            {"id": "custom.lineStyle", "value": {"dash": [10, 10], "fill": "dash"}},
            {"id": "color", "value": {"fixedColor": color, "mode": "fixed"}},
        ],
    }


# --- coded states ---------------------------------------------------------------------------------
def coded(
    sc: Scope,
    metric: Metric,
    label: str,
    codes: Mapping[str, tuple[int, str]],
    by: Sequence[str],
    *extra: str,
) -> str:
    """One series per `by` whose value codes the state that a state-as-label family (value 1)
    carries in `label`; `value_names` maps the codes back to names."""
    parts = []
    for state, (code, _color) in codes.items():
        matcher = label + '="' + state + '"'
        parts.append(f"({sc.sel(metric, matcher, *extra)} * {code})")
    return f"max {sc.by(*by)} ({' or '.join(parts)})"
