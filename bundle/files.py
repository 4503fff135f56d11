"""Every file of the alert bundle from one `BundleConfig`: rules, PrometheusRule, Alertmanager
example and alert docs; `bundle.render` writes them beside the dashboards (and, from a checkout,
the promtool tests of `tools.promtool`)."""

from __future__ import annotations

import logging
from pathlib import Path

from bundle.config import BundleConfig

log = logging.getLogger(__name__)


def alert_files(t: BundleConfig) -> dict[str, str]:
    """Every file of the alert bundle: relative path -> text."""
    from bundle.docs import DOCS_PATH, alerts_markdown
    from bundle.outputs import (
        ALERTMANAGER_PATH,
        CRD_PATH,
        RULES_PATH,
        alertmanager_yaml,
        crd_yaml,
        rules_yaml,
    )

    return {
        RULES_PATH: rules_yaml(t),
        CRD_PATH: crd_yaml(t),
        ALERTMANAGER_PATH: alertmanager_yaml(t),
        DOCS_PATH: alerts_markdown(t),
    }


def write_alerts(out_dir: Path, t: BundleConfig) -> list[Path]:
    written = []
    for rel, text in sorted(alert_files(t).items()):
        path = out_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    log.info("alerts rendered files=%d out=%s", len(written), out_dir)
    return written
