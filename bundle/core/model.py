"""What one generated alert is: name, PromQL, timing, severity and texts, plus where it came from.

Kept apart from the builders so the rule modules, the promtool case generator, the docs and the
lint all share one definition.
"""

from __future__ import annotations

from dataclasses import dataclass

from bundle.core.knobs import Severity


@dataclass(frozen=True, slots=True)
class Alert:
    """One alerting rule before it becomes YAML."""

    name: str
    expr: str
    for_: str
    keep_firing_for: str
    severity: Severity
    summary: str
    """Static text (no template): what is wrong, with the threshold."""
    description: str
    """Go template with `$labels` / `$value`: which group, topic or broker, and how bad."""
    section: str
    """The `BundleConfig` section holding this alert's knobs (for docs and overrides)."""
    source: str
    """Where the data comes from, for the docs: Admin API, broker JMX, client JMX, exporter."""


@dataclass(frozen=True, slots=True)
class Group:
    """A named rule group; Prometheus evaluates a group's rules in order, groups in parallel."""

    name: str
    alerts: tuple[Alert, ...]
