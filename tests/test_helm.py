"""The Helm chart deploy/helm/kafka-vitals, with the real helm (built by `make setup`).

What must hold: the committed chart is what `bundle.helm` generates from the kustomize sources
(drift); `helm lint` and `helm template` pass for every layout; the rendered workload, Services,
monitor and ConfigMap equal the kustomize rendering of the same layout where they overlap (names,
labels, image, args, env, ports, probes, resources, securityContext, volumes), and the exporter
loads the rendered configuration in the layout's scope; the monitor carries the `release` label
kube-prometheus-stack selects by default (and the value changes it); the PrometheusRule and the
dashboards equal the files `kafka-vitals render` writes; the web config Secret is mounted and
named to the exporter.
"""

from __future__ import annotations

import functools
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from bundle.config import DEFAULT
from bundle.dashboards.output import CONFIGMAP_PATH
from bundle.helm import CHART_PATH, LAYOUTS, chart_files
from bundle.outputs import CRD_PATH
from exporter.configure import load_config
from harness.helm import helm_binary
from harness.procs import HarnessError
from tests.container import kustomize
from tests.test_k8s import (
    KUBE_PROMETHEUS_STACK_MONITOR_SELECTOR,
    ROOT,
    base_name,
    check_locked_down,
    container_env,
    find,
    selects,
    sidecar_of,
)

CHART = ROOT / CHART_PATH
SCOPES = {"central": "cluster", "broker": "broker", "sharded": "shard"}
Resources = list[dict[str, Any]]


def helm(*args: str) -> str:
    try:
        binary = helm_binary()
    except HarnessError as exc:
        pytest.fail(str(exc), pytrace=False)
    result = subprocess.run([str(binary), *args], capture_output=True, text=True, timeout=60,
                            check=False)  # fmt: skip
    assert result.returncode == 0, f"helm {' '.join(args)}: {result.stderr.strip()}"
    return result.stdout


def load_all(text: str) -> Resources:
    """The documents of a YAML stream (libyaml's loader when there: the dashboards are large)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return [d for d in yaml.load_all(text, Loader=loader) if d is not None]


@functools.cache
def _template(layout: str, *sets: str) -> str:
    flags = [f"--set={s}" for s in (f"layout={layout}", *sets)]
    return helm("template", "kafka-vitals", str(CHART), *flags)


def template(layout: str, *sets: str, dashboards: bool = False) -> Resources:
    """The chart rendered for `layout` (without the large dashboards unless asked)."""
    flags = (*sets, f"dashboards.enabled={str(dashboards).lower()}")
    return load_all(_template(layout, *flags))


def kustomized(layout: str) -> Resources:
    return kustomize.render(ROOT / LAYOUTS[layout]).resources


def image_sets(resources: Resources) -> tuple[str, ...]:
    """--set flags giving the chart the image the kustomize layout uses."""
    (image,) = {c["image"] for r in resources if (c := sidecar_of(r)) is not None}
    name, tag = image.rsplit(":", 1)
    return (f"image.repository={name}", f"image.tag={tag}")


def test_committed_chart_matches_a_fresh_render() -> None:
    """Drift: regenerating from the kustomize sources changes nothing (run `make render`)."""
    files = chart_files(DEFAULT)
    for rel, text in files.items():
        path = CHART / rel
        assert path.is_file() and path.read_text(encoding="utf-8") == text, (
            f"{CHART_PATH / rel} is stale: run `make render`"
        )
    committed = {p.relative_to(CHART).as_posix() for p in CHART.rglob("*") if p.is_file()}
    assert committed == set(files), f"files the generator does not write: {committed - set(files)}"
    assert chart_files(DEFAULT) == files


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_helm_lint_passes(layout: str) -> None:
    out = helm("lint", "--strict", str(CHART), f"--set=layout={layout}")
    assert "0 chart(s) failed" in out, out


def test_unknown_layout_is_refused() -> None:
    result = subprocess.run(
        [str(helm_binary()), "template", "kv", str(CHART), "--set=layout=daemonset"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert "layout must be central, broker or sharded" in result.stderr


def comparable(res: dict[str, Any]) -> dict[str, Any]:
    """A resource without what only one renderer sets: namespace, annotations, ConfigMap text
    (compared parsed)."""
    res = yaml.safe_load(yaml.safe_dump(res))
    res["metadata"].pop("namespace", None)
    res["metadata"].pop("annotations", None)
    res["metadata"]["name"] = base_name(res)
    if res["kind"] == "ConfigMap":
        res["metadata"].pop("labels", None)
        res["data"] = {k: yaml.safe_load(v) for k, v in res["data"].items()}
    template = res.get("spec", {}).get("template", {})
    template.get("metadata", {}).pop("annotations", None)
    return res


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_rendered_objects_equal_the_kustomize_ones(layout: str) -> None:
    ours = kustomized(layout)
    chart = template(layout, "prometheusRule.enabled=false", *image_sets(ours))
    keys = {(r["kind"], base_name(r)) for r in ours}
    assert {(r["kind"], base_name(r)) for r in chart} == keys, layout
    by_key = {(r["kind"], base_name(r)): comparable(r) for r in chart}
    for res in ours:
        key = (res["kind"], base_name(res))
        assert by_key[key] == comparable(res), f"{layout}: {key[0]}/{key[1]} differs"


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_rendered_workload_is_locked_down_and_loads_its_config(layout: str) -> None:
    chart = template(layout)
    (workload,) = [r for r in chart if sidecar_of(r) is not None]
    container = sidecar_of(workload)
    assert container is not None
    where = f"helm {layout} {workload['kind']}"
    check_locked_down(where, workload, container)
    volumes = workload["spec"]["template"]["spec"]["volumes"]
    name = next(v["configMap"]["name"] for v in volumes if v["name"] == "kafka-vitals-config")
    (config_map,) = find(chart, "ConfigMap", name)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "config.yaml"
        path.write_text(config_map["data"]["config.yaml"])
        config = load_config(path, env=container_env(where, container))
    assert config.scope == SCOPES[layout], where
    assert config.web.listen_address.endswith(":10308"), where
    if layout == "sharded":
        assert config.shard.count == workload["spec"]["replicas"] == 3


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_monitor_matches_kube_prometheus_stacks_default_selector(layout: str) -> None:
    (monitor,) = find(template(layout), "ServiceMonitor")
    assert selects(KUBE_PROMETHEUS_STACK_MONITOR_SELECTOR, monitor["metadata"]["labels"])
    (custom,) = find(template(layout, "monitor.release=prom"), "ServiceMonitor")
    assert custom["metadata"]["labels"]["release"] == "prom"
    (rule,) = find(template(layout, "monitor.release=prom"), "PrometheusRule")
    assert rule["metadata"]["labels"]["release"] == "prom"


def test_pod_monitor_selects_the_pods() -> None:
    chart = template("broker", "monitor.kind=PodMonitor")
    (monitor,) = find(chart, "PodMonitor")
    assert not find(chart, "ServiceMonitor")
    (workload,) = find(chart, "StatefulSet")
    assert selects(monitor["spec"]["selector"], workload["spec"]["template"]["metadata"]["labels"])
    (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
    assert endpoint["port"] == "kafka-vitals"
    assert endpoint["relabelings"] == [{"targetLabel": "job", "replacement": "kafka-vitals"}]


def test_rules_and_dashboards_equal_the_rendered_files() -> None:
    chart = template("central", dashboards=True)
    (rule,) = find(chart, "PrometheusRule")
    (crd,) = [d for d in yaml.safe_load_all((ROOT / CRD_PATH).read_text()) if d]
    assert rule == crd
    dashboards = [r for r in find(chart, "ConfigMap") if "grafana_dashboard" in
                  r["metadata"].get("labels", {})]  # fmt: skip
    shipped = load_all((ROOT / CONFIGMAP_PATH).read_text())
    assert sorted(dashboards, key=base_name) == sorted(shipped, key=base_name)


def test_web_config_secret_is_mounted_and_named_to_the_exporter() -> None:
    chart = template("central", "webConfig.enabled=true", "webConfig.content=tls_server_config: {}")
    (secret,) = find(chart, "Secret")
    assert "web-config.yml" in secret["stringData"]
    (workload,) = find(chart, "Deployment")
    container = sidecar_of(workload)
    assert container is not None
    env = {e["name"]: e.get("value") for e in container["env"]}
    mount = next(m for m in container["volumeMounts"] if m["name"] == "kafka-vitals-web-config")
    assert env["KAFKA_VITALS_WEB_CONFIG_FILE"] == f"{mount['mountPath']}/web-config.yml"
    assert mount["readOnly"] is True
    volume = next(v for v in workload["spec"]["template"]["spec"]["volumes"]
                  if v["name"] == "kafka-vitals-web-config")  # fmt: skip
    assert volume["secret"]["secretName"] == secret["metadata"]["name"]
    assert not find(template("central"), "Secret")
