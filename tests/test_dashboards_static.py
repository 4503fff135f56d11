"""Dashboards without a live stack: generated files match the code (drift), every panel and query
passes the lint (titles, descriptions, units, catalog names, counters inside rate/increase,
datasource variable, current panel types), every query parses (promtool), and thresholds flow
from `bundle.config` into the panels."""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from bundle.config import DEFAULT, BundleConfig, ConsumerLag
from bundle.core.promql import bare_counters, metric_names
from bundle.dashboards.common import DATASOURCE, PROMETHEUS_OWN, SCHEMA_VERSION
from bundle.dashboards.output import CONFIGMAP_PATH, JSON_DIR, build_all, render
from bundle.dashboards.queries import expand, panel_queries, panels, variable_queries
from bundle.lint import window_problems
from bundle.rules import build as build_rules
from exporter.catalog import lookup

ROOT = Path(__file__).resolve().parent.parent
CURRENT_TYPES = {"timeseries", "stat", "table", "bargauge", "state-timeline", "heatmap", "row"}
UIDS = {
    "kafka-vitals-overview",
    "kafka-vitals-consumer-groups",
    "kafka-vitals-brokers",
    "kafka-vitals-exporter",
    "kafka-vitals-schema-registry",
}
ALL_VALUES = {
    "job": "kafka-vitals",
    "cluster": ".*",
    "consumergroup": ".*",
    "topic": ".*",
    "broker": ".*",
    "__rate_interval": "1m",
    "datasource": "prom",
}


@pytest.fixture(scope="module")
def dashboards() -> dict[str, dict[str, Any]]:
    return build_all()


def _content_panels(d: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in panels(d) if p["type"] != "row"]


def test_regenerating_changes_nothing(tmp_path: Path) -> None:
    written = render(tmp_path, DEFAULT)
    assert len(written) == len(UIDS) + 1
    for path in written:
        committed = ROOT / path.relative_to(tmp_path)
        assert committed.exists(), f"{committed.relative_to(ROOT)} missing: run `make render`"
        assert committed.read_text() == path.read_text(), (
            f"{committed.relative_to(ROOT)} differs from the code: run `make render` and commit"
        )


def test_output_is_deterministic() -> None:
    assert json.dumps(build_all(), sort_keys=True) == json.dumps(build_all(), sort_keys=True)


def test_stable_uids_and_panel_ids(dashboards: dict[str, dict[str, Any]]) -> None:
    assert set(dashboards) == UIDS
    for uid, d in dashboards.items():
        assert d["uid"] == uid and len(uid) <= 40
        ids = [p["id"] for p in panels(d)]
        assert len(ids) == len(set(ids)), uid
        assert d["schemaVersion"] == SCHEMA_VERSION == 38


def test_every_panel_has_title_description_unit_and_current_type(
    dashboards: dict[str, dict[str, Any]],
) -> None:
    for uid, d in dashboards.items():
        for p in panels(d):
            assert p["type"] in CURRENT_TYPES, f"{uid}: {p['title']} is a {p['type']} panel"
            assert p["title"].strip(), f"{uid}: panel {p['id']} has no title"
        titles = [p["title"] for p in _content_panels(d)]
        assert len(titles) == len(set(titles)), f"{uid}: panel titles repeat"
        for p in _content_panels(d):
            where = f"{uid}: {p['title']}"
            assert len(p.get("description") or "") > 20, f"{where} has no description"
            assert p["fieldConfig"]["defaults"].get("unit"), f"{where} has no unit"
            assert p["targets"], f"{where} has no query"


def test_every_panel_and_target_uses_the_datasource_variable(
    dashboards: dict[str, dict[str, Any]],
) -> None:
    for uid, d in dashboards.items():
        variables = {v["name"]: v for v in d["templating"]["list"]}
        assert variables["datasource"]["type"] == "datasource"
        assert variables["datasource"]["query"] == "prometheus"
        assert variables["job"]["type"] == "query"
        assert variables["job"]["datasource"] == DATASOURCE
        for p in _content_panels(d):
            assert p["datasource"] == DATASOURCE, f"{uid}: {p['title']}"
            for t in p["targets"]:
                assert t["datasource"] == DATASOURCE, f"{uid}: {p['title']} {t['refId']}"
    groups = {v["name"] for v in dashboards["kafka-vitals-consumer-groups"]["templating"]["list"]}
    assert {"consumergroup", "topic", "cluster"} <= groups


def test_queries_use_only_catalog_names_and_counters_only_inside_rate(
    dashboards: dict[str, dict[str, Any]],
) -> None:
    checked = 0
    for uid, d in dashboards.items():
        exprs = [(q.panel, q.expr) for q in panel_queries(uid, d)]
        exprs += [(f"variable {k}", v) for k, v in variable_queries(d).items()]
        for where, expr in exprs:
            names = [n for n, _ in metric_names(expr)]
            assert names, f"{uid}: {where}: no metric in {expr!r}"
            for name in names:
                assert lookup(name) or name in PROMETHEUS_OWN, (
                    f"{uid}: {where}: {name} is not in the catalog"
                )
            assert not bare_counters(expr), f"{uid}: {where}: counter outside rate(): {expr}"
            # windows of at least 4 poll intervals of the bundle config, no irate()
            exempt = frozenset(PROMETHEUS_OWN)
            assert not window_problems(expr, DEFAULT.common.poll_interval, exempt), (
                uid,
                where,
                window_problems(expr, DEFAULT.common.poll_interval, exempt),
            )
            checked += 1
    assert checked > 100


def test_lint_functions_catch_mistakes() -> None:
    assert [n for n, _ in metric_names('sum by (topic) (rate(a_total{x="b c"}[5m])) / b')] == [
        "a_total",
        "b",
    ]
    assert bare_counters("sum(kafka_vitals_poll_errors_total)") == [
        "kafka_vitals_poll_errors_total"
    ]
    assert bare_counters("max(rate(kafka_vitals_poll_errors_total[1m]))") == []
    assert bare_counters("rate(kafka_network_requestmetrics_totaltimems_count[1m])") == []
    assert bare_counters("kafka_network_requestmetrics_totaltimems_count") != []
    assert expand('x{job=~"$job"}[${__rate_interval}]', ALL_VALUES) == 'x{job=~"kafka-vitals"}[1m]'


def test_every_query_parses(dashboards: dict[str, dict[str, Any]], tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail(
            "promtool is missing: install the Debian package `prometheus` "
            "(scripts/install-system-deps.sh)",
            pytrace=False,
        )
    exprs = []
    for uid, d in dashboards.items():
        exprs += [q.expr for q in panel_queries(uid, d)] + list(variable_queries(d).values())
    rules = [{"record": f"check:{i}", "expr": expand(e, ALL_VALUES)} for i, e in enumerate(exprs)]
    path = tmp_path / "queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    out = subprocess.run(
        [promtool, "check", "rules", str(path)], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stdout + out.stderr


def _steps(d: dict[str, Any], title: str) -> list[Any]:
    panel = next(p for p in panels(d) if p["title"] == title)
    return [s["value"] for s in panel["fieldConfig"]["defaults"]["thresholds"]["steps"]]


def test_threshold_lines_are_the_alert_thresholds() -> None:
    lag = ConsumerLag(messages=1234)
    custom = dataclasses.replace(BundleConfig(), consumer_lag=lag)
    for t, value in ((DEFAULT, DEFAULT.consumer_lag.messages), (custom, 1234)):
        d = build_all(t)
        overview, groups = d["kafka-vitals-overview"], d["kafka-vitals-consumer-groups"]
        assert _steps(overview, "Consumer lag by group and topic") == [None, value]
        assert _steps(overview, "Consumer lag (worst)") == [None, value]
        assert _steps(groups, "Lag by group and topic") == [None, value]
        rule = build_rules(t).alert("KafkaConsumerGroupLagHigh")
        assert rule.expr.rstrip().endswith(f"> {int(value)}")
    lines = 0
    for uid, d in build_all().items():
        for p in _content_panels(d):
            custom_cfg = p["fieldConfig"]["defaults"].get("custom", {})
            if custom_cfg.get("thresholdsStyle", {}).get("mode", "off") != "off":
                lines += 1
                assert any("Runbook" in link["title"] for link in p["links"]), (uid, p["title"])
    assert lines >= 12


def test_runbook_links_point_at_shipped_runbooks(dashboards: dict[str, dict[str, Any]]) -> None:
    base = DEFAULT.common.runbook_url_base.rstrip("/")
    names = {a.name for a in build_rules(DEFAULT).alerts}
    linked = set()
    for d in dashboards.values():
        for p in panels(d):
            for link in p.get("links", []):
                assert link["url"].startswith(base + "/") and link["url"].endswith(".md")
                linked.add(link["url"][len(base) + 1 : -3])
    assert linked and linked <= names
    missing = sorted(n for n in linked if not (ROOT / "docs" / "runbooks" / f"{n}.md").exists())
    assert not missing, f"panels link to runbooks that are not shipped: {missing}"


def test_configmap_carries_every_dashboard(dashboards: dict[str, dict[str, Any]]) -> None:
    docs = list(yaml.safe_load_all((ROOT / CONFIGMAP_PATH).read_text()))
    assert {d["metadata"]["name"] for d in docs} == UIDS
    for doc in docs:
        assert doc["kind"] == "ConfigMap"
        assert doc["metadata"]["labels"]["grafana_dashboard"] == "1"
        ((name, text),) = doc["data"].items()
        assert name == doc["metadata"]["name"] + ".json"
        assert json.loads(text) == dashboards[doc["metadata"]["name"]]
        assert text == (ROOT / JSON_DIR / name).read_text()
        assert len(text) < 200_000  # client-side kubectl apply keeps a copy in a 256 KiB annotation


def test_render_command_carries_overrides_into_dashboards(tmp_path: Path) -> None:
    overrides = tmp_path / "overrides.yaml"
    overrides.write_text(
        "consumer_lag:\n  messages: 4321\n"
        "common:\n"
        '  selector: \'job="kv-prod", env="prod"\'\n'
        "  cluster_label: ''\n"
        "  runbook_url_base: https://wiki.example.com/runbooks\n"
    )
    exe = ROOT / ".venv" / "bin" / "kafka-vitals"
    out = subprocess.run(
        [str(exe), "render", "--overrides", str(overrides), "--out", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    d = json.loads((tmp_path / "out" / JSON_DIR / "kafka-vitals-overview.json").read_text())
    assert _steps(d, "Consumer lag by group and topic") == [None, 4321]
    variables = {v["name"]: v for v in d["templating"]["list"]}
    assert "cluster" not in variables
    assert variables["job"]["current"]["value"] == "kv-prod"
    assert variables["job"]["query"] == 'label_values(kafka_vitals_up{job="kv-prod"}, job)'
    for q in panel_queries("kafka-vitals-overview", d):
        if not q.expr.startswith(("count(ALERTS", "ALERTS")):
            assert 'env="prod"' in q.expr and "$cluster" not in q.expr, q.expr
    links = [link["url"] for p in panels(d) for link in p.get("links", [])]
    assert links and all(u.startswith("https://wiki.example.com/runbooks/") for u in links)
    configmap = (tmp_path / "out" / CONFIGMAP_PATH).read_text()
    assert "4321" in configmap
