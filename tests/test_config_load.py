"""Config loading: defaults, file, environment and flags with their precedence; strict errors
collected at once, one line per problem naming the key; secrets from files and never shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from exporter.config import Config, JmxTarget, Secret
from exporter.config.keys import keys
from exporter.config.load import unknown_env
from exporter.configure import ConfigError, load_config

BOOT = {"KAFKA_VITALS_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9092"}


def _write(tmp_path: Path, text: str, name: str = "config.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _problems(path: Path | None, env: dict[str, str] | None = None, **flags: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(path, env=env or {}, flags=flags)
    return list(info.value.problems)


def test_defaults_with_only_bootstrap_from_env() -> None:
    config = load_config(None, env=BOOT)
    assert config.kafka.bootstrap_servers == "127.0.0.1:9092"
    assert config.web == Config().web
    assert config.poll == Config().poll


def test_precedence_flags_over_env_over_file(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "kafka: {bootstrap_servers: 'file:1'}\nweb: {listen_address: ':1111'}\n"
        "log: {level: warn}\npoll: {interval_seconds: 5}\n",
    )
    env = {
        "KAFKA_VITALS_WEB_LISTEN_ADDRESS": ":2222",
        "KAFKA_VITALS_LOG_LEVEL": "error",
    }
    config = load_config(path, env=env, flags={"web.listen_address": ":3333"})
    assert config.kafka.bootstrap_servers == "file:1"
    assert config.web.listen_address == ":3333"
    assert config.log.level == "error"
    assert config.poll.interval_seconds == 5.0


def test_text_values_are_parsed_by_type() -> None:
    env = {
        **BOOT,
        "KAFKA_VITALS_POLL_OFFSETS_IN_FLIGHT": "8",
        "KAFKA_VITALS_KAFKA_TLS_VERIFY_HOSTNAME": "no",
        "KAFKA_VITALS_FILTERS_GROUP_DENY": "console-.*, tmp-.*",
        "KAFKA_VITALS_FILTERS_TOPIC_ALLOW": '["a{1,3}", "b"]',
        "KAFKA_VITALS_KAFKA_EXTRA_PROPERTIES": "socket.keepalive.enable=true,x=y",
        "KAFKA_VITALS_LESSONS_PLANNED_CONSUMERS_BY_GROUP": '{"g": 4}',
        "KAFKA_VITALS_COLLECTORS": "groups=false,brokers=true",
        "KAFKA_VITALS_JMX_TARGETS": '[{"url": "127.0.0.1:9999", "role": "broker"}]',
        "KAFKA_VITALS_LOG_FORMAT": "JSON",
    }
    config = load_config(None, env=env)
    assert config.poll.offsets_in_flight == 8
    assert config.kafka.tls_verify_hostname is False
    assert config.filters.group_deny == ("console-.*", "tmp-.*")
    assert config.filters.topic_allow == ("a{1,3}", "b")
    assert dict(config.kafka.extra_properties) == {"socket.keepalive.enable": "true", "x": "y"}
    assert dict(config.lessons.planned_consumers_by_group) == {"g": 4}
    assert dict(config.collectors) == {"groups": False, "brokers": True}
    assert config.jmx.targets == (JmxTarget(url="127.0.0.1:9999", role="broker"),)
    assert config.log.format == "json"


def test_many_problems_reported_at_once_one_line_each(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
kafka:
  bootstrap_server: localhost:9092
  sasl_password_file: /nonexistent/pw
  request_timeout_seconds: ten
filters:
  group_allow: ["ok.*", "(unclosed"]
poll:
  lag_granularity: partitions
  offsets_in_flight: 0
log:
  level: loud
collectors:
  consumer_lagg: false
""",
    )
    problems = _problems(path)
    expected = [
        "kafka.bootstrap_server: unknown key (did you mean 'bootstrap_servers'?)",
        "kafka.request_timeout_seconds: expected a number, got 'ten'",
        "kafka.sasl_password_file: cannot read '/nonexistent/pw': No such file or directory",
        "poll.lag_granularity: must be one of 'partition', 'topic', got 'partitions' "
        "(did you mean 'partition'?)",
        "log.level: must be one of 'debug', 'info', 'warn', 'error', got 'loud'",
        "filters.group_allow[1]: invalid regex '(unclosed': missing ), unterminated "
        "subpattern at position 0",
        "poll.offsets_in_flight: must be greater than 0, got 0",
        "kafka.bootstrap_servers: required: a comma-separated list of host:port",
    ]
    for line in expected:
        assert line in problems
    assert any(p.startswith("collectors.consumer_lagg: unknown collector") for p in problems)
    assert len(problems) == len(expected) + 1
    assert all("\n" not in p for p in problems)


def test_errors_name_the_variable_or_flag_they_came_from() -> None:
    problems = _problems(
        None,
        {**BOOT, "KAFKA_VITALS_POLL_INTERVAL_SECONDS": "soon"},
        **{"web.listen_address": "nowhere"},
    )
    assert problems == [
        "poll.interval_seconds (from KAFKA_VITALS_POLL_INTERVAL_SECONDS): expected a number, "
        "got 'soon'",
        "web.listen_address (from --web.listen-address): 'nowhere' is not host:port",
    ]


def test_yaml_errors_give_file_line_and_column(tmp_path: Path) -> None:
    path = _write(tmp_path, "kafka:\n  bootstrap_servers: [a\n")
    (problem,) = _problems(path)
    assert problem.startswith(f"{path}:3:1: while parsing a flow sequence")
    path = _write(tmp_path, "kafka:\n  client_id: a\n  client_id: b\n", "dup.yaml")
    assert _problems(path) == [f"{path}:3:3: duplicate key 'client_id'"]
    assert _problems(tmp_path / "absent.yaml") == [
        f"cannot read '{tmp_path / 'absent.yaml'}': No such file or directory"
    ]
    path = _write(tmp_path, "- a list\n", "list.yaml")
    assert "(top level): expected a mapping, got a list" in _problems(path, BOOT)


def test_secret_from_file_is_read_stripped_and_never_shown(tmp_path: Path) -> None:
    secret_file = _write(tmp_path, "hunter2\n", "pw")
    path = _write(
        tmp_path,
        f"kafka:\n  bootstrap_servers: b:1\n  security_protocol: SASL_PLAINTEXT\n"
        f"  sasl_mechanism: SCRAM-SHA-512\n  sasl_username: u\n"
        f"  sasl_password_file: {secret_file}\n",
    )
    config = load_config(path, env={})
    assert config.kafka.sasl_password == Secret("hunter2")
    assert "hunter2" not in repr(config) and "hunter2" not in str(config.kafka.sasl_password)


def test_secret_problems_do_not_echo_the_secret(tmp_path: Path) -> None:
    empty = _write(tmp_path, "\n", "empty")
    env = {
        **BOOT,
        "KAFKA_VITALS_KAFKA_SASL_PASSWORD": "hunter2",
        "KAFKA_VITALS_KAFKA_SASL_PASSWORD_FILE": str(empty),
        "KAFKA_VITALS_KAFKA_TLS_KEY_PASSWORD_FILE": str(empty),
    }
    problems = _problems(None, env)
    assert not any("hunter2" in p for p in problems)
    assert any(
        "sasl_password_file" in p and "set either sasl_password or sasl_password_file" in p
        for p in problems
    )
    assert any(p.endswith(f"'{empty}' is empty") for p in problems)
    path = _write(tmp_path, "kafka: {bootstrap_servers: 'b:1', sasl_password: 12345}\n")
    problem = next(p for p in _problems(path) if p.startswith("kafka.sasl_password:"))
    assert "12345" not in problem


def test_type_errors(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "kafka: {bootstrap_servers: 'b:1', client_id: 7, tls_verify_hostname: 'yes'}\n"
        "poll: {offsets_in_flight: 1.5, series_cap: true}\n"
        "filters: {group_allow: 'not-a-list'}\n"
        "jmx: {targets: [{url: 'h:1'}, {url: 'h:2', role: broker, colour: red}]}\n",
    )
    problems = _problems(path)
    assert problems == [
        "kafka.client_id: expected a string, got 7 (a number)",
        "kafka.tls_verify_hostname: expected true or false, got 'yes'",
        "filters.group_allow: expected a list, got 'not-a-list'",
        "poll.offsets_in_flight: expected an integer, got 1.5 (a number)",
        "poll.series_cap: expected an integer, got true (a boolean)",
        "jmx.targets[0].role: required",
        "jmx.targets[1].colour: unknown key",
    ]


def test_semantic_rules(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
kafka:
  bootstrap_servers: "host-without-port, ok:9092"
  security_protocol: SASL_SSL
  tls_cert_file: /nonexistent/cert
  extra_properties: {group.id: x}
web: {telemetry_path: /ready}
lessons: {dead_letter_patterns: ["(.+)_dlq"], planned_consumers_by_group: {g: 0}}
jmx: {targets: [{url: "a:1", role: broker}, {url: "a:1", role: client}], niceness: 20}
""",
    )
    problems = _problems(path)
    assert problems == [
        "kafka.tls_cert_file: cannot read '/nonexistent/cert': No such file or directory",
        "lessons.dead_letter_patterns[0]: regex '(.+)_dlq' needs a named group (?P<source>...)",
        "kafka.bootstrap_servers: 'host-without-port' is not host:port",
        "kafka.sasl_mechanism: required with security_protocol SASL_SSL",
        "kafka.tls_cert_file: set tls_cert_file and tls_key_file together, or neither",
        "kafka.extra_properties.group.id: kafka-vitals never joins a consumer group",
        "web.telemetry_path: '/ready' is taken by ('/', '/healthz', '/ready')",
        "jmx.targets[1].name: 'a:1' is already used by jmx.targets[0]",
        "jmx.niceness: must be 19 at most (the lowest CPU priority), got 20",
        "lessons.planned_consumers_by_group.g: must be at least 1, got 0",
    ]


def test_null_means_not_set(tmp_path: Path) -> None:
    path = _write(tmp_path, "kafka:\n  bootstrap_servers: b:1\n  client_id:\nweb:\n")
    config = load_config(path, env={})
    assert config.kafka.client_id == "kafka-vitals"


def test_every_key_has_a_unique_env_var_and_secrets_have_no_flag() -> None:
    all_keys = keys()
    assert len({k.env for k in all_keys}) == len(all_keys)
    assert {k.path for k in all_keys if k.flag is None} == {
        k.path for k in all_keys if k.type is Secret
    }
    assert {"KAFKA_VITALS_KAFKA_BOOTSTRAP_SERVERS", "KAFKA_VITALS_COLLECTORS"} <= {
        k.env for k in all_keys
    }
    assert "--web.listen-address" in {k.flag for k in all_keys}


def test_unknown_env_vars_are_not_errors_but_typos_are_hinted() -> None:
    env = {
        **BOOT,
        "KAFKA_VITALS_PORT": "tcp://10.0.0.1:10308",  # injected by Kubernetes for a Service
        "KAFKA_VITALS_KAFKA_BOOTSTRAP_SERVER": "x",
    }
    load_config(None, env=env)
    assert unknown_env(env) == [
        "KAFKA_VITALS_KAFKA_BOOTSTRAP_SERVER is not a setting "
        "(did you mean KAFKA_VITALS_KAFKA_BOOTSTRAP_SERVERS?)"
    ]
