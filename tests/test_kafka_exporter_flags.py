"""kafka_exporter's flags accepted as they are and mapped onto the configuration; the command
serves without a subcommand; `--version` anywhere; `--[no-]` booleans; help in the layout of
Prometheus exporters. Pure parsing in-process, and the real console script where exit codes and
output matter."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from exporter import __version__
from exporter.cli import arrange, build_parser, load
from exporter.cli.compat import translate, unanchored
from exporter.config import DEFAULT_PORT, Config, Secret
from exporter.sources.filters import Filters
from harness import procs
from tests.cli_run import console_script, get, run
from tests.exposition_check import KAFKA_EXPORTER_SUM_GAUGES


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("KAFKA_VITALS_"):
            monkeypatch.delenv(name)


def config_of(*argv: str) -> Config:
    parser, children = build_parser()
    return load(parser.parse_args(arrange(argv, children)))


def test_kafka_server_repeatable() -> None:
    config = config_of("--kafka.server=a:9092", "--kafka.server", "b:9092", "--kafka.server=c:1")
    assert config.kafka.bootstrap_servers == "a:9092,b:9092,c:1"


def test_topic_and_group_filter_and_exclude_match_anywhere_like_kafka_exporter() -> None:
    config = config_of(
        "--kafka.server=k:9092",
        "--topic.filter=^orders",
        "--topic.exclude=internal",
        "--group.filter=app",
        "--group.exclude=^console-consumer-",
    )
    f = config.filters
    compiled = Filters.from_config(f)
    assert f.topic_allow == (unanchored("^orders"),) and f.topic_deny == (unanchored("internal"),)
    assert f.group_allow == (unanchored("app"),)
    assert f.group_deny == (unanchored("^console-consumer-"),)
    topics = compiled.topics
    assert topics("orders") and topics("orders.eu") and not topics("eu.orders")
    assert not topics("orders.internal.x")
    groups = compiled.groups
    assert groups("my-app-1") and not groups("console-consumer-77") and not groups("billing")


def test_kafka_exporter_filter_defaults_mean_everything() -> None:
    config = config_of(
        "--kafka.server=k:9092",
        "--topic.filter=.*",
        "--topic.exclude=^$",
        "--group.filter=.*",
        "--group.exclude=^$",
    )
    assert config.filters == Config().filters


def test_bad_filter_regex_names_the_kafka_exporter_flag() -> None:
    result = run("--kafka.server=k:9092", "--group.exclude=(")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith("config: filters.group_deny[0] (from --group.exclude): invalid regex")


@pytest.mark.parametrize(
    ("argv", "protocol", "mechanism"),
    [
        (["--sasl.enabled"], "SASL_PLAINTEXT", "PLAIN"),
        (["--sasl.enabled", "--sasl.mechanism=scram-sha512"], "SASL_PLAINTEXT", "SCRAM-SHA-512"),
        (
            ["--sasl.enabled", "--tls.enabled", "--sasl.mechanism=scram-sha256"],
            "SASL_SSL",
            "SCRAM-SHA-256",
        ),
        (["--tls.enabled"], "SSL", ""),
        (["--tls.enabled", "--no-sasl.enabled"], "SSL", ""),
        (["--sasl.enabled=false", "--tls.enabled=true"], "SSL", ""),
    ],
)
def test_sasl_and_tls_switches(argv: list[str], protocol: str, mechanism: str) -> None:
    config = config_of("--kafka.server=k:9092", "--sasl.username=u", "--sasl.password=p", *argv)
    assert config.kafka.security_protocol == protocol
    assert config.kafka.sasl_mechanism == mechanism


def test_sasl_credentials_and_tls_files(tmp_path: Path) -> None:
    files = {}
    for name in ("ca", "cert", "key"):
        files[name] = tmp_path / f"{name}.pem"
        files[name].write_text("x")
    config = config_of(
        "--kafka.server=k:9092",
        "--sasl.enabled",
        "--tls.enabled",
        "--sasl.username=exporter",
        "--sasl.password=s3cret",
        f"--tls.ca-file={files['ca']}",
        f"--tls.cert-file={files['cert']}",
        f"--tls.key-file={files['key']}",
        "--tls.insecure-skip-tls-verify",
        "--sasl.handshake",
    )
    k = config.kafka
    assert k.sasl_username == "exporter" and k.sasl_password == Secret("s3cret")
    assert (k.tls_ca_file, k.tls_cert_file, k.tls_key_file) == tuple(
        str(files[n]) for n in ("ca", "cert", "key")
    )
    assert k.tls_verify_hostname is False
    assert k.extra_properties["enable.ssl.certificate.verification"] == "false"


def test_web_and_log_flags_keep_their_names() -> None:
    config = config_of(
        "--kafka.server=k:9092",
        "--web.listen-address=:9308",
        "--web.telemetry-path=/kafka-metrics",
        "--log.level=debug",
    )
    assert config.web.listen_address == ":9308"
    assert config.web.telemetry_path == "/kafka-metrics"
    assert config.log.level == "debug"
    assert Config().web.listen_address == f":{DEFAULT_PORT}"


def test_own_flag_wins_over_the_kafka_exporter_flag() -> None:
    config = config_of("--kafka.server=a:1", "--kafka.bootstrap-servers=b:2")
    assert config.kafka.bootstrap_servers == "b:2"


def test_flags_without_effect_warn_and_unsupported_ones_are_refused() -> None:
    parser, children = build_parser()
    args = parser.parse_args(
        arrange(["--kafka.version=2.0.0", "--no-offset.show-all", "--kafka.labels=x"], children)
    )
    out = translate(args)
    assert not out.problems and len(out.warnings) == 3
    for argv, says in (
        (["--sasl.enabled", "--sasl.mechanism=gssapi", "--sasl.realm=R"], "Kerberos"),
        (["--sasl.enabled", "--sasl.mechanism=awsiam"], "AWS IAM"),
        (["--server.tls.enabled"], "--web.config.file"),
        (["--use.consumelag.zookeeper"], "ZooKeeper"),
        (["--no-sasl.handshake"], "handshake"),
        (["--sasl.enabled", "--sasl.mechanism=md5"], "is not one of"),
    ):
        result = run("--kafka.server=k:9092", *argv)
        assert result.returncode == 2, argv
        assert says in result.stderr and "Traceback" not in result.stderr, result.stderr


def test_booleans_take_no_and_a_value() -> None:
    assert config_of(
        "--kafka.server=k:1", "--filters.include-internal-topics"
    ).filters.include_internal_topics
    off = config_of("--kafka.server=k:1", "--no-kafka.tls-verify-hostname")
    assert off.kafka.tls_verify_hostname is False
    on = config_of("--kafka.server=k:1", "--kafka.tls-verify-hostname=true")
    assert on.kafka.tls_verify_hostname is True
    result = run("--kafka.server=k:1", "--filters.include-internal-topics=perhaps")
    assert result.returncode == 2 and "filters.include_internal_topics" in result.stderr


def test_arrange_puts_the_subcommand_first() -> None:
    _, children = build_parser()
    assert arrange(["--log.level=debug"], children) == ["serve", "--log.level=debug"]
    assert arrange(["--log.level", "debug", "check", "--x"], children) == [
        "check", "--log.level", "debug", "--x"]  # fmt: skip
    # a value that happens to be a command's name stays a value
    assert arrange(["--kafka.client-id", "check"], children) == [
        "serve", "--kafka.client-id", "check"]  # fmt: skip


def test_version_anywhere() -> None:
    for argv in (["--version"], ["serve", "--version"], ["--kafka.server=k:1", "--version"],
                 ["check", "--log.level=debug", "--version"]):  # fmt: skip
        result = run(*argv)
        assert result.returncode == 0, argv
        assert result.stdout.strip() == f"kafka-vitals {__version__}"


def test_help_reads_like_a_prometheus_exporter() -> None:
    result = run("--help")
    assert result.returncode == 0
    out = result.stdout
    assert out.startswith("usage: kafka-vitals [serve] [<flags>]\n")
    assert "\nFlags:\n  -h, --help " in out
    assert re.search(rf'^      --web\.listen-address=":{DEFAULT_PORT}"', out, re.M)
    assert re.search(r"^      --\[no-\]kafka\.tls-verify-hostname", out, re.M)
    assert "($KAFKA_VITALS_WEB_LISTEN_ADDRESS)" in out
    assert "kafka_exporter flags (accepted as they are):" in out
    assert re.search(r"^      --kafka\.server=VALUE", out, re.M)
    assert re.search(r"^      --\[no-\]sasl\.enabled", out, re.M)
    assert "\nCommands:\n  serve (default)" in out and "\n  check " in out
    assert run("check", "--help").stdout.startswith("usage: kafka-vitals check [<flags>]")


def test_no_subcommand_serves_with_flags_before_it(tmp_path: Path) -> None:
    (port,) = procs.free_ports(1)
    (closed,) = procs.free_ports(1)
    cmd = [
        console_script(),
        f"--kafka.server=127.0.0.1:{closed}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--web.telemetry-path=/kafka-metrics",
        "--log.level=debug",
    ]
    proc = procs.spawn("kafka-vitals", cmd, log_path=tmp_path / "serve.log", ports=[port])
    try:
        procs.wait_for(lambda: get(port, "/healthz")[0] == 200, 60, "kafka-vitals /healthz")
        status, body = get(port, "/kafka-metrics")
        assert status == 200 and b"kafka_vitals_build_info{" in body
    finally:
        proc.kill()
    assert "level=debug" in (tmp_path / "serve.log").read_text()


def test_only_kafka_exporter_names_take_a_reserved_suffix() -> None:
    """promtool reserves `_sum`, `_count` and `_bucket` for summaries and histograms: no family
    but kafka_exporter's two `_sum` gauges (kept for its users' dashboards) ends in one."""
    from exporter import catalog

    reserved = sorted(
        m.name
        for m in catalog.ALL
        if m.type not in ("summary", "histogram") and m.name.endswith(("_sum", "_count", "_bucket"))
    )
    assert reserved == sorted(KAFKA_EXPORTER_SUM_GAUGES)
