"""Real Prometheus and Alertmanager servers for tests, and an in-process webhook receiver.

`PrometheusServer` and `Alertmanager` run the Debian binaries (`prometheus`,
`prometheus-alertmanager`) on free loopback ports with their data in a temporary directory and
wait for `/-/ready`. `WebhookReceiver` is a tiny HTTP server in a thread: it records every JSON
payload POSTed to it (Alertmanager notifications) and serves a settable `/metrics` text, which
makes it a trivial scrape target too.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

from harness.procs import HarnessError, Managed, free_ports, require_binary, spawn, wait_for

log = logging.getLogger(__name__)

PROMETHEUS_HINT = "install the Debian package 'prometheus' (`make setup` does)"
ALERTMANAGER_HINT = "install the Debian package 'prometheus-alertmanager' (`make setup` does)"


def http_json(url: str, data: Any = None, timeout: float = 10.0) -> Any:
    """GET (or POST `data` as JSON) and decode the JSON answer; HarnessError on failure."""
    body = None if data is None else json.dumps(data).encode()
    req = urllib.request.Request(url, data=body, method="GET" if body is None else "POST")
    if body is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            raw = resp.read()
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace")[:500]
        raise HarnessError(f"HTTP {exc.code} from {url}: {detail}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise HarnessError(f"cannot reach {url}: {exc}") from exc
    return json.loads(raw) if raw.strip() else None


class _Server:
    """A binary serving HTTP on a free loopback port, with its files in a temporary directory."""

    binary = ""
    hint = ""

    def __init__(self, config: str | Mapping[str, Any]) -> None:
        self.path = require_binary(self.binary, self.hint)
        self.dir = Path(tempfile.mkdtemp(prefix=f"kafka-vitals-{self.binary}-"))
        self.port = free_ports(1)[0]
        self.config_path = self.dir / "config.yml"
        self.write_config(config)
        self.process: Managed | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    @property
    def log_path(self) -> Path:
        return self.dir / "server.log"

    def write_config(self, config: str | Mapping[str, Any]) -> None:
        text = config if isinstance(config, str) else yaml.safe_dump(dict(config), sort_keys=False)
        self.config_path.write_text(text)

    def args(self) -> list[str]:
        raise NotImplementedError

    def start(self, timeout: float = 60.0) -> _Server:
        self.process = spawn(
            self.binary, [self.path, *self.args()], log_path=self.log_path, ports=(self.port,)
        )
        process = self.process

        def ready() -> bool:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as resp:
                return bool(resp.status == 200)

        def check() -> None:
            if not process.alive():
                raise HarnessError(f"{self.binary} exited while starting:\n{process.log_tail()}")

        try:
            wait_for(ready, timeout, f"{self.binary} at {self.url} to be ready", check=check)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop(timeout=15)
        shutil.rmtree(self.dir, ignore_errors=True)


class PrometheusServer(_Server):
    """Prometheus with a test-written config and rule files (`rules`: file name -> YAML text).

    Rule files are written beside the config; a dict config without `rule_files` gets them all.
    """

    binary = "prometheus"
    hint = PROMETHEUS_HINT

    def __init__(
        self, config: str | Mapping[str, Any], rules: Mapping[str, str] | None = None
    ) -> None:
        self.rules = dict(rules or {})
        super().__init__(config)

    def write_config(self, config: str | Mapping[str, Any]) -> None:
        for name, text in self.rules.items():
            (self.config_path.parent / name).write_text(text)
        if not isinstance(config, str) and self.rules and "rule_files" not in config:
            config = {**config, "rule_files": sorted(self.rules)}
        super().write_config(config)

    def args(self) -> list[str]:
        return [
            f"--config.file={self.config_path}",
            f"--storage.tsdb.path={self.dir / 'data'}",
            f"--web.listen-address={self.address}",
            "--web.enable-lifecycle",
            "--log.level=warn",
        ]

    def reload(
        self, config: str | Mapping[str, Any] | None = None, rules: Mapping[str, str] | None = None
    ) -> None:
        """Rewrite config and/or rules, then POST /-/reload."""
        if rules is not None:
            self.rules = dict(rules)
        if config is not None or rules is not None:
            current = config if config is not None else self.config_path.read_text()
            self.write_config(current)
        req = urllib.request.Request(f"{self.url}/-/reload", method="POST")
        try:
            with urllib.request.urlopen(req, timeout=10):
                pass
        except urllib.error.HTTPError as exc:
            raise HarnessError(f"prometheus reload failed: {exc.read().decode()[:500]}") from exc

    def api(self, path: str, **params: str) -> Any:
        """GET /api/v1/<path> and return its `data`; HarnessError unless status is success."""
        query = urllib.parse.urlencode(params)
        answer = http_json(f"{self.url}/api/v1/{path}" + (f"?{query}" if query else ""))
        if not isinstance(answer, dict) or answer.get("status") != "success":
            raise HarnessError(f"prometheus /api/v1/{path} answered {answer!r}")
        return answer["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        """Instant query; the vector result as a list of {metric, value}."""
        data = self.api("query", query=expr)
        result: list[dict[str, Any]] = data["result"]
        return result

    def query_value(self, expr: str) -> float | None:
        """The single value of an instant query, None when the result is empty."""
        result = self.query(expr)
        if not result:
            return None
        if len(result) > 1:
            raise HarnessError(f"query {expr!r} returned {len(result)} series, expected one")
        return float(result[0]["value"][1])

    def wait_for_value(
        self, expr: str, condition: Callable[[float], bool], timeout: float = 60.0
    ) -> float:
        """Poll `expr` until its single value satisfies `condition`; return that value.

        An empty result is "not yet"; a value of 0 is a value like any other, so
        `lambda v: v == 0` waits for zero.
        """

        def probe() -> tuple[float] | None:
            value = self.query_value(expr)
            # Boxed: wait_for stops on a truthy answer, and 0.0 alone is falsy.
            return (value,) if value is not None and condition(value) else None

        (value,) = wait_for(probe, timeout, f"query {expr!r} to satisfy the condition")
        return value

    def alerts(self) -> list[dict[str, Any]]:
        """Active alerts (pending and firing) from /api/v1/alerts."""
        alerts: list[dict[str, Any]] = self.api("alerts")["alerts"]
        return alerts

    def targets(self) -> list[dict[str, Any]]:
        active: list[dict[str, Any]] = self.api("targets")["activeTargets"]
        return active


class Alertmanager(_Server):
    """Alertmanager with a test-written config, clustering off."""

    binary = "prometheus-alertmanager"
    hint = ALERTMANAGER_HINT

    def args(self) -> list[str]:
        return [
            f"--config.file={self.config_path}",
            f"--storage.path={self.dir / 'data'}",
            f"--web.listen-address={self.address}",
            "--cluster.listen-address=",
            "--log.level=warn",
        ]

    def post_alerts(self, alerts: list[dict[str, Any]]) -> None:
        """POST alerts to /api/v2/alerts (each needs at least `labels`)."""
        http_json(f"{self.url}/api/v2/alerts", data=alerts)

    def alerts(self) -> list[dict[str, Any]]:
        alerts: list[dict[str, Any]] = http_json(f"{self.url}/api/v2/alerts")
        return alerts


def webhook_config(receiver_url: str, **route: str) -> dict[str, Any]:
    """An Alertmanager config sending every alert to one webhook quickly (no grouping delay)."""
    return {
        "route": {
            "receiver": "test",
            "group_by": ["..."],
            "group_wait": "1s",
            "group_interval": "1s",
            "repeat_interval": "1h",
            **route,
        },
        "receivers": [{"name": "test", "webhook_configs": [{"url": receiver_url}]}],
    }


class WebhookReceiver:
    """Records JSON POSTed to any path; serves `metrics_text` on GET /metrics."""

    def __init__(self) -> None:
        self.payloads: list[dict[str, Any]] = []
        self.metrics_text = ""
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    payload = json.loads(self.rfile.read(length) or b"null")
                except ValueError:
                    self.send_error(400, "body is not JSON")
                    return
                with receiver._lock:
                    receiver.payloads.append(payload)
                self.send_response(200)
                self.end_headers()

            def do_GET(self) -> None:
                if self.path.split("?")[0] != "/metrics":
                    self.send_error(404)
                    return
                body = receiver.metrics_text.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                log.debug("webhook request " + format, *args)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="webhook-receiver", daemon=True
        )
        self._thread.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}/"

    def alerts(self) -> list[dict[str, Any]]:
        """Every alert of every notification received so far, in arrival order."""
        with self._lock:
            return [a for p in self.payloads if isinstance(p, dict) for a in p.get("alerts", [])]

    def wait_for_alert(
        self, alertname: str, status: str = "firing", timeout: float = 60.0
    ) -> dict[str, Any]:
        """Wait until an alert named `alertname` with `status` has arrived; return it."""

        def find() -> dict[str, Any] | None:
            for alert in self.alerts():
                labels = alert.get("labels", {})
                if labels.get("alertname") == alertname and alert.get("status") == status:
                    return alert
            return None

        found: dict[str, Any] = wait_for(find, timeout, f"{status} alert {alertname!r} at webhook")
        return found

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
