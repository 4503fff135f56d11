"""The import rules of `docs/architecture.md`, enforced: every module of the installed packages,
the checkout's tools and the test harness sits in one unit of one layer; a unit imports only
units of lower layers (and itself); the unit graph has no cycle. Imports inside functions count
as much as those at the top of a file."""

from __future__ import annotations

import ast
from collections import defaultdict
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("exporter", "bundle", "tools", "harness")
THEMES = (
    "broker",
    "cluster",
    "consumers",
    "exporter",
    "lessons",
    "probe",
    "registry",
    "throughput",
)
"""The bundle's signal themes: `bundle.<theme>`, its thresholds a unit of their own below the
bundle configuration that gathers them."""

LAYERS: dict[str, int] = {
    # 0: the ground floor: imports nothing of kafka-vitals
    "exporter": 0,  # the package itself: the version only
    "exporter.config": 0,
    "exporter.catalog": 0,
    "exporter.logs": 0,
    "exporter.basic_auth": 0,
    "exporter.ownership": 0,
    "exporter.memory": 0,
    # 1: I/O and the immutable result of a cycle
    "exporter.sources": 1,
    "exporter.snapshot": 1,
    "exporter.webconfig": 1,
    # 2: the Kafka rules (the domain), and the exposition of a snapshot
    "exporter.domain": 2,
    "exporter.render": 2,
    # 3: source data into samples; the web server
    "exporter.collectors": 3,
    "exporter.http": 3,
    # 4: the cycle, the configuration with every part's checks, generated docs
    "exporter.poller": 4,
    "exporter.configure": 4,
    "exporter.docs_gen": 4,
    "exporter.check_report": 4,
    # 5: the running exporter; the bundle's core (PromQL, knobs, the alert model, the rule query)
    "exporter.app": 5,
    "bundle.core": 5,
    # 6: each theme's thresholds (on the core only); the command
    **{f"bundle.{theme}.thresholds": 6 for theme in THEMES},
    "exporter.cli": 6,  # finds the bundle's render by name, never imports it
    # 7: the bundle configuration: every theme's thresholds and the shared settings
    "bundle.config": 7,
    # 8-9: the dashboards' building blocks the themes' panels draw with
    "bundle.dashboards.common": 8,
    "bundle.dashboards.panels": 9,
    # 10: the themes: signals written once, the rules and the panels that use them
    **{f"bundle.{theme}": 10 for theme in THEMES},
    # 11: every theme's rules gathered into the rule set
    "bundle.rules": 11,
    # 12: the dashboards assembled from the themes' panels
    "bundle.dashboards": 12,
    # 13: the bundle root: rule files, docs, lint, overrides, the chart, the render of it all
    "bundle": 13,
    # 14: tools run from a checkout, not installed
    "tools": 14,
    # 15: the harness (real Kafka, Prometheus, a registry) for the tests, the benchmark and the demo
    "harness": 15,
}


def _unit(module: str) -> str | None:
    """The longest unit of LAYERS that `module` belongs to."""
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        name = ".".join(parts[:n])
        if name in LAYERS:
            return name
    return None


def _modules() -> dict[str, Path]:
    out = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


def _imported_names(path: Path) -> set[str]:
    """Every absolute name the module imports, anywhere in it."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def _imports(path: Path) -> set[str]:
    return {n for n in _imported_names(path) if n.split(".")[0] in PACKAGES}


@cache
def _unit_edges() -> dict[tuple[str, str], list[str]]:
    """(importing unit, imported unit) -> the modules that make the edge."""
    edges: dict[tuple[str, str], list[str]] = defaultdict(list)
    for module, path in _modules().items():
        source = _unit(module)
        assert source is not None, f"{module} belongs to no unit: add it to LAYERS and the doc"
        for name in _imports(path):
            target = _unit(name)
            if target is not None and target != source and module not in edges[source, target]:
                edges[source, target].append(module)
    return edges


def test_every_unit_of_the_doc_exists_and_is_documented() -> None:
    doc = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    modules = _modules()
    for unit in LAYERS:
        assert unit in modules, f"{unit} is in LAYERS but no such module or package"
        assert f"`{unit}`" in doc, f"docs/architecture.md does not place `{unit}`"


def test_no_unit_imports_one_of_its_own_layer_or_above() -> None:
    wrong = [
        f"{src} (layer {LAYERS[src]}) imports {dst} (layer {LAYERS[dst]}) in {', '.join(mods)}"
        for (src, dst), mods in sorted(_unit_edges().items())
        if LAYERS[dst] >= LAYERS[src]
    ]
    assert not wrong, "\n".join(wrong)


def test_the_unit_graph_has_no_cycle() -> None:
    graph: dict[str, set[str]] = defaultdict(set)
    for src, dst in _unit_edges():
        graph[src].add(dst)
    done: set[str] = set()

    def visit(node: str, path: tuple[str, ...]) -> None:
        assert node not in path, f"import cycle: {' -> '.join((*path, node))}"
        if node in done:
            return
        for nxt in sorted(graph[node]):
            visit(nxt, (*path, node))
        done.add(node)

    for node in sorted(LAYERS):
        visit(node, ())


def test_the_exporter_package_never_imports_the_bundle() -> None:
    for (src, dst), mods in _unit_edges().items():
        if src.split(".")[0] == "exporter":
            assert dst.split(".")[0] == "exporter", f"{src} imports {dst} in {mods}"


def test_the_config_package_imports_nothing_above_it() -> None:
    for (src, dst), mods in _unit_edges().items():
        assert src != "exporter.config", f"exporter.config imports {dst} in {mods}"


def test_the_harness_imports_neither_the_tests_nor_the_benchmark() -> None:
    """The tests, the benchmark and the demo stand on the harness, never the other way."""
    wrong = [
        f"{module} imports {name}"
        for module, path in _modules().items()
        if _unit(module) == "harness"
        for name in sorted(_imported_names(path))
        if name.split(".")[0] in ("tests", "bench")
    ]
    assert not wrong, "\n".join(wrong)


def _theme(unit: str) -> str | None:
    parts = unit.split(".")
    return parts[1] if parts[0] == "bundle" and len(parts) > 1 and parts[1] in THEMES else None


def test_no_theme_imports_another_theme() -> None:
    wrong = [
        f"{src} imports {dst} in {', '.join(mods)}"
        for (src, dst), mods in sorted(_unit_edges().items())
        if _theme(src) and _theme(dst) and _theme(src) != _theme(dst)
    ]
    assert not wrong, "\n".join(wrong)
