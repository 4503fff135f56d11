"""A lint of the generated rules, in the spirit of mixtool: names, severities, annotations,
runbooks, group sizes, `for` lengths, and PromQL that only uses catalog families, with counters
only inside rate()/increase(), and every window over kafka-vitals' series at least 4 poll
intervals (`common.poll_interval`), with no irate() on them (their data moves once per poll).

PromQL is scanned, not parsed, by the bundle's one scanner (`bundle.core.promql`: `scrub`,
`metric_names`, `enclosing_function`), the same that checks the dashboards' queries.
"""

from __future__ import annotations

import re
from dataclasses import fields, is_dataclass
from pathlib import Path

from bundle.config import SEVERITIES, BundleConfig, is_duration, seconds, why
from bundle.core.model import Alert
from bundle.core.promql import (
    RATE_FUNCTIONS,
    enclosing_function,
    is_counter_sample,
    metric_names,
    scrub,
)
from bundle.core.settings import RATE_WINDOW_POLLS
from bundle.exporter.rules import PROMETHEUS_UP
from bundle.rules import Bundle
from exporter.catalog import admin, lookup

RATE_ON_GAUGE = {
    admin.PARTITION_CURRENT_OFFSET.name: "the log-end offset only rises and restarts at 0 when the "
    "topic is recreated, which is a counter reset; rate() is the right function for it",
}
"""Gauges that rules may pass to rate() (besides counters), each with the reason."""

NOT_IN_CATALOG = {PROMETHEUS_UP: "Prometheus' own per-target scrape health"}
MAX_GROUP_SIZE = 12
SHORT_FOR_MARKER = "under 1m:"
"""A `for` under one minute is allowed only if its reason in the thresholds starts with this."""

_NAME = re.compile(r"^Kafka[A-Z][A-Za-z0-9]+$")


WINDOWED = frozenset({"rate", "increase", "delta", "deriv", "irate", "idelta"})
"""Functions over a range whose result depends on the window against the poll interval."""
LAST_TWO_SAMPLES = frozenset({"irate", "idelta"})
"""Read only the last two samples: between two scrapes inside one poll nothing moves."""


def window_problems(
    expr: str, poll_interval: str, exempt: frozenset[str] = frozenset()
) -> list[str]:
    """Windows too short for data that changes once per `poll_interval`: every rate(),
    increase(), delta() and deriv() needs at least RATE_WINDOW_POLLS polls; irate() and idelta()
    are refused. Ranges over names in `exempt` (Prometheus' own series) are not checked."""
    text = scrub(expr)
    least = RATE_WINDOW_POLLS * seconds(poll_interval)
    problems = []
    for m in re.finditer(r"\b([a-z_]+)\s*\(", text):
        func = m.group(1)
        if func not in WINDOWED:
            continue
        depth, end = 0, len(text)
        for i in range(m.end() - 1, len(text)):
            depth += {"(": 1, ")": -1}.get(text[i], 0)
            if depth == 0:
                end = i
                break
        inner = expr[m.end() : end]
        names = {name for name, _ in metric_names(inner)}
        if names and names <= exempt:
            continue
        if func in LAST_TWO_SAMPLES:
            problems.append(
                f"{func}() over polled data: use rate() over >= {RATE_WINDOW_POLLS} polls"
            )
            continue
        window = re.search(r"\[([^\]:]*)(?::[^\]]*)?\]", inner)
        if window is None:
            continue
        text_window = window.group(1).strip()
        if not is_duration(text_window) or seconds(text_window) < least:
            problems.append(
                f"{func}() window [{text_window}] is shorter than {RATE_WINDOW_POLLS} poll "
                f"intervals ({RATE_WINDOW_POLLS} x {poll_interval})"
            )
    return problems


def expression_problems(a: Alert, poll_interval: str = "30s") -> list[str]:
    problems = []
    for name, pos in metric_names(a.expr):
        metric = lookup(name)
        if metric is None and name not in NOT_IN_CATALOG:
            problems.append(f"{a.name}: {name} is not in the metric catalog")
            continue
        func = enclosing_function(a.expr, pos)
        is_counter = metric is not None and is_counter_sample(name, metric)
        if is_counter and func not in RATE_FUNCTIONS:
            problems.append(f"{a.name}: counter {name} used outside rate()/increase()")
        if func in RATE_FUNCTIONS and not is_counter and name not in RATE_ON_GAUGE:
            problems.append(f"{a.name}: {func}() on {name}, which is not a counter")
    exempt = frozenset(NOT_IN_CATALOG)
    problems += [f"{a.name}: {p}" for p in window_problems(a.expr, poll_interval, exempt)]
    return problems


def alert_problems(a: Alert, t: BundleConfig, root: Path) -> list[str]:
    problems = expression_problems(a, t.common.poll_interval)
    if not _NAME.match(a.name):
        problems.append(f"{a.name}: name must be CamelCase starting with Kafka")
    if a.severity not in SEVERITIES:
        problems.append(f"{a.name}: severity {a.severity!r} not in {SEVERITIES}")
    if not a.summary or "{{" in a.summary:
        problems.append(f"{a.name}: summary must be static text")
    if "{{" not in a.description:
        problems.append(f"{a.name}: description must be templated")
    if not (root / "docs" / "runbooks" / f"{a.name}.md").is_file():
        problems.append(f"{a.name}: no runbook docs/runbooks/{a.name}.md")
    for label, duration in (("for", a.for_), ("keep_firing_for", a.keep_firing_for)):
        if not is_duration(duration):
            problems.append(f"{a.name}: {label} {duration!r} is not a duration")
    if is_duration(a.for_) and seconds(a.for_) < 60:
        section = getattr(t, a.section, None)
        reason = why(section, "for_") if section is not None else ""
        if not reason.startswith(SHORT_FOR_MARKER):
            problems.append(f"{a.name}: for {a.for_} under 1m without a justification")
    if not hasattr(t, a.section):
        problems.append(f"{a.name}: section {a.section!r} is not in the thresholds")
    return problems


def bundle_problems(bundle: Bundle, t: BundleConfig, root: Path) -> list[str]:
    """Every lint problem of the bundle; empty means clean."""
    problems: list[str] = []
    names = [a.name for a in bundle.alerts]
    problems += [
        f"{n}: duplicate alert name" for n in sorted({n for n in names if names.count(n) > 1})
    ]
    groups = [g.name for g in bundle.groups]
    problems += [
        f"group {g}: duplicate group name"
        for g in sorted({g for g in groups if groups.count(g) > 1})
    ]
    for g in bundle.groups:
        if not 1 <= len(g.alerts) <= MAX_GROUP_SIZE:
            problems.append(f"group {g.name}: {len(g.alerts)} rules (1 to {MAX_GROUP_SIZE})")
    if not is_duration(t.common.poll_interval):
        problems.append(f"common.poll_interval {t.common.poll_interval!r} is not a duration")
        return problems
    for a in bundle.alerts:
        problems += alert_problems(a, t, root)
    used = {a.section for a in bundle.alerts}
    for f in fields(t):
        section = getattr(t, f.name)
        if not is_dataclass(section):
            continue
        if f.name not in used and f.name not in ("common", "output"):
            problems.append(f"thresholds.{f.name}: no alert uses this section")
        for sf in fields(section):
            if not why(section, sf.name).strip():
                problems.append(f"thresholds.{f.name}.{sf.name}: no reason given for the default")
    return problems
