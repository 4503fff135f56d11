"""Foundation tests for the real Prometheus and Alertmanager the harness runs."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from harness.procs import HarnessError, require_binary
from harness.prom import Alertmanager, PrometheusServer, WebhookReceiver

pytestmark = pytest.mark.prometheus

RULES = """
groups:
  - name: harness
    rules:
      - alert: HarnessTestAlways
        expr: harness_test_value > 40
        labels: {severity: info}
        annotations: {summary: harness test}
"""


def scrape_config(target: str, **extra: object) -> dict[str, object]:
    return {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [{"job_name": "trivial", "static_configs": [{"targets": [target]}]}],
        **extra,
    }


def test_prometheus_scrapes_and_answers_queries(
    prometheus_factory: Callable[..., PrometheusServer], webhook_receiver: WebhookReceiver
) -> None:
    webhook_receiver.metrics_text = "# TYPE harness_test_value gauge\nharness_test_value 42\n"
    prom = prometheus_factory(scrape_config(webhook_receiver.address))

    value = prom.wait_for_value('harness_test_value{job="trivial"}', lambda v: v == 42, 60)
    assert value == 42.0
    assert [t["health"] for t in prom.targets()] == ["up"]
    assert prom.query_value("absent_metric_name") is None
    with pytest.raises(HarnessError, match="HTTP 400"):
        prom.query("this is not promql")

    # Zero is a value, not "no result yet".
    webhook_receiver.metrics_text = "# TYPE harness_test_value gauge\nharness_test_value 0\n"
    zero = prom.wait_for_value('harness_test_value{job="trivial"}', lambda v: v == 0, 60)
    assert zero == 0.0
    with pytest.raises(HarnessError, match="timed out"):
        prom.wait_for_value('absent_metric_name{job="trivial"}', lambda v: v == 0, 2)


def test_alertmanager_delivers_a_posted_alert_to_the_webhook(
    alertmanager: Alertmanager, webhook_receiver: WebhookReceiver
) -> None:
    alertmanager.post_alerts(
        [{"labels": {"alertname": "HarnessPosted", "severity": "info"},
          "annotations": {"summary": "posted by a test"}}]
    )  # fmt: skip
    alert = webhook_receiver.wait_for_alert("HarnessPosted", timeout=60)
    assert alert["annotations"]["summary"] == "posted by a test"
    assert [a["labels"]["alertname"] for a in alertmanager.alerts()] == ["HarnessPosted"]


def test_rule_fires_through_alertmanager_after_reload(
    prometheus_factory: Callable[..., PrometheusServer],
    alertmanager: Alertmanager,
    webhook_receiver: WebhookReceiver,
) -> None:
    webhook_receiver.metrics_text = "harness_test_value 42\n"
    alerting = {"alertmanagers": [{"static_configs": [{"targets": [alertmanager.address]}]}]}
    prom = prometheus_factory(scrape_config(webhook_receiver.address, alerting=alerting))
    assert prom.api("rules")["groups"] == []

    prom.reload(scrape_config(webhook_receiver.address, alerting=alerting), {"h.yml": RULES})
    alert = webhook_receiver.wait_for_alert("HarnessTestAlways", timeout=90)
    assert alert["labels"]["severity"] == "info"
    assert [a["labels"]["alertname"] for a in prom.alerts()] == ["HarnessTestAlways"]


def test_missing_binary_names_the_package() -> None:
    with pytest.raises(HarnessError, match="install the Debian package 'nope'"):
        require_binary("kafka-vitals-no-such-binary", "install the Debian package 'nope'")
