"""Grafana dashboards for kafka-vitals, generated with grafanalib from the metric catalog and the
alert thresholds, so a threshold line on a panel is the alert's own threshold.

    from dashboards import build_all, render
    render(Path("."), thresholds)     # writes dashboards/*.json and the sidecar ConfigMap

`kafka-vitals render --overrides FILE --out DIR` calls `render` with the overridden thresholds.
"""

from __future__ import annotations

from dashboards.output import BUILDERS, CONFIGMAP_PATH, JSON_DIR, build_all, dumps, render

__all__ = ["BUILDERS", "CONFIGMAP_PATH", "JSON_DIR", "build_all", "dumps", "render"]
