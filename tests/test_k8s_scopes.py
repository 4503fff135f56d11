"""The three layouts in deploy/kubernetes, by scope: broker sidecars (one per broker, the broker id
from the pod ordinal), one central Deployment, and shards (a StatefulSet, the index from the pod
ordinal). Each is rendered and its configuration loaded as the container would load it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from exporter.config import Config
from tests.container import kustomize
from tests.container.dockerfile import dockerfile_facts
from tests.test_k8s import K8S, check_locked_down, container_env, find, rel, sidecar_of

POD_INDEX = "metadata.labels['apps.kubernetes.io/pod-index']"


def loaded(directory: Path, kind: str) -> tuple[dict[str, Any], dict[str, Any], Config]:
    """The workload of `kind`, its kafka-vitals container, and the configuration it loads."""
    import tempfile

    from exporter.configure import load_config

    resources = kustomize.render(directory).resources
    (workload,) = find(resources, kind)
    container = sidecar_of(workload)
    assert container is not None, f"{rel(directory)}: no kafka-vitals container"
    volume = next(v for v in kustomize.pod_spec(workload)["volumes"]  # type: ignore[index]
                  if v["name"] == "kafka-vitals-config")  # fmt: skip
    (config_map,) = [r for r in find(resources, "ConfigMap")
                     if r["metadata"]["name"] == volume["configMap"]["name"]]  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "config.yaml"
        path.write_text(config_map["data"]["config.yaml"])
        config = load_config(path, env=container_env(rel(directory), container))
    return workload, container, config


def env_field(container: dict[str, Any], name: str) -> str | None:
    item = next((e for e in container.get("env", []) if e["name"] == name), None)
    return item["valueFrom"]["fieldRef"]["fieldPath"] if item and "valueFrom" in item else None


def test_broker_sidecars_serve_their_brokers_share() -> None:
    directory = K8S / "base" / "broker-sidecar"
    workload, container, config = loaded(directory, "StatefulSet")
    assert config.scope == "broker"
    # the broker id is the pod ordinal, as the broker's own node id
    assert env_field(container, "KAFKA_VITALS_KAFKA_BROKER_ID") == POD_INDEX
    broker = next(c for c in workload["spec"]["template"]["spec"]["containers"]
                  if c["name"] == "kafka")  # fmt: skip
    assert env_field(broker, "KAFKA_NODE_ID") == POD_INDEX
    assert config.kafka.broker_id == 0
    text = (directory / "config.yaml").read_text()
    assert "group_deny" not in text and "one kafka-vitals for the lag" not in text


@pytest.mark.parametrize(
    ("directory", "kind", "scope"),
    [(K8S / "base" / "central", "Deployment", "cluster"),
     (K8S / "examples" / "sharded", "StatefulSet", "shard")],
    ids=["central", "sharded"],
)  # fmt: skip
def test_central_and_sharded_layouts(directory: Path, kind: str, scope: str) -> None:
    workload, container, config = loaded(directory, kind)
    where = f"{rel(directory)} {kind}"
    assert config.scope == scope, where
    assert container.get("args", dockerfile_facts().cmd) == dockerfile_facts().cmd, where
    check_locked_down(where, workload, container)
    spec = workload["spec"]["template"]["spec"]
    assert spec["enableServiceLinks"] is False, where
    if scope == "cluster":
        assert workload["spec"]["replicas"] == 1, f"{where}: a second replica doubles every series"
        return
    assert env_field(container, "KAFKA_VITALS_SHARD_INDEX") == POD_INDEX
    assert config.shard.count == workload["spec"]["replicas"], where
    assert config.shard.index == 0
