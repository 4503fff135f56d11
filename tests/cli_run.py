"""Run the real `kafka-vitals` console script in a subprocess, for the CLI tests."""

from __future__ import annotations

import http.client
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

from harness import procs


def console_script() -> str:
    path = shutil.which("kafka-vitals", path=str(Path(sys.executable).parent))
    if path is None:
        pytest.fail(
            "the kafka-vitals console script is not installed in the virtualenv: run "
            "`make setup` (or .venv/bin/pip install -e '.[test]')",
            pytrace=False,
        )
    return path


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment without any KAFKA_VITALS_* variable of the caller, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAFKA_VITALS_")}
    env.update(extra or {})
    return env


def run(
    *args: str, env: Mapping[str, str] | None = None, timeout: float = 120.0
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [console_script(), *args],
        capture_output=True,
        text=True,
        env=clean_env(env),
        timeout=timeout,
        check=False,
    )


def spawn_serve(
    tmp_path: Path, *args: str, env: Mapping[str, str] | None = None
) -> tuple[procs.Managed, int]:
    """Start `kafka-vitals serve` on a free loopback port; returns the process and the port."""
    (port,) = procs.free_ports(1)
    cmd = [console_script(), "serve", f"--web.listen-address=127.0.0.1:{port}", *args]
    proc = procs.spawn(
        "kafka-vitals", cmd, log_path=tmp_path / "serve.log", ports=[port], env=clean_env(env)
    )
    return proc, port


def get(port: int, path: str, timeout: float = 5.0, **headers: str) -> tuple[int, bytes]:
    return request(http.client.HTTPConnection("127.0.0.1", port, timeout=timeout), path, headers)


def request(
    conn: http.client.HTTPConnection, path: str, headers: dict[str, str]
) -> tuple[int, bytes]:
    """GET `path` on `conn` (plain or TLS), header names with `_` for `-`; (status, body)."""
    try:
        conn.request("GET", path, headers={k.replace("_", "-"): v for k, v in headers.items()})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()
