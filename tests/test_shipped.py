"""What the installed package (the wheel, the image) holds: the exporter and the bundle, never the
test and picture tooling (the promtool case generators, the plotting, under `tools/`) nor the
test harness (`harness/`), which stay in the checkout. Read from the packaging configuration
itself, without building anything."""

from __future__ import annotations

import ast
import re
import tomllib
from fnmatch import fnmatchcase
from pathlib import Path

from tests import cli_run

ROOT = Path(__file__).resolve().parent.parent
TOOLING_IMPORTS = ("tools", "harness", "matplotlib", "tests", "pytest", "hypothesis")
"""Top-level modules that no shipped module may import: they are not installed with it."""


def _wheel_packages() -> list[str]:
    """The packages `pyproject.toml` puts in the wheel, matched as setuptools' `packages.find`
    matches them: every directory of the checkout whose dotted name fits an `include` pattern."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    include: list[str] = config["tool"]["setuptools"]["packages"]["find"]["include"]
    found = []
    for top in sorted(ROOT.iterdir()):
        if not top.is_dir() or top.name.startswith("."):
            continue
        for path in [top, *sorted(d for d in top.rglob("*") if d.is_dir())]:
            name = ".".join(path.relative_to(ROOT).parts)
            if "__pycache__" not in name and any(fnmatchcase(name, p) for p in include):
                found.append(name)
    return found


def _image_dirs() -> list[str]:
    """The source directories the Dockerfile copies into the image's build stage."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    return re.findall(r"^COPY (\w+)/ \1/$", text, flags=re.MULTILINE)


def test_the_wheel_and_the_image_ship_no_test_tooling() -> None:
    packages = _wheel_packages()
    assert {"exporter", "bundle"} <= set(packages), packages
    tops = {p.split(".")[0] for p in packages}
    assert tops == {"exporter", "bundle"}, f"wheel packages: {packages}"
    assert _image_dirs() == ["exporter", "bundle"]
    shipped = [path for top in sorted(tops) for path in sorted((ROOT / top).rglob("*.py"))]
    assert not [p for p in shipped if "promtool" in p.name], "promtool generators in the package"
    wrong = []
    for path in shipped:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module]
                if isinstance(node, ast.ImportFrom) and node.module and node.level == 0
                else []
            )
            wrong += [
                f"{path.relative_to(ROOT)} imports {n}"
                for n in names
                if n.split(".")[0] in TOOLING_IMPORTS
            ]
    assert not wrong, "\n".join(wrong)


def test_the_promtool_tests_are_found_by_name_from_a_checkout() -> None:
    """`kafka-vitals render` in a checkout still writes the promtool tests beside the rules."""
    from bundle.render import PROMTOOL_TESTS, WRITERS
    from tools.promtool.suite import write_tests

    assert write_tests.__module__ == PROMTOOL_TESTS
    assert write_tests in WRITERS


def test_the_installed_render_writes_the_bundle_without_the_tests_and_says_so(
    tmp_path: Path,
) -> None:
    """The console script without the checkout on the path is the installed package's view."""
    from bundle.outputs import RULES_PATH
    from bundle.render import NO_TESTS
    from tools.promtool.suite import TESTS_PATH

    out = tmp_path / "out"
    done = cli_run.run("render", "--out", str(out), env={"PYTHONPATH": ""})
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == f"kafka-vitals render: {NO_TESTS}"
    assert (out / RULES_PATH).is_file() and not (out / TESTS_PATH).exists()
