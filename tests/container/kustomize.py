"""A small kustomize in Python: enough to render deploy/kubernetes without kubectl.

It knows the fields our kustomizations use, and refuses any other, so nothing is silently left
unrendered: `resources` (files and directories), `configMapGenerator` (files and literals; create,
replace, merge), `namespace` and `images`. Generated ConfigMaps keep their plain name (kustomize
appends a content hash); the checks in tests/test_k8s.py accept both.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

KUSTOMIZATION_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
SUPPORTED = frozenset(
    {"apiVersion", "kind", "resources", "configMapGenerator", "namespace", "images"}
)
CLUSTER_SCOPED = frozenset(
    {
        "Namespace",
        "ClusterRole",
        "ClusterRoleBinding",
        "CustomResourceDefinition",
        "PersistentVolume",
        "StorageClass",
        "PriorityClass",
    }
)
POD_SPEC_PATHS = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}


class KustomizeError(ValueError):
    """A kustomization this renderer cannot render, or a broken one."""


@dataclass(frozen=True, slots=True)
class Rendered:
    """The resources of one kustomization, and every file it read (kustomizations included)."""

    resources: list[dict[str, Any]]
    files: list[Path]


def kustomization_file(directory: Path) -> Path:
    for name in KUSTOMIZATION_NAMES:
        if (directory / name).is_file():
            return directory / name
    raise KustomizeError(f"{directory}: no kustomization.yaml")


def load_kustomization(directory: Path) -> dict[str, Any]:
    path = kustomization_file(directory)
    data = yaml.safe_load(path.read_text())
    if not isinstance(data, dict):
        raise KustomizeError(f"{path}: not a mapping")
    unknown = sorted(set(data) - SUPPORTED)
    if unknown:
        raise KustomizeError(f"{path}: fields this renderer does not support: {unknown}")
    return data


def load_documents(path: Path) -> list[dict[str, Any]]:
    """The non-empty YAML documents of a manifest file; each must be a mapping with a kind."""
    docs = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
    for doc in docs:
        if not isinstance(doc, dict) or "kind" not in doc or "apiVersion" not in doc:
            raise KustomizeError(f"{path}: a document without apiVersion and kind")
    return docs


def render(directory: Path) -> Rendered:
    """Render the kustomization in `directory`, recursively."""
    directory = directory.resolve()
    data = load_kustomization(directory)
    files = [kustomization_file(directory)]
    resources: list[dict[str, Any]] = []
    for entry in data.get("resources", []):
        target = (directory / entry).resolve()
        if target.is_dir():
            sub = render(target)
            resources += sub.resources
            files += sub.files
        elif target.is_file():
            if not target.is_relative_to(directory):
                raise KustomizeError(f"{directory}: resource file {entry} is outside the directory")
            resources += load_documents(target)
            files.append(target)
        else:
            raise KustomizeError(f"{kustomization_file(directory)}: resource {entry} not found")
    for generator in data.get("configMapGenerator", []):
        files += _generate(directory, generator, resources)
    if namespace := data.get("namespace"):
        for res in resources:
            if res["kind"] not in CLUSTER_SCOPED:
                res.setdefault("metadata", {})["namespace"] = namespace
    for image in data.get("images", []):
        _set_image(resources, image)
    return Rendered(resources, files)


def _generate(directory: Path, gen: dict[str, Any], resources: list[dict[str, Any]]) -> list[Path]:
    name, behavior = gen["name"], gen.get("behavior", "create")
    payload: dict[str, str] = {}
    read: list[Path] = []
    for item in gen.get("files", []):
        key, _, rel = item.rpartition("=") if "=" in item else ("", "", item)
        path = (directory / rel).resolve()
        if not path.is_file() or not path.is_relative_to(directory):
            raise KustomizeError(f"{directory}: configMapGenerator file {rel} not found here")
        payload[key or path.name] = path.read_text()
        read.append(path)
    for literal in gen.get("literals", []):
        key, _, value = literal.partition("=")
        payload[key] = value
    existing = [r for r in resources if r["kind"] == "ConfigMap" and r["metadata"]["name"] == name]
    if behavior == "create":
        if existing:
            raise KustomizeError(f"{directory}: ConfigMap {name} generated twice")
        resources.append(
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": payload}
        )
    elif behavior in ("replace", "merge"):
        if not existing:
            raise KustomizeError(f"{directory}: no ConfigMap {name} to {behavior}")
        data = existing[0].setdefault("data", {})
        if behavior == "replace":
            data.clear()
        data.update(payload)
    else:
        raise KustomizeError(f"{directory}: configMapGenerator behavior {behavior!r}")
    return read


def pod_spec(resource: dict[str, Any]) -> dict[str, Any] | None:
    """The pod spec inside a workload resource, or None for other kinds."""
    path = POD_SPEC_PATHS.get(resource["kind"])
    if path is None:
        return None
    node: Any = resource
    for key in path:
        node = node.get(key, {}) if isinstance(node, dict) else {}
    return node if isinstance(node, dict) else None


def containers(resource: dict[str, Any]) -> list[dict[str, Any]]:
    spec = pod_spec(resource) or {}
    return [*spec.get("initContainers", []), *spec.get("containers", [])]


def image_name(image: str) -> str:
    """`registry/name:tag` or `name@digest` -> `registry/name`."""
    without_digest = image.split("@", 1)[0]
    last = without_digest.rsplit("/", 1)[-1]
    return without_digest.rsplit(":", 1)[0] if ":" in last else without_digest


def _set_image(resources: list[dict[str, Any]], rule: dict[str, Any]) -> None:
    for res in resources:
        for container in containers(res):
            if image_name(container["image"]) != rule["name"]:
                continue
            name = rule.get("newName", rule["name"])
            if "digest" in rule:
                container["image"] = f"{name}@{rule['digest']}"
            else:
                tag = rule.get("newTag") or _tag(container["image"])
                container["image"] = f"{name}:{tag}" if tag else name


def _tag(image: str) -> str:
    last = image.split("@", 1)[0].rsplit("/", 1)[-1]
    return last.rsplit(":", 1)[1] if ":" in last else ""
