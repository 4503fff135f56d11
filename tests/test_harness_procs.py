"""The harness's process control without Kafka: signals, waiting, and leftover tracking."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from harness import cluster, procs
from harness.procs import HarnessError


def test_spawned_process_can_be_paused_resumed_and_stopped(tmp_path: Path) -> None:
    proc = procs.spawn("sleeper", ["sleep", "60"], log_path=tmp_path / "out.log")
    assert proc in procs.tracked()
    proc.pause()
    assert proc.alive()
    proc.resume()
    proc.stop(timeout=10)
    assert not proc.alive()
    assert not any(p.startswith("sleeper ") for p in procs.leftovers())


def test_a_listening_port_is_reported_until_its_process_is_gone(tmp_path: Path) -> None:
    port = procs.free_ports(1)[0]
    server = [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port)]
    proc = procs.spawn("http-server", server, log_path=tmp_path / "out.log", ports=(port,))
    procs.wait_for(lambda: procs.port_open(port), 30, "test http server")
    assert f"http-server pid={proc.pid} still running" in procs.leftovers()
    assert procs._listener_pids(port) == {proc.pid}
    proc.kill()
    assert not procs.port_open(port)
    assert not [p for p in procs.leftovers() if p.startswith("http-server")]


def test_wait_for_names_what_timed_out() -> None:
    def boom() -> bool:
        raise ValueError("not yet")

    with pytest.raises(HarnessError, match=r"waiting for the thing \(last error: not yet\)"):
        procs.wait_for(boom, 0.3, "the thing", interval=0.1)


def test_missing_command_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(HarnessError, match="cannot start ghost"):
        procs.spawn("ghost", ["kafka-vitals-no-such-command"], log_path=tmp_path / "o.log")


def test_data_dirs_of_dead_owners_are_swept(tmp_path: Path) -> None:
    root = Path(tempfile.gettempdir())
    stale = Path(tempfile.mkdtemp(prefix=cluster.DIR_PREFIX, dir=root))
    live = Path(tempfile.mkdtemp(prefix=cluster.DIR_PREFIX, dir=root))
    unowned = Path(tempfile.mkdtemp(prefix=cluster.DIR_PREFIX, dir=root))
    try:
        (stale / cluster.OWNER_FILE).write_text(f"{_exited_pid()}\n")
        (live / cluster.OWNER_FILE).write_text(f"{os.getpid()}\n")
        cluster.sweep_stale_dirs()
        assert not stale.exists()
        assert live.exists() and unowned.exists()
    finally:
        for path in (stale, live, unowned):
            shutil.rmtree(path, ignore_errors=True)


def _exited_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid
