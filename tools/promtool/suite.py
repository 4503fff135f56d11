"""The `promtool test rules` file of the bundle, generated from the same thresholds as the rules.

Run from a checkout only: `kafka-vitals render` finds `write_tests` by name
(`bundle.render.PROMTOOL_TESTS`) and writes the file beside the rules; the installed package (the
wheel, the image) holds no test generator and writes the bundle without it.

promtool compares every label and annotation of a firing alert, so the expectations are completed
here: severity and extra labels from the thresholds, annotations expanded from the rule's templates.
Timings derive from the thresholds, so the file stays valid for any overrides.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from bundle.config import BundleConfig
from bundle.core.model import Alert
from bundle.outputs import HEADER, RULES_PATH, dump
from bundle.rules import Bundle, build
from tools.promtool import (
    broker,
    cluster,
    consumers,
    exporter,
    lessons,
    probe,
    registry,
    throughput,
)
from tools.promtool.cases import Expect, Scenario, Series, UnsupportedSelector, context, expand

log = logging.getLogger(__name__)

TESTS_PATH = "tests/promtool/kafka-vitals-rules.test.yaml"


def _expected(a: Alert, t: BundleConfig, e: Expect) -> dict[str, Any]:
    labels = {**dict(t.common.extra_labels), **e.labels, "severity": a.severity}
    return {
        "exp_labels": labels,
        "exp_annotations": {
            "summary": a.summary,
            "description": expand(a.description, labels, e.value),
            "runbook_url": f"{t.common.runbook_url_base.rstrip('/')}/{a.name}.md",
        },
    }


def _test(bundle: Bundle, t: BundleConfig, s: Scenario) -> dict[str, Any]:
    a = bundle.alert(s.alert)
    return {
        "name": f"{s.alert}: {s.name}",
        "interval": "1m",
        "input_series": [{"series": _series_text(x), "values": x.values} for x in s.series],
        "alert_rule_test": [
            {
                "eval_time": f"{c.at}m",
                "alertname": s.alert,
                "exp_alerts": [_expected(a, t, e) for e in c.firing],
            }
            for c in s.checks
        ],
    }


def _series_text(s: Series) -> str:
    inner = ", ".join(f'{k}="{v}"' for k, v in sorted(s.labels.items()))
    return f"{s.name}{{{inner}}}"


def scenarios(t: BundleConfig) -> list[Scenario]:
    ctx = context(t)
    return [
        *consumers.scenarios(ctx),
        *cluster.scenarios(ctx),
        *broker.scenarios(ctx),
        *throughput.scenarios(ctx),
        *exporter.scenarios(ctx),
        *lessons.scenarios(ctx),
        *registry.scenarios(ctx),
        *probe.scenarios(ctx),
    ]


def tests_document(t: BundleConfig, rule_file: str = "../../" + RULES_PATH) -> dict[str, Any]:
    bundle = build(t)
    return {
        "rule_files": [rule_file],
        "evaluation_interval": "1m",
        "tests": [_test(bundle, t, s) for s in scenarios(t)],
    }


def tests_yaml(t: BundleConfig) -> str:
    return HEADER + dump(tests_document(t))


def write_tests(out_dir: Path, t: BundleConfig) -> list[Path]:
    """The bundle writer (`bundle.render.Writer`) of the promtool tests: `TESTS_PATH` under
    `out_dir`, or nothing (with a warning) for a selector the cases cannot follow."""
    try:
        text = tests_yaml(t)
    except UnsupportedSelector as exc:
        log.warning("promtool tests not written reason=%r", str(exc))
        return []
    path = out_dir / TESTS_PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return [path]
