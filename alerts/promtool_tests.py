"""The `promtool test rules` file of the bundle, generated from the same thresholds as the rules.

promtool compares every label and annotation of a firing alert, so the expectations are completed
here: severity and extra labels from the thresholds, annotations expanded from the rule's templates.
Timings derive from the thresholds, so the file stays valid for any overrides.
"""

from __future__ import annotations

from typing import Any

from alerts import (
    promtool_broker,
    promtool_cluster,
    promtool_consumers,
    promtool_exporter,
    promtool_lessons,
    promtool_probe,
    promtool_registry,
    promtool_throughput,
)
from alerts.model import Alert
from alerts.outputs import HEADER, RULES_PATH, dump
from alerts.promtool_cases import Expect, Scenario, Series, context, expand
from alerts.rules import Bundle, build
from alerts.thresholds import BundleConfig

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
        *promtool_consumers.scenarios(ctx),
        *promtool_cluster.scenarios(ctx),
        *promtool_broker.scenarios(ctx),
        *promtool_throughput.scenarios(ctx),
        *promtool_exporter.scenarios(ctx),
        *promtool_lessons.scenarios(ctx),
        *promtool_registry.scenarios(ctx),
        *promtool_probe.scenarios(ctx),
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
