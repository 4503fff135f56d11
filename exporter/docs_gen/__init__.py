"""Generate `docs/metrics.md` from the metric catalog (`metrics`) and `docs/config-reference.yaml`
from the config dataclasses (`config_reference`), so the docs cannot drift from the code (a test
regenerates and compares).

    python -m exporter.docs_gen            # rewrite both files
    python -m exporter.docs_gen --check    # exit 1 if either file is out of date

Field comments come from the attribute docstrings in `exporter/config/model.py` (read with `ast`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from exporter.docs_gen.config_reference import config_reference, field_docs
from exporter.docs_gen.metrics import metrics_markdown

__all__ = ["CONFIG_REFERENCE", "METRICS_MD", "ROOT", "config_reference", "field_docs", "main",
           "metrics_markdown", "stale", "write_all"]  # fmt: skip

ROOT = Path(__file__).resolve().parents[2]
METRICS_MD = Path("docs/metrics.md")
CONFIG_REFERENCE = Path("docs/config-reference.yaml")


def generated() -> dict[Path, str]:
    return {METRICS_MD: metrics_markdown(), CONFIG_REFERENCE: config_reference()}


def write_all(root: Path = ROOT) -> list[Path]:
    """Write every generated doc under `root`; returns the paths written."""
    written = []
    for rel, text in generated().items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def stale(root: Path = ROOT) -> list[Path]:
    """The generated docs under `root` that differ from what the code gives now."""
    out = []
    for rel, text in generated().items():
        path = root / rel
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            out.append(rel)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m exporter.docs_gen", description=__doc__)
    parser.add_argument("--root", type=Path, default=ROOT, help="repository root")
    parser.add_argument("--check", action="store_true", help="exit 1 if a doc is out of date")
    args = parser.parse_args(argv)
    if args.check:
        out_of_date = stale(args.root)
        for rel in out_of_date:
            sys.stderr.write(f"{rel} is out of date: run python -m exporter.docs_gen\n")
        return 1 if out_of_date else 0
    for path in write_all(args.root):
        sys.stderr.write(f"wrote {path}\n")
    return 0
