"""Rendering the alert bundle: committed files match a fresh render, overrides are validated
strictly, and `kafka-vitals render` writes, checks and refuses bad input as documented."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bundle.config import DEFAULT, seconds
from bundle.files import alert_files
from bundle.outputs import ALERTMANAGER_PATH, CRD_PATH, RULES_PATH, dump
from bundle.overrides import load
from bundle.rules import build
from exporter.config.yamlfile import ConfigError
from tests.cli_run import run
from tools.promtool.cases import expand, humanize, humanize_duration

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("rel", sorted(alert_files(DEFAULT)))
def test_committed_file_matches_a_fresh_render(rel: str) -> None:
    """Drift: regenerating from the code changes nothing (run `make render` after a change)."""
    committed = (ROOT / rel).read_text(encoding="utf-8")
    assert committed == alert_files(DEFAULT)[rel], f"{rel} is stale: run `make render`"


def test_render_is_deterministic() -> None:
    assert alert_files(DEFAULT) == alert_files(DEFAULT)
    assert (
        dump({"b": 1, "a": {"d": "x\ny", "c": [2, 1]}})
        == "a:\n  c:\n  - 2\n  - 1\n  d: |-\n    x\n    y\nb: 1\n"
    )


def test_thresholds_reach_expressions_and_summaries(tmp_path: Path) -> None:
    path = tmp_path / "o.yaml"
    path.write_text(
        "consumer_lag:\n  messages: 25000\n  for: 20m\ncommon:\n  selector: 'job=\"x\"'\n"
    )
    t = load(path)
    lag = build(t).alert("KafkaConsumerGroupLagHigh")
    assert "> 25000" in lag.expr and 'kafka_consumergroup_lag_sum{job="x"}' in lag.expr
    assert lag.for_ == "20m" and "25000" in lag.summary


def _errors(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "overrides.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load(path)
    return list(info.value.problems)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("consumer_lag:\n  mesages: 5\n", "consumer_lag.mesages: unknown key (did you mean 'mes"),
        ("nope: 1\n", "nope: unknown key"),
        ("consumer_lag:\n  for: 10 minutes\n", "consumer_lag.for: must be a Prometheus duration"),
        ("consumer_lag:\n  messages: many\n", "consumer_lag.messages: expected a number"),
        ("consumer_lag:\n  messages: -1\n", "consumer_lag.messages: must be a finite number >= 0"),
        ("consumer_lag:\n  severity: page\n", "consumer_lag.severity: must be one of 'critical'"),
        ("common:\n  selector: job=x\n", "common.selector: not a list of label matchers"),
        ("common:\n  cluster_label: 'a-b'\n", "common.cluster_label: not a valid label name"),
        ("common:\n  extra_labels: {severity: x}\n", "common.extra_labels.severity: not a label"),
        ("messages_in:\n  drop_ratio: 1.5\n", "messages_in.drop_ratio: must be between 0 and 1"),
        ("family_absent:\n  families: [kafka_x]\n", "'kafka_x' is not a metric family"),
        ("output:\n  crd_name: Bad_Name\n", "output.crd_name: not a valid Kubernetes object name"),
        ("output: 3\n", "output: expected a mapping"),
        ("- a\n", "(top level): expected a mapping"),
        ("a: 1\na: 2\n", "overrides.yaml:2:1: duplicate key 'a'"),
        ("a: [\n", "overrides.yaml:2:1: "),
    ],
)
def test_bad_overrides_are_reported_with_their_key_path(
    tmp_path: Path, text: str, expected: str
) -> None:
    errors = _errors(tmp_path, text)
    assert len(errors) == 1
    assert errors[0].startswith(f"{tmp_path / 'overrides.yaml'}:")
    assert expected in errors[0]


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    errors = _errors(tmp_path, "a: 1\nconsumer_lag:\n  b: 2\n  for: x\nstalled: []\n")
    assert [e.split(": ", 1)[1].split(":")[0] for e in errors] == [
        "a",
        "consumer_lag.b",
        "consumer_lag.for",
        "stalled",
    ]


def test_empty_overrides_file_gives_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("")
    assert load(path) == DEFAULT


def test_cli_render_writes_every_output(tmp_path: Path) -> None:
    overrides = tmp_path / "o.yaml"
    overrides.write_text("output:\n  crd_labels: {release: my-prom}\n  crd_namespace: monitoring\n")
    out = tmp_path / "out"
    proc = run("render", "--overrides", str(overrides), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("rendered ")
    for rel in (RULES_PATH, CRD_PATH, ALERTMANAGER_PATH, "docs/alerts.md"):
        assert (out / rel).is_file()
    assert any((out / "dashboards").glob("*.json")), "the dashboards writer ran too"
    crd = yaml.safe_load((out / CRD_PATH).read_text())
    assert crd["metadata"] == {
        "name": "kafka-vitals",
        "namespace": "monitoring",
        "labels": {"release": "my-prom"},
    }
    check = run("render", "--overrides", str(overrides), "--out", str(out), "--check")
    assert check.returncode == 0, check.stderr
    (out / RULES_PATH).write_text("groups: []\n")
    check = run("render", "--overrides", str(overrides), "--out", str(out), "--check")
    assert check.returncode == 1
    assert check.stderr.strip() == f"kafka-vitals render: out of date: {RULES_PATH}"


def test_cli_render_bad_overrides_exit_2_one_line_each(tmp_path: Path) -> None:
    overrides = tmp_path / "o.yaml"
    overrides.write_text("consumer_lag:\n  mesages: 5\n  for: soon\n")
    proc = run("render", "--overrides", str(overrides), "--out", str(tmp_path / "out"))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 2 and "Traceback" not in proc.stderr
    assert lines[0].startswith(f"kafka-vitals render: {overrides}: consumer_lag.mesages: unknown")
    assert not (tmp_path / "out").exists()


def test_cli_render_missing_overrides_file(tmp_path: Path) -> None:
    proc = run("render", "--overrides", str(tmp_path / "missing.yaml"), "--out", str(tmp_path))
    assert proc.returncode == 2
    assert proc.stderr.strip().endswith("missing.yaml': No such file or directory")


def test_template_helpers_match_prometheus() -> None:
    assert humanize(12000) == "12k" and humanize(0) == "0" and humanize(1.5e6) == "1.5M"
    assert humanize(0.25) == "250m"
    assert humanize_duration(420) == "7m 0s" and humanize_duration(90061) == "1d 1h 1m 1s"
    assert humanize_duration(0.995) == "995ms" and humanize_duration(0) == "0s"
    assert expand("{{ $labels.a }} {{ $value }} {{ $value | humanize }}", {"a": "x"}, 3) == "x 3 3"
    assert seconds("1h30m") == 5400
