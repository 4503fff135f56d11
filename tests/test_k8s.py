"""The Kubernetes manifests in deploy/kubernetes: rendered (by a small Python kustomize, and by
`kubectl kustomize`) and checked against the image, the exporter's configuration and the alerts.

What must hold: every kustomization names only files that exist; the sidecar runs the image's
command with a config the exporter accepts, on the port the Dockerfile exposes; it is locked down
(non-root, read-only root, no capabilities, no privilege escalation, RuntimeDefault seccomp),
probed on /healthz and /ready, and bounded in CPU and memory; its JMX targets are the app's own
JMX port on loopback; passwords come from Secrets only; every monitor selects the sidecars and
labels them job="kafka-vitals", as the shipped rules expect; the monitoring bundle holds the
PrometheusRule and the dashboards ConfigMap that `kafka-vitals render` writes.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from bundle.config import DEFAULT
from bundle.dashboards.output import CONFIGMAP_PATH
from bundle.outputs import CRD_PATH
from exporter import __version__
from exporter.config import WebConfig
from exporter.configure import load_config
from tests.container import kustomize
from tests.container.dockerfile import dockerfile_facts

ROOT = Path(__file__).resolve().parents[1]
K8S = ROOT / "deploy" / "kubernetes"
SIDECAR = "kafka-vitals"
WORKLOADS = [K8S / "base" / "consumer-sidecar", K8S / "base" / "broker-sidecar",
             K8S / "examples" / "consumer", K8S / "examples" / "broker"]  # fmt: skip
CENTRAL = [K8S / "base" / "central", K8S / "examples" / "sharded"]
"""Layouts without a sidecar (no JMX): checked in test_k8s_scopes."""
ENTRY_POINTS = [*WORKLOADS, *CENTRAL, K8S]
HASH_SUFFIX = re.compile(r"-[a-z0-9]{10}$")
KUBECTL_HINT = (
    "kubectl (with its built-in kustomize v4 or newer) is not on PATH: install kubectl from the "
    "Kubernetes project's packages; the Python rendering is checked without it"
)


def python_render(directory: Path) -> list[dict[str, Any]]:
    return kustomize.render(directory).resources


def kubectl_render(directory: Path) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.fail(KUBECTL_HINT, pytrace=False)
    result = subprocess.run([kubectl, "kustomize", str(directory)], capture_output=True,
                            text=True, timeout=120, check=False)  # fmt: skip
    assert result.returncode == 0, f"kubectl kustomize {directory}: {result.stderr.strip()}"
    return [d for d in yaml.safe_load_all(result.stdout) if d is not None]


RENDERERS: dict[str, Callable[[Path], list[dict[str, Any]]]] = {
    "python": python_render,
    "kubectl": kubectl_render,
}


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def base_name(res: dict[str, Any]) -> str:
    """A resource's name without the hash kustomize appends to generated ConfigMaps."""
    name: str = res["metadata"]["name"]
    return HASH_SUFFIX.sub("", name) if res["kind"] == "ConfigMap" else name


Resources = list[dict[str, Any]]


def find(resources: Resources, kind: str, name: str | None = None) -> Resources:
    return [r for r in resources if r["kind"] == kind and (name is None or base_name(r) == name)]


def sidecar_of(workload: dict[str, Any]) -> dict[str, Any] | None:
    return next((c for c in kustomize.containers(workload) if c["name"] == SIDECAR), None)


def workloads(resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in resources if sidecar_of(r) is not None]


def pod_labels(workload: dict[str, Any]) -> dict[str, str]:
    labels: dict[str, str] = workload["spec"]["template"]["metadata"]["labels"]
    return labels


def port_of(address: str) -> int:
    return int(address.rsplit(":", 1)[1])


def quantity(text: str | int) -> float:
    """A Kubernetes quantity (`500m`, `160Mi`, `2Gi`, `1`) as a number."""
    units = {"m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "k": 1e3, "M": 1e6, "G": 1e9}
    match = re.fullmatch(r"([0-9.]+)([A-Za-z]*)", str(text))
    assert match and match.group(2) in ("", *units), f"not a quantity: {text!r}"
    return float(match.group(1)) * units.get(match.group(2), 1)


# ---- files ----------------------------------------------------------------------------------


def test_every_kustomization_lists_only_existing_files() -> None:
    deploy = ROOT / "deploy"
    found = sorted(p for name in kustomize.KUSTOMIZATION_NAMES for p in deploy.rglob(name))
    assert len(found) >= 6, f"expected the base, example and bundle kustomizations, found {found}"
    for path in found:
        data = yaml.safe_load(path.read_text())
        for entry in data.get("resources", []):
            target = path.parent / entry
            assert target.is_file() or (target.is_dir() and kustomize.kustomization_file(target)), (
                f"{rel(path)}: resource {entry} does not exist"
                + (" (run `make render`)" if target.name.endswith(".yaml") else "")
            )
        for gen in data.get("configMapGenerator", []):
            for item in gen.get("files", []):
                file = path.parent / item.rpartition("=")[2]
                assert file.is_file(), f"{rel(path)}: configMapGenerator file {item} missing"


def test_monitoring_bundle_holds_the_rendered_rules_and_dashboards() -> None:
    rendered = kustomize.render(K8S)
    read = {rel(p) for p in rendered.files}
    assert CRD_PATH in read and str(CONFIGMAP_PATH) in read, read
    rules = find(rendered.resources, "PrometheusRule")
    assert [r["metadata"]["name"] for r in rules] == [DEFAULT.output.crd_name]
    assert rules[0]["spec"]["groups"], "the PrometheusRule has no rule groups"
    dashboards = find(rendered.resources, "ConfigMap")
    assert dashboards and all(d["metadata"]["labels"].get("grafana_dashboard") for d in dashboards)
    assert all(d.get("data") for d in dashboards)


# ---- sidecars -------------------------------------------------------------------------------


@pytest.fixture(params=sorted(RENDERERS))
def render(request: pytest.FixtureRequest) -> Callable[[Path], list[dict[str, Any]]]:
    renderer: Callable[[Path], list[dict[str, Any]]] = RENDERERS[request.param]
    return renderer


@pytest.mark.parametrize("directory", WORKLOADS, ids=lambda p: rel(p))
def test_sidecar_matches_image_and_config(
    directory: Path, render: Callable[[Path], list[dict[str, Any]]]
) -> None:
    facts = dockerfile_facts()
    resources = render(directory)
    found = workloads(resources)
    assert found, f"{rel(directory)}: no workload with a {SIDECAR} container"
    for workload in found:
        where = f"{rel(directory)} {workload['kind']}/{workload['metadata']['name']}"
        sidecar = sidecar_of(workload)
        assert sidecar is not None
        image = sidecar["image"]
        assert kustomize.image_name(image).endswith(SIDECAR), f"{where}: image {image}"
        assert image.endswith(f":{__version__}"), f"{where}: image {image} is not {__version__}"
        # the image's own command, on the port the Dockerfile exposes and the config defaults to
        assert sidecar.get("args", facts.cmd) == facts.cmd, where
        assert "command" not in sidecar, f"{where}: keep the image's ENTRYPOINT"
        ports = {p["name"]: p["containerPort"] for p in sidecar["ports"]}
        assert ports == {SIDECAR: facts.exposed_port}, f"{where}: ports {ports}"
        assert facts.exposed_port == port_of(WebConfig().listen_address)
        check_locked_down(where, workload, sidecar)
        config = sidecar_config(where, resources, workload, sidecar, facts.config_path)
        assert port_of(config.web.listen_address) == facts.exposed_port, where


def check_locked_down(where: str, workload: dict[str, Any], sidecar: dict[str, Any]) -> None:
    ctx = sidecar["securityContext"]
    assert ctx["runAsNonRoot"] is True and ctx["runAsUser"] == dockerfile_facts().uid, where
    assert ctx["readOnlyRootFilesystem"] is True, where
    assert ctx["allowPrivilegeEscalation"] is False, where
    assert ctx["capabilities"]["drop"] == ["ALL"] and "add" not in ctx["capabilities"], where
    assert ctx["seccompProfile"]["type"] == "RuntimeDefault", where
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/ready")):
        http = sidecar[probe]["httpGet"]
        assert http["path"] == path and http["port"] in (SIDECAR, dockerfile_facts().exposed_port)
    res = sidecar["resources"]
    for kind in ("cpu", "memory"):
        request, limit = quantity(res["requests"][kind]), quantity(res["limits"][kind])
        assert 0 < request <= limit, f"{where}: {kind} request {request} > limit {limit}"
    volumes = {v["name"]: v for v in kustomize.pod_spec(workload)["volumes"]}  # type: ignore[index]
    mounts = {m["mountPath"]: m for m in sidecar["volumeMounts"]}
    assert "/tmp" in mounts and not mounts["/tmp"].get("readOnly"), f"{where}: no writable /tmp"
    assert "emptyDir" in volumes[mounts["/tmp"]["name"]], f"{where}: /tmp is not an emptyDir"


def sidecar_config(
    where: str,
    resources: list[dict[str, Any]],
    workload: dict[str, Any],
    sidecar: dict[str, Any],
    config_path: str,
) -> Any:
    """The exporter's configuration as the sidecar would load it: the mounted ConfigMap file and
    the container's environment (Secret values stand in as placeholders)."""
    spec = kustomize.pod_spec(workload)
    assert spec is not None
    volumes = {v["name"]: v for v in spec["volumes"]}
    mount_dir, file_name = config_path.rsplit("/", 1)
    mount = next(m for m in sidecar["volumeMounts"] if m["mountPath"] == mount_dir)
    assert mount.get("readOnly") is True, f"{where}: the config mount is writable"
    ref = volumes[mount["name"]]["configMap"]["name"]
    maps = [r for r in find(resources, "ConfigMap") if r["metadata"]["name"] == ref]
    assert maps, f"{where}: ConfigMap {ref} is not in the rendering"
    text = maps[0]["data"][file_name]
    env = container_env(where, sidecar)
    with tempfile.TemporaryDirectory() as tmpdir:
        path = Path(tmpdir) / file_name
        path.write_text(text)
        config = load_config(path, env=env)
    app_jmx_ports = jmx_ports(spec)
    for target in config.jmx.targets:
        host, port = target.url.rsplit("/jmxrmi", 1)[0].rsplit("//", 1)[-1].rsplit(":", 1)
        assert host in ("127.0.0.1", "localhost"), f"{where}: JMX target {target.url} off-pod"
        assert int(port) in app_jmx_ports, f"{where}: nothing in the pod serves JMX on {port}"
    assert config.jmx.targets, f"{where}: the sidecar reads no JMX"
    return config


def container_env(where: str, container: dict[str, Any]) -> dict[str, str]:
    """The environment as the kubelet builds it: $(VAR) expanded, fieldRefs and Secrets as
    placeholders. Any variable that looks like a secret must come from a Secret."""
    env: dict[str, str] = {}
    for item in container.get("env", []):
        name = item["name"]
        if "valueFrom" in item:
            source = item["valueFrom"]
            if "secretKeyRef" in source:
                env[name] = "placeholder-from-secret"
                continue
            assert "fieldRef" in source, f"{where}: {name} from {source}"
            env[name] = "0" if "pod-index" in source["fieldRef"]["fieldPath"] else "pod-0"
            continue
        assert not re.search(r"PASSWORD|SECRET|TOKEN", name) or name.endswith("_FILE"), (
            f"{where}: {name} has a literal value; take it from a Secret"
        )
        env[name] = re.sub(r"\$\((\w+)\)", lambda m: env.get(m.group(1), m.group(0)), item["value"])
    return env


def jmx_ports(spec: dict[str, Any]) -> set[int]:
    """Ports a container of the pod serves JMX on (-Dcom.sun.management.jmxremote.port=)."""
    ports: set[int] = set()
    for container in spec["containers"]:
        for item in container.get("env", []):
            ports |= {int(p) for p in re.findall(r"jmxremote\.port=(\d+)", item.get("value", ""))}
            if re.search(r"jmxremote\.port=", item.get("value", "")):
                assert "jmxremote.host=127.0.0.1" in item["value"], (
                    f"{container['name']}: JMX without a password must bind to 127.0.0.1"
                )
    return ports


# ---- monitors -------------------------------------------------------------------------------


def job_from_alert_selector() -> str:
    match = re.search(r'job="([^"]+)"', DEFAULT.common.selector)
    assert match, f"the alerts' selector has no job: {DEFAULT.common.selector}"
    return match.group(1)


def check_relabelled_job(where: str, endpoint: dict[str, Any]) -> None:
    jobs = [r.get("replacement") for r in endpoint.get("relabelings", [])
            if r.get("targetLabel") == "job"]  # fmt: skip
    assert jobs == [job_from_alert_selector()], f"{where}: job label {jobs}"


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector["matchLabels"].items())


@pytest.mark.parametrize("directory", WORKLOADS, ids=lambda p: rel(p))
def test_monitors_select_the_sidecars(
    directory: Path, render: Callable[[Path], list[dict[str, Any]]]
) -> None:
    resources = render(directory)
    pods = workloads(resources)
    monitors = find(resources, "PodMonitor") + find(resources, "ServiceMonitor")
    assert monitors, f"{rel(directory)}: no PodMonitor or ServiceMonitor"
    for monitor in monitors:
        where = f"{rel(directory)} {monitor['kind']}/{monitor['metadata']['name']}"
        namespace = monitor["metadata"].get("namespace")
        if monitor["kind"] == "PodMonitor":
            chosen = [w for w in pods if selects(monitor["spec"]["selector"], pod_labels(w))]
            assert chosen, f"{where}: selects no pod with the sidecar"
            for endpoint in monitor["spec"]["podMetricsEndpoints"]:
                for w in chosen:
                    names = {p["name"] for p in sidecar_of(w)["ports"]}  # type: ignore[index]
                    assert endpoint["port"] in names, f"{where}: port {endpoint['port']}"
                check_relabelled_job(where, endpoint)
            continue
        services = [
            s
            for s in find(resources, "Service")
            if s["metadata"].get("namespace") == namespace
            and selects(monitor["spec"]["selector"], s["metadata"].get("labels", {}))
        ]
        assert len(services) == 1, f"{where}: selects {len(services)} Services"
        service = services[0]
        backing = [w for w in pods if selects({"matchLabels": service["spec"]["selector"]},
                                               pod_labels(w))]  # fmt: skip
        assert backing, f"{where}: Service {service['metadata']['name']} selects no sidecar pod"
        for endpoint in monitor["spec"]["endpoints"]:
            port = next(p for p in service["spec"]["ports"] if p["name"] == endpoint["port"])
            for w in backing:
                names = {p["name"] for p in sidecar_of(w)["ports"]}  # type: ignore[index]
                assert port.get("targetPort", port["port"]) in names | {port["port"]}, where
            check_relabelled_job(where, endpoint)


# ---- kubectl against the Python rendering ---------------------------------------------------


@pytest.mark.parametrize("directory", ENTRY_POINTS, ids=lambda p: rel(p))
def test_kubectl_renders_what_python_renders(directory: Path) -> None:
    def keys(resources: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
        return sorted(
            (r["kind"], base_name(r), r["metadata"].get("namespace", "")) for r in resources
        )

    assert keys(kubectl_render(directory)) == keys(python_render(directory))


KUBE_PROMETHEUS_STACK_MONITOR_SELECTOR = {
    "matchLabels": {"release": DEFAULT.output.crd_labels["release"]}
}
"""kube-prometheus-stack's default serviceMonitorSelector and podMonitorSelector
(`*SelectorNilUsesHelmValues: true`): `release: <its Helm release name>`, the same label its rule
selector wants on the PrometheusRule."""


@pytest.mark.parametrize("directory", ENTRY_POINTS, ids=lambda p: rel(p))
def test_monitors_match_kube_prometheus_stacks_default_selector(
    directory: Path, render: Callable[[Path], list[dict[str, Any]]]
) -> None:
    monitors = find(render(directory), "PodMonitor") + find(render(directory), "ServiceMonitor")
    for monitor in monitors:
        labels = monitor["metadata"].get("labels", {})
        assert selects(KUBE_PROMETHEUS_STACK_MONITOR_SELECTOR, labels), (
            f"{rel(directory)} {monitor['kind']}/{monitor['metadata']['name']}: labels {labels} "
            "are not selected by kube-prometheus-stack's default monitor selector"
        )
