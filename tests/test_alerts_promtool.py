"""The rendered rules and Alertmanager config checked by the real `promtool` and `amtool`, and the
example Alertmanager config's routing and inhibitions checked in a real Alertmanager."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from bundle.config import DEFAULT, BundleConfig
from bundle.files import write_alerts
from bundle.outputs import ALERTMANAGER_PATH, CRD_PATH, RULES_PATH, alertmanager_document
from bundle.overrides import apply
from harness.prom import Alertmanager, WebhookReceiver
from tools.promtool import suite
from tools.promtool.suite import TESTS_PATH, write_tests

ROOT = Path(__file__).resolve().parent.parent


def tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(
            f"'{name}' not found on PATH: install the Debian package '{package}' (`make setup`)",
            pytrace=False,
        )
    return path


def run(*args: str, cwd: Path | None = None, timeout: float = 300) -> str:
    proc = subprocess.run(
        list(args), capture_output=True, text=True, cwd=cwd, timeout=timeout, check=False
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"{' '.join(args)} failed:\n{out[-6000:]}"
    return out


def test_promtool_check_rules_on_the_committed_rule_file() -> None:
    out = run(tool("promtool", "prometheus"), "check", "rules", str(ROOT / RULES_PATH))
    assert "SUCCESS" in out


def test_promtool_check_rules_on_the_prometheusrule_spec(tmp_path: Path) -> None:
    crd = yaml.safe_load((ROOT / CRD_PATH).read_text())
    assert crd["kind"] == "PrometheusRule"
    assert crd["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump(crd["spec"]))
    run(tool("promtool", "prometheus"), "check", "rules", str(spec))


def test_committed_promtool_tests_match_a_fresh_render() -> None:
    """Drift: the promtool tests come from `tools.promtool` (not the installed package)."""
    committed = (ROOT / TESTS_PATH).read_text(encoding="utf-8")
    assert committed == suite.tests_yaml(DEFAULT), f"{TESTS_PATH} is stale: run `make render`"


@pytest.mark.timeout(900)
def test_promtool_test_rules_for_every_alert() -> None:
    """Every alert: firing, not firing at the threshold, pending within for, resolving, NaN."""
    tests = ROOT / TESTS_PATH
    out = run(
        tool("promtool", "prometheus"), "test", "rules", tests.name, cwd=tests.parent, timeout=900
    )
    assert "SUCCESS" in out


OVERRIDES: dict[str, Any] = {
    "common": {
        "selector": 'job="kv", env="prod"',
        "cluster_label": "",
        "extra_labels": {"team": "platform"},
        "runbook_url_base": "https://runbooks.example.org/kafka",
    },
    "consumer_lag": {"messages": 500, "for": "2m", "severity": "critical"},
    "under_replicated": {"for": "1m", "keep_firing_for": "0s"},
    "broker_count": {"window": "30m"},
    "messages_in": {"offset": "30m", "drop_ratio": 0.5, "min_rate": 2},
    "produce_latency": {"factor": 2, "floor_ms": 50, "baseline_window": "30m"},
    "data_stale": {"intervals": 3},
    "rebalance_rate": {"per_hour": 12},
}


@pytest.mark.timeout(900)
def test_promtool_tests_hold_for_overridden_thresholds(tmp_path: Path) -> None:
    """The generated cases follow the thresholds: another selector, no cluster label, extra
    labels, other thresholds and windows still give a bundle whose own tests pass."""
    errors: list[str] = []
    t = apply(OVERRIDES, DEFAULT, errors)
    assert errors == []
    write_alerts(tmp_path, t)
    assert write_tests(tmp_path, t) == [tmp_path / TESTS_PATH]
    rules = (tmp_path / RULES_PATH).read_text()
    assert 'job="kv", env="prod"' in rules
    assert "by (cluster" not in rules and "on (cluster" not in rules
    promtool = tool("promtool", "prometheus")
    run(promtool, "check", "rules", str(tmp_path / RULES_PATH))
    tests = tmp_path / TESTS_PATH
    run(promtool, "test", "rules", tests.name, cwd=tests.parent, timeout=900)


def test_amtool_check_config_on_the_example() -> None:
    out = run(
        tool("amtool", "prometheus-alertmanager"), "check-config", str(ROOT / ALERTMANAGER_PATH)
    )
    assert "SUCCESS" in out
    assert "3 inhibit rules" in out


@pytest.mark.parametrize(
    ("severity", "receiver"), [("critical", "critical"), ("warning", "warning"), ("info", "info")]
)
def test_amtool_routes_each_severity_to_its_receiver(severity: str, receiver: str) -> None:
    out = run(
        tool("amtool", "prometheus-alertmanager"),
        "config",
        "routes",
        "test",
        f"--config.file={ROOT / ALERTMANAGER_PATH}",
        "alertname=KafkaAnything",
        f"severity={severity}",
    )
    assert out.splitlines()[0].strip() == receiver


def _alert(name: str, severity: str, **labels: str) -> dict[str, Any]:
    return {"labels": {"alertname": name, "severity": severity, "cluster": "c1", **labels}}


def test_alertmanager_inhibits_per_topic_pages_behind_a_dead_broker(
    alertmanager_factory: Callable[[str | Mapping[str, Any]], Alertmanager],
    webhook_receiver: WebhookReceiver,
) -> None:
    """Real Alertmanager, the example config (webhook and timings pointed at the test): a dead
    broker pages once; the per-topic URP alerts of the same cluster are inhibited; another
    cluster's URP still pages."""
    errors: list[str] = []
    t: BundleConfig = apply(
        {"output": {"webhook_url": webhook_receiver.url.rstrip("/"), "group_wait": "1s",
                    "group_interval": "1s"}},
        DEFAULT,
        errors,
    )  # fmt: skip
    assert errors == []
    am = alertmanager_factory(alertmanager_document(t))
    am.post_alerts([_alert("KafkaBrokerCountDropped", "critical")])
    # Inhibition applies to alerts arriving while the source fires.
    time.sleep(1)
    am.post_alerts(
        [
            _alert("KafkaTopicUnderReplicatedPartitions", "critical", topic="orders"),
            _alert("KafkaTopicUnderReplicatedPartitions", "critical", topic="orders", cluster="c2"),
        ]
    )
    webhook_receiver.wait_for_alert("KafkaBrokerCountDropped", timeout=30)
    got = webhook_receiver.wait_for_alert("KafkaTopicUnderReplicatedPartitions", timeout=30)
    assert got["labels"]["cluster"] == "c2"

    def inhibited() -> list[str]:
        return [
            a["labels"]["cluster"]
            for a in am.alerts()
            if a["labels"]["alertname"] == "KafkaTopicUnderReplicatedPartitions"
            and a["status"]["inhibitedBy"]
        ]

    deadline = time.monotonic() + 30
    while inhibited() != ["c1"] and time.monotonic() < deadline:
        time.sleep(0.5)
    assert inhibited() == ["c1"]
    time.sleep(2)  # a few group intervals: the inhibited alert must still not have been sent
    sent = [
        a["labels"].get("cluster")
        for a in webhook_receiver.alerts()
        if a["labels"]["alertname"] == "KafkaTopicUnderReplicatedPartitions"
    ]
    assert sent and set(sent) == {"c2"}
