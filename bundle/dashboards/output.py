"""Dashboard JSON files and the Grafana sidecar ConfigMap, rendered from one `BundleConfig` object.

grafanalib builds the dashboards; `finish` brings the few fields grafanalib 0.7.1 still writes in an
older layout up to the schema version we declare, and `dumps` writes sorted keys, so the same
thresholds always give byte-identical files (a test regenerates and compares).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml
from grafanalib import core as g
from grafanalib._gen import DashboardEncoder

from bundle.config import DEFAULT, BundleConfig
from bundle.core.promql import parse_selector
from bundle.dashboards import brokers, consumer_groups, exporter_health, overview, schema_registry
from bundle.dashboards.common import Scope
from bundle.rules import build as build_rules

log = logging.getLogger(__name__)

BUILDERS: dict[str, Callable[[Scope], g.Dashboard]] = {
    overview.UID: overview.build,
    consumer_groups.UID: consumer_groups.build,
    brokers.UID: brokers.build,
    exporter_health.UID: exporter_health.build,
    schema_registry.UID: schema_registry.build,
}
"""Every dashboard by uid; the uid is also the file name (`<uid>.json`)."""

JSON_DIR = Path("dashboards")
CONFIGMAP_PATH = Path("deploy/grafana/kafka-vitals-dashboards.yaml")
SIDECAR_LABEL = {"grafana_dashboard": "1"}
"""The label the Grafana helm chart's dashboard sidecar looks for (its default)."""
FOLDER = "Kafka"


_LEGACY_TARGET_KEYS = ("metric", "query", "step", "target")
"""Target fields of graphite-era Grafana that grafanalib still writes; Prometheus targets ignore
them, so they are dropped to keep the files honest."""


def scope(config: BundleConfig) -> Scope:
    """Turn the alert selector into dashboard matchers: `job` comes from `$job`, the rest stays."""
    common = config.common
    matchers = ['job=~"$job"']
    job_default, job_filter = "", ""
    for label, op, value in parse_selector(common.selector):
        if label == "job":
            job_filter = f'job{op}"{value}"'
            job_default = value if op == "=" else ""
        else:
            matchers.append(f'{label}{op}"{value}"')
    if common.cluster_label:
        matchers.append(f'{common.cluster_label}=~"$cluster"')
    severities = {a.name: a.severity for a in build_rules(config).alerts}
    return Scope(config, tuple(matchers), job_default, job_filter, common.cluster_label, severities)


def finish(data: dict[str, Any]) -> dict[str, Any]:
    """Bring grafanalib 0.7.1's output up to the schema version we declare."""
    for panel in data.get("panels", []):
        if panel.get("type") == "table":
            custom = panel["fieldConfig"]["defaults"]["custom"]
            custom["cellOptions"] = {"type": custom.pop("displayMode", "auto")}
        if panel.get("type") == "timeseries":
            panel["maxDataPoints"] = None  # let Grafana pick one point per pixel
        for target in panel.get("targets", []):
            for key in _LEGACY_TARGET_KEYS:
                target.pop(key, None)
    for variable in data.get("templating", {}).get("list", []):
        if variable["current"].get("value") == "$__all":
            variable["current"] = {"selected": True, "text": ["All"], "value": ["$__all"]}
    data.pop("rows", None)
    return data


def build_all(config: BundleConfig = DEFAULT) -> dict[str, dict[str, Any]]:
    """Every dashboard as the JSON Grafana imports, by uid."""
    sc = scope(config)
    out: dict[str, dict[str, Any]] = {}
    for uid, build in BUILDERS.items():
        raw = json.loads(json.dumps(build(sc).to_json_data(), cls=DashboardEncoder))
        out[uid] = finish(raw)
    return out


def dumps(dashboard: Mapping[str, Any]) -> str:
    return json.dumps(dashboard, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


class _BlockDumper(yaml.SafeDumper):
    """Writes multi-line strings (the dashboard JSON) as literal blocks, so diffs stay readable."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_BlockDumper.add_representer(str, _str)


def configmaps(dashboards: Mapping[str, Mapping[str, Any]], namespace: str = "") -> str:
    """One ConfigMap per dashboard (each stays far below kubectl's 256 KiB annotation limit)."""
    docs = []
    for uid, data in sorted(dashboards.items()):
        meta: dict[str, Any] = {
            "name": uid,
            "labels": {**SIDECAR_LABEL, "app.kubernetes.io/name": "kafka-vitals"},
            "annotations": {"grafana_folder": FOLDER},
        }
        if namespace:
            meta["namespace"] = namespace
        docs.append(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": meta,
                "data": {f"{uid}.json": dumps(data)},
            }
        )
    header = "# Generated by `kafka-vitals render`; do not edit. Grafana dashboard sidecar input.\n"
    body = yaml.dump_all(
        docs,
        Dumper=_BlockDumper,
        sort_keys=True,
        allow_unicode=True,
        width=100,
        explicit_start=True,
    )
    return header + body


def render(out_dir: Path, config: BundleConfig = DEFAULT) -> list[Path]:
    """Write `dashboards/<uid>.json` and the ConfigMap under `out_dir`; return the paths."""
    dashboards = build_all(config)
    written: list[Path] = []
    for uid, data in dashboards.items():
        written.append(_write(out_dir / JSON_DIR / f"{uid}.json", dumps(data)))
    namespace = config.output.crd_namespace
    written.append(_write(out_dir / CONFIGMAP_PATH, configmaps(dashboards, namespace)))
    log.info("dashboards rendered count=%d out=%s", len(dashboards), out_dir)
    return written


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
