"""The harness command line: `kafka up` starts a detached cluster that `kafka down` removes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from harness import jars
from harness.clients import partitions
from harness.procs import pid_alive, port_open

pytestmark = pytest.mark.kafka


def harness(args: list[str], state: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KAFKA_VITALS_STATE": str(state)}
    return subprocess.run(
        [sys.executable, "-m", "harness", *args],
        cwd=jars.REPO_ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def test_kafka_up_status_down(tmp_path: Path) -> None:
    state = tmp_path / "cluster.json"
    up = harness(["kafka", "up", "--brokers", "1"], state)
    try:
        assert up.returncode == 0, up.stderr
        bootstrap = re.search(r"^bootstrap.servers=(\S+)$", up.stdout, re.M)
        jmx_port = re.search(r"jmx port (\d+)", up.stdout)
        assert bootstrap and jmx_port, up.stdout
        assert port_open(int(jmx_port[1]))
        assert partitions(bootstrap[1]) == []  # serves metadata, no topics yet
        again = harness(["kafka", "up"], state)
        assert again.returncode == 1
        assert "already running" in again.stderr
        assert harness(["kafka", "status"], state).returncode == 0
        pids = [node["pid"] for node in json.loads(state.read_text())["nodes"]]
        assert all(pid_alive(pid) for pid in pids)
    finally:
        down = harness(["kafka", "down"], state)
    assert down.returncode == 0, down.stderr
    assert "cluster stopped" in down.stdout
    assert not state.exists()
    assert not any(pid_alive(pid) for pid in pids)  # so none holds a port any more
    assert harness(["kafka", "status"], state).returncode == 1


def test_unknown_command_exits_non_zero(tmp_path: Path) -> None:
    result = harness(["nonsense"], tmp_path / "s.json")
    assert result.returncode == 2
    assert "invalid choice" in result.stderr
