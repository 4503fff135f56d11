"""The alert rule model and the assembly of every rule group from a `BundleConfig` object.

Each signal theme's rules live in its own module (`bundle.<theme>.rules`) and contribute one or
more `Group`s through a builder listed in `BUILDERS`; adding a theme of alerts means adding its
module and one line here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bundle.broker import rules as rules_broker
from bundle.cluster import rules as rules_cluster
from bundle.config import BundleConfig
from bundle.consumers import rules as rules_consumers
from bundle.core.model import Alert, Group
from bundle.exporter import rules as rules_exporter
from bundle.lessons import rules as rules_lessons
from bundle.probe import rules as rules_probe
from bundle.registry import rules as rules_registry
from bundle.throughput import rules as rules_throughput

Builder = Callable[[BundleConfig], tuple[Group, ...]]

BUILDERS: tuple[Builder, ...] = (
    rules_consumers.groups,
    rules_cluster.groups,
    rules_throughput.groups,
    rules_broker.groups,
    rules_exporter.groups,
    rules_lessons.groups,
    rules_registry.groups,
    rules_probe.groups,
)


@dataclass(frozen=True, slots=True)
class Bundle:
    """Every rule group of the bundle, in a stable order."""

    groups: tuple[Group, ...]

    @property
    def alerts(self) -> tuple[Alert, ...]:
        return tuple(a for g in self.groups for a in g.alerts)

    def alert(self, name: str) -> Alert:
        for a in self.alerts:
            if a.name == name:
                return a
        raise KeyError(name)


def build(t: BundleConfig) -> Bundle:
    """All rule groups for the given thresholds."""
    return Bundle(tuple(g for builder in BUILDERS for g in builder(t)))


def alert_dict(a: Alert, t: BundleConfig) -> dict[str, Any]:
    """One alerting rule as Prometheus reads it."""
    base = t.common.runbook_url_base.rstrip("/")
    rule: dict[str, Any] = {
        "alert": a.name,
        "expr": a.expr,
        "labels": {**dict(t.common.extra_labels), "severity": a.severity},
        "annotations": {
            "summary": a.summary,
            "description": a.description,
            "runbook_url": f"{base}/{a.name}.md",
        },
    }
    if a.for_ not in ("", "0s"):
        rule["for"] = a.for_
    if a.keep_firing_for not in ("", "0s"):
        rule["keep_firing_for"] = a.keep_firing_for
    return rule


def rules_document(t: BundleConfig) -> dict[str, Any]:
    """The whole rule file (`groups: [...]`) as a plain structure."""
    prefix = t.common.rule_group_prefix
    return {
        "groups": [
            {
                "name": f"{prefix}.{g.name}" if prefix else g.name,
                "rules": [alert_dict(a, t) for a in g.alerts],
            }
            for g in build(t).groups
        ]
    }
