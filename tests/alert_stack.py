"""What the end-to-end alert tests share: the bundle rendered with a webhook receiver as the
Alertmanager's route, a real Prometheus that scrapes one `kafka-vitals serve` and sends its alerts
to that Alertmanager, and the first firing notification of an alert the receiver got."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

from bundle.outputs import ALERTMANAGER_PATH, RULES_PATH
from harness.prom import Alertmanager, PrometheusServer, WebhookReceiver
from tests.cli_run import run


def render_bundle(tmp_path: Path, receiver: WebhookReceiver, overrides: Mapping[str, Any]) -> Path:
    """`kafka-vitals render` with `overrides` and the receiver as the route (short group waits);
    returns the output directory."""
    output = {"webhook_url": receiver.url.rstrip("/"), "group_wait": "1s",
              "group_interval": "2s", "repeat_interval": "1h"}  # fmt: skip
    overrides_file = tmp_path / "overrides.yaml"
    overrides_file.write_text(yaml.safe_dump({**overrides, "output": output}))
    out = tmp_path / "rendered"
    rendered = run("render", "--overrides", str(overrides_file), "--out", str(out))
    assert rendered.returncode == 0, rendered.stderr
    return out


def start_alertmanager(factory: Callable[[str], Alertmanager], out: Path) -> Alertmanager:
    """Alertmanager with the rendered example configuration."""
    return factory((out / ALERTMANAGER_PATH).read_text())


def scraping_prometheus(
    factory: Callable[..., PrometheusServer], port: int, am: Alertmanager, out: Path
) -> PrometheusServer:
    """Prometheus scraping kafka-vitals on `port` every 2 s with the rendered rules."""
    return factory(
        {"global": {"scrape_interval": "2s", "evaluation_interval": "2s"},
         "scrape_configs": [{"job_name": "kafka-vitals",
                             "static_configs": [{"targets": [f"127.0.0.1:{port}"]}]}],
         "alerting": {"alertmanagers": [{"static_configs": [{"targets": [am.address]}]}]}},
        {"kafka-vitals-rules.yaml": (out / RULES_PATH).read_text()},
    )  # fmt: skip


def firing(receiver: WebhookReceiver, alertname: str) -> dict[str, Any] | None:
    """The first firing notification of `alertname` the receiver got, or None."""
    for payload in list(receiver.payloads):
        for alert in payload.get("alerts", []):
            if alert["labels"].get("alertname") == alertname and alert.get("status") == "firing":
                return dict(alert)
    return None
