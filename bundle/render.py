"""`kafka-vitals render`: write every generated file of the bundle (rules, CRD, Alertmanager
example, alert docs, dashboards, the Helm chart; from a checkout, the promtool tests) from the
thresholds and a user's overrides file.

This module sits at the bundle's root, above the rule set (`bundle.rules`) and the dashboards
(`bundle.dashboards`), so neither imports the other's way back. The exporter's command finds it
by name (`exporter.cli`), so the exporter package never imports the bundle.

    kafka-vitals render [--overrides FILE] [--out DIR] [--check]

Output is a tuple of writers, each `(out_dir, thresholds) -> written paths`; a new kind of output
adds one writer to `WRITERS`. `--check` renders into a scratch directory and reports every file
that differs from DIR (exit 1), which is how CI keeps committed files in step with the code.
"""

from __future__ import annotations

import argparse
import filecmp
import importlib
import logging
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from bundle.config import DEFAULT, BundleConfig
from bundle.dashboards.output import render as render_dashboards
from bundle.files import write_alerts
from bundle.helm import write_chart

log = logging.getLogger(__name__)

Writer = Callable[[Path, BundleConfig], list[Path]]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


PROMTOOL_TESTS = "tools.promtool.suite"
"""The module whose `write_tests` writes the promtool tests: found by name, as it comes with the
source only (test tooling, not in the wheel nor the image)."""


def _test_writers() -> tuple[Writer, ...]:
    """The promtool tests' writer when the checkout's `tools` is on the path, else none."""
    try:
        module = importlib.import_module(PROMTOOL_TESTS)
    except ModuleNotFoundError as exc:
        if exc.name is None or not PROMTOOL_TESTS.startswith(exc.name):
            raise
        return ()
    writer: Writer = module.write_tests
    return (writer,)


TEST_WRITERS = _test_writers()
NO_TESTS = (
    "promtool tests not written: their generator (tools/promtool) comes with the source, not with "
    "the installed package; run from a checkout with it on the path (make render)"
)


WRITERS: tuple[Writer, ...] = (write_alerts, render_dashboards, write_chart, *TEST_WRITERS)


def render(
    out_dir: Path, t: BundleConfig = DEFAULT, writers: Sequence[Writer] = WRITERS
) -> list[Path]:
    """Run every writer into `out_dir`; the paths written, in writer order."""
    return [path for writer in writers for path in writer(out_dir, t)]


def drift(
    out_dir: Path, t: BundleConfig = DEFAULT, writers: Sequence[Writer] = WRITERS
) -> list[str]:
    """Relative paths whose rendering differs from (or is missing in) `out_dir`."""
    with tempfile.TemporaryDirectory(prefix="kafka-vitals-render-") as scratch:
        root = Path(scratch)
        changed = []
        for path in render(root, t, writers):
            rel = path.relative_to(root)
            target = out_dir / rel
            if not target.is_file() or not filecmp.cmp(path, target, shallow=False):
                changed.append(rel.as_posix())
        return changed


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--overrides",
        metavar="FILE",
        help="YAML file overriding thresholds, selectors and output settings (see docs/alerts.md)",
    )
    parser.add_argument(
        "--out", metavar="DIR", default=".", help="directory to write into (default: .)"
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 listing every file that differs from what DIR holds",
    )


def run(args: argparse.Namespace) -> int:
    from bundle.overrides import load
    from exporter.config.yamlfile import ConfigError

    try:
        t = load(Path(args.overrides)) if args.overrides else DEFAULT
    except ConfigError as exc:
        for line in exc.problems:
            print(f"kafka-vitals render: {line}", file=sys.stderr)
        return EXIT_USAGE
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        print(f"kafka-vitals render: --out {out} is not a directory", file=sys.stderr)
        return EXIT_USAGE
    if args.check:
        changed = drift(out, t)
        for rel in changed:
            print(f"kafka-vitals render: out of date: {rel}", file=sys.stderr)
        return EXIT_FAILED if changed else EXIT_OK
    try:
        written = render(out, t)
    except OSError as exc:
        print(
            f"kafka-vitals render: cannot write into {out}: {exc.strerror or exc}", file=sys.stderr
        )
        return EXIT_FAILED
    print(f"rendered {len(written)} files into {out}")
    if not TEST_WRITERS:
        print(f"kafka-vitals render: {NO_TESTS}", file=sys.stderr)
    return EXIT_OK
