"""The real `kafka-vitals` console script: version, help, one line per configuration problem
with exit code 2 and no traceback, a taken port, and Kafka unreachable (check and serve)."""

from __future__ import annotations

import signal
import socket
from pathlib import Path

from exporter import __version__
from harness import procs
from tests.cli_run import get, run, spawn_serve


def _closed_port() -> int:
    (port,) = procs.free_ports(1)
    return port


def test_version_and_help() -> None:
    result = run("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"kafka-vitals {__version__}"
    result = run("--help")
    assert result.returncode == 0 and "serve" in result.stdout and "check" in result.stdout
    result = run("serve", "--help")
    assert result.returncode == 0
    assert "--web.listen-address" in result.stdout
    assert "KAFKA_VITALS_KAFKA_BOOTSTRAP_SERVERS" in result.stdout
    assert "sasl-password " not in result.stdout  # secrets have no flag
    assert run().returncode == 2


def test_bad_config_one_line_per_problem_exit_2(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text(
        "kafka:\n"
        "  bootstrap_server: localhost:9092\n"
        "  sasl_password_file: /nonexistent/password\n"
        "poll:\n"
        "  interval_seconds: soon\n"
        "filters:\n"
        "  group_deny: ['(unclosed']\n",
        encoding="utf-8",
    )
    for command in ("check", "serve"):
        result = run(command, "--config", str(config))
        assert result.returncode == 2, result.stderr
        assert "Traceback" not in result.stderr and result.stdout == ""
        assert result.stderr.splitlines() == [
            "config: kafka.bootstrap_server: unknown key (did you mean 'bootstrap_servers'?)",
            "config: kafka.sasl_password_file: cannot read '/nonexistent/password': "
            "No such file or directory",
            "config: poll.interval_seconds: expected a number, got 'soon'",
            "config: filters.group_deny[0]: invalid regex '(unclosed': missing ), "
            "unterminated subpattern at position 0",
            "config: kafka.bootstrap_servers: required: a comma-separated list of host:port",
        ]


def test_bad_flags_env_and_yaml_exit_2(tmp_path: Path) -> None:
    result = run("serve", "--web.listen-adress", ":1")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "kafka-vitals serve: unknown flag --web.listen-adress (did you mean --web.listen-address?)"
    ]
    result = run(
        "check",
        "--log.level=loud",
        env={"KAFKA_VITALS_KAFKA_BOOTSTRAP_SERVERS": "a:1", "KAFKA_VITALS_POLL_SERIES_CAP": "x"},
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        "config: poll.series_cap (from KAFKA_VITALS_POLL_SERIES_CAP): expected an integer, got 'x'",
        "config: log.level (from --log.level): must be one of 'debug', 'info', 'warn', 'error', "
        "got 'loud'",
    ]
    broken = tmp_path / "broken.yaml"
    broken.write_text("kafka:\n  bootstrap_servers: 'a:1\n", encoding="utf-8")
    result = run("check", "--config", str(broken))
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"config: {broken}:3:1: while scanning a quoted scalar")
    result = run("chek")
    assert result.returncode == 2 and len(result.stderr.splitlines()) == 1


def test_check_with_kafka_unreachable_exits_1() -> None:
    env = {
        "KAFKA_VITALS_KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{_closed_port()}",
        "KAFKA_VITALS_POLL_STAGE_TIMEOUT_SECONDS": "2",
        "KAFKA_VITALS_LOG_LEVEL": "error",
    }
    result = run("check", env=env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    out = result.stdout
    assert "admin" in out and "DOWN" in out
    assert any(line.strip().startswith("metadata: ") for line in out.splitlines())
    assert out.splitlines()[-1] == "result: FAILED, not answering: admin"


def test_serve_with_kafka_unreachable_answers_with_up_0(tmp_path: Path) -> None:
    env = {
        "KAFKA_VITALS_KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{_closed_port()}",
        "KAFKA_VITALS_POLL_STAGE_TIMEOUT_SECONDS": "2",
        "KAFKA_VITALS_POLL_INTERVAL_SECONDS": "3",
        "KAFKA_VITALS_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "KAFKA_VITALS_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "KAFKA_VITALS_KAFKA_SASL_USERNAME": "exporter",
        "KAFKA_VITALS_KAFKA_SASL_PASSWORD": "hunter2-secret",
        "KAFKA_VITALS_LOG_LEVEL": "debug",
    }
    proc, port = spawn_serve(tmp_path, env=env)
    try:
        procs.wait_for(lambda: get(port, "/healthz")[0] == 200, 60, "kafka-vitals /healthz",
                       check=lambda: _alive(proc))  # fmt: skip
        status, body = get(port, "/metrics", timeout=2.0)  # before or after the first poll
        assert status == 200 and b"kafka_vitals_build_info{" in body

        def admin_down() -> bool:
            return b'kafka_vitals_up{source="admin"} 0\n' in get(port, "/metrics", 2.0)[1]

        procs.wait_for(
            admin_down, 60, "kafka_vitals_up{source=admin} 0", check=lambda: _alive(proc)
        )
        for _ in range(5):  # every scrape answers at once, also while a poll waits on Kafka
            status, body = get(port, "/metrics", timeout=2.0)
            assert status == 200 and b'kafka_vitals_up{source="admin"} 0\n' in body
        assert get(port, "/ready")[0] == 503
        page = get(port, "/")[1]
        assert b"exporter" in page and b"hunter2" not in page
        proc.signal(signal.SIGTERM)
        proc.wait(30)
        assert proc.popen is not None and proc.popen.returncode == 0, proc.log_tail()
    finally:
        proc.kill()
    log = (tmp_path / "serve.log").read_text()
    assert "Traceback" not in log and "stopping signal=SIGTERM" in log
    assert "kafka.sasl_password=<hidden>" in log and "hunter2" not in log


def test_serve_on_a_taken_port_exits_1(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run(
            "serve",
            f"--web.listen-address=127.0.0.1:{port}",
            env={"KAFKA_VITALS_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9"},
        )
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == (
        f"kafka-vitals: cannot listen on 127.0.0.1:{port}: Address already in use"
    )
    assert "Traceback" not in result.stderr


def _alive(proc: procs.Managed) -> None:
    if not proc.alive():
        raise procs.HarnessError(f"kafka-vitals serve exited:\n{proc.log_tail()}")
