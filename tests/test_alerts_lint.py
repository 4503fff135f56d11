"""Lint of the alert bundle in the spirit of mixtool, and proof that the lint catches bad rules."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from bundle import lint
from bundle.config import DEFAULT, BundleConfig
from bundle.core.model import Alert
from bundle.core.promql import metric_names
from bundle.rules import build
from tools.promtool.suite import scenarios

ROOT = Path(__file__).resolve().parent.parent


def test_bundle_is_lint_clean() -> None:
    assert lint.bundle_problems(build(DEFAULT), DEFAULT, ROOT) == []


def test_bundle_has_every_required_signal() -> None:
    names = {a.name for a in build(DEFAULT).alerts}
    required = {
        "KafkaConsumerGroupLagHigh",
        "KafkaConsumerRecordsLagHigh",
        "KafkaBrokerUnderReplicatedPartitions",
        "KafkaTopicUnderReplicatedPartitions",
        "KafkaOfflinePartitions",
        "KafkaTopicUnderMinIsrPartitions",
        "KafkaNoActiveController",
        "KafkaBrokerCountDropped",
        "KafkaProduceLatencySpike",
        "KafkaTopicMessagesInDropped",
        "KafkaClusterMessagesInDropped",
        "KafkaTopicOffsetRateDropped",
        "KafkaConsumerGroupRebalanceStorm",
        "KafkaConsumerRebalanceRateHigh",
        "KafkaConsumerRebalanceSlow",
        "KafkaConsumerGroupRebalanceStuck",
        "KafkaConsumerGroupLagSecondsHigh",
        "KafkaConsumerGroupStalled",
        "KafkaVitalsExporterDown",
        "KafkaVitalsSourceDown",
        "KafkaVitalsDataStale",
        "KafkaVitalsMetricAbsent",
    }
    assert required <= names


def test_every_alert_has_firing_and_quiet_promtool_cases() -> None:
    """No alert that can never fire: each has a case where it fires and one where it must not."""
    fires: set[str] = set()
    quiet: set[str] = set()
    for s in scenarios(DEFAULT):
        for check in s.checks:
            (fires if check.firing else quiet).add(s.alert)
    names = {a.name for a in build(DEFAULT).alerts}
    assert names - fires == set()
    assert names - quiet == set()


def test_every_runbook_on_disk_belongs_to_an_alert() -> None:
    names = {a.name for a in build(DEFAULT).alerts}
    on_disk = {p.stem for p in (ROOT / "docs" / "runbooks").glob("*.md")}
    assert on_disk - names == set()


def _bad(expr: str, name: str = "KafkaTestAlert", **kw: str) -> Alert:
    base = build(DEFAULT).alert("KafkaConsumerGroupLagHigh")
    return replace(base, name=name, expr=expr, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("expr", "problem"),
    [
        (
            'kafka_server_brokertopicmetrics_messagesin_total{topic!=""} > 0',
            "counter kafka_server_brokertopicmetrics_messagesin_total used outside rate()",
        ),
        (
            "max by (topic) (kafka_consumergroup_rebalances_total) > 3",
            "counter kafka_consumergroup_rebalances_total used outside rate()",
        ),
        ("rate(kafka_consumergroup_lag_sum[5m]) > 0", "rate() on kafka_consumergroup_lag_sum"),
        ("kafka_consumergroup_lag_total > 0", "kafka_consumergroup_lag_total is not in the"),
        ("count(kafka_nonexistent_family) == 0", "kafka_nonexistent_family is not in the"),
        (
            "sum(rate(kafka_server_brokertopicmetrics_messagesin_total[1m])) > 0",
            "rate() window [1m] is shorter than 4 poll intervals (4 x 30s)",
        ),
        (
            "sum(irate(kafka_server_brokertopicmetrics_messagesin_total[5m])) > 0",
            "irate() over polled data",
        ),
        (
            "sum(increase(kafka_consumergroup_rebalances_total[$__rate_interval])) > 0",
            "increase() window [$__rate_interval] is shorter than 4 poll intervals",
        ),
    ],
)
def test_lint_catches_bad_expressions(expr: str, problem: str) -> None:
    problems = lint.expression_problems(_bad(expr))
    assert any(problem in p for p in problems), problems


def test_rate_windows_follow_the_poll_interval_of_the_bundle_config() -> None:
    expr = "sum(rate(kafka_server_brokertopicmetrics_messagesin_total[2m])) > 0"
    assert lint.expression_problems(_bad(expr)) == []
    assert lint.window_problems(expr, "30s") == []
    assert lint.window_problems(expr, "1m") == [
        "rate() window [2m] is shorter than 4 poll intervals (4 x 1m)"
    ]
    slow = replace(DEFAULT, common=replace(DEFAULT.common, poll_interval="5m"))
    problems = lint.bundle_problems(build(slow), slow, ROOT)
    assert any("shorter than 4 poll intervals (4 x 5m)" in p for p in problems), problems
    # Prometheus' own per-scrape series are not polled: any window is fine for them
    assert lint.window_problems("rate(up[1m])", "30s", frozenset({"up"})) == []


def test_lint_accepts_the_deliberate_rate_on_the_log_end_offset() -> None:
    expr = 'sum by (topic) (rate(kafka_topic_partition_current_offset{job="x"}[10m] offset 1h))'
    assert lint.expression_problems(_bad(expr)) == []


def test_lint_ignores_label_names_strings_and_durations() -> None:
    expr = (
        'label_replace(max by (cluster, instance) (kafka_vitals_up{source="admin"}) == 1, '
        '"family", "kafka_made_up", "", "") unless on (cluster, instance) kafka_brokers[5m:1m]'
    )
    assert [m for m, _ in metric_names(expr)] == ["kafka_vitals_up", "kafka_brokers"]


def test_lint_catches_bad_names_severities_texts_and_short_for(tmp_path: Path) -> None:
    a = _bad(
        "kafka_brokers < 3",
        name="brokersLow",
        severity="page",
        summary="{{ $labels.x }}",
        description="static",
        for_="10s",
    )
    problems = "\n".join(lint.alert_problems(a, DEFAULT, tmp_path))
    for expected in (
        "CamelCase",
        "severity 'page'",
        "summary must be static",
        "description must be templated",
        "no runbook",
        "under 1m without a justification",
    ):
        assert expected in problems


def test_lint_catches_duplicates_and_sections_without_reason() -> None:
    bundle = build(DEFAULT)
    doubled = replace(bundle, groups=(*bundle.groups, bundle.groups[0]))
    problems = lint.bundle_problems(doubled, DEFAULT, ROOT)
    assert any("duplicate alert name" in p for p in problems)
    assert any("duplicate group name" in p for p in problems)


def test_every_threshold_has_a_reason() -> None:
    from dataclasses import fields, is_dataclass

    from bundle.config import why

    t = BundleConfig()
    for f in fields(t):
        section = getattr(t, f.name)
        assert is_dataclass(section)
        for sf in fields(section):
            assert len(why(section, sf.name).split()) >= 3, f"{f.name}.{sf.name}"
