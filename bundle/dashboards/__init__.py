"""Grafana dashboards for kafka-vitals, assembled from the themes' panels with grafanalib, drawing
the alert thresholds, so a threshold line on a panel is the alert's own threshold.

    from bundle.dashboards.output import build_all, render
    render(Path("."), thresholds)     # writes dashboards/*.json and the sidecar ConfigMap

`kafka-vitals render --overrides FILE --out DIR` calls `render` with the overridden thresholds.
The package imports nothing itself: the themes' panels import `bundle.dashboards.common` and
`bundle.dashboards.panels`, below the assembly.
"""
