"""Checks of a built `Config` beyond its types: the rules a value must follow to make sense.

Generic rules, by field name, so new fields get them for free:
- numbers are never negative; the keys in `POSITIVE` must be above 0;
- `*_file` keys name a readable file (secret files are already read by the loader);
- `*_allow`, `*_deny` and `*_patterns` lists hold valid regexes; the `lessons` patterns must have
  a named group `source`.
Specific rules: bootstrap servers and listen address are host:port lists, SASL and TLS settings
fit the security protocol, JMX targets are unique, collectors exist, the telemetry path is free,
the web config file (TLS, basic auth) parses and its certificates load.

Each problem is (key path, message). Paths the loader already reported are skipped, so one
mistake gives one line.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Collection, Iterator
from pathlib import Path
from typing import Any

from exporter.config import Config, JmxTarget, KafkaConfig, Secret, WebConfig

Problem = tuple[str, str]
_Add = Callable[[str, str], None]

POSITIVE = frozenset(
    {
        "kafka.request_timeout_seconds",
        "poll.interval_seconds",
        "poll.stage_timeout_seconds",
        "poll.offsets_in_flight",
        "poll.describe_batch_size",
        "poll.lag_history_points",
        "jmx.max_concurrency",
        "jmx.targets[].timeout_seconds",
        "jmx.discover_timeout_seconds",
        "lessons.lag_status_window",
    }
)
RESERVED_PATHS = ("/", "/healthz", "/ready")
_REGEX_SUFFIXES = ("_allow", "_deny", "_patterns")
_EXTRA_PROPERTY_KEYS = {
    "bootstrap.servers": "kafka.bootstrap_servers",
    "client.id": "kafka.client_id",
    "security.protocol": "kafka.security_protocol",
    "sasl.mechanism": "kafka.sasl_mechanism",
    "sasl.mechanisms": "kafka.sasl_mechanism",
    "sasl.username": "kafka.sasl_username",
    "sasl.password": "kafka.sasl_password",
    "ssl.ca.location": "kafka.tls_ca_file",
    "ssl.certificate.location": "kafka.tls_cert_file",
    "ssl.key.location": "kafka.tls_key_file",
    "ssl.key.password": "kafka.tls_key_password",
    "group.id": None,
}


def check(config: Config, skip: Collection[str] = ()) -> list[Problem]:
    problems: list[Problem] = []

    def add(path: str, message: str) -> None:
        if path not in skip and not any(path.startswith(f"{s}[") for s in skip):
            problems.append((path, message))

    for path, name, value, secret_sibling in _walk(config, ""):
        _generic(path, name, value, secret_sibling, add)
    _kafka(config.kafka, add)
    _web(config.web, add)
    _jmx_targets(config.jmx.targets, add)
    if config.jmx.niceness > 19:
        add(
            "jmx.niceness",
            f"must be 19 at most (the lowest CPU priority), got {config.jmx.niceness}",
        )
    if not 0 <= config.jmx.discover_brokers_port <= 65535:
        add("jmx.discover_brokers_port", "must be a TCP port, or 0 for no discovery")
    for key in ("planned_consumers_by_group", "planned_consumers_by_topic"):
        for name, count in getattr(config.lessons, key).items():
            if count < 1:
                add(f"lessons.{key}.{name}", f"must be at least 1, got {count}")
    _collectors(config, add)
    return problems


def _walk(obj: Any, prefix: str) -> Iterator[tuple[str, str, Any, bool]]:
    """(path, field name, value, whether a Secret field `name[:-5]` exists) for every leaf."""
    names = {f.name for f in dataclasses.fields(obj)}
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        path = f"{prefix}.{f.name}" if prefix else f.name
        if dataclasses.is_dataclass(value) and not isinstance(value, Secret):
            yield from _walk(value, path)
        elif isinstance(value, tuple) and value and dataclasses.is_dataclass(value[0]):
            for i, item in enumerate(value):
                yield from _walk(item, f"{path}[{i}]")
        else:
            base = f.name.removesuffix("_file")
            secret_sibling = (
                f.name.endswith("_file")
                and base in names
                and isinstance(getattr(obj, base), Secret)
            )
            yield path, f.name, value, secret_sibling


def _generic(path: str, name: str, value: Any, secret_sibling: bool, add: _Add) -> None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        rule_path = re.sub(r"\[\d+\]", "[]", path)
        if value < 0:
            add(path, f"must not be negative, got {value}")
        elif rule_path in POSITIVE and value <= 0:
            add(path, f"must be greater than 0, got {value}")
    if name.endswith("_file") and value and not secret_sibling:
        try:
            with Path(value).open("rb"):
                pass
        except OSError as exc:
            add(path, f"cannot read '{value}': {exc.strerror or exc}")
        except ValueError as exc:  # e.g. a NUL in the file name
            add(path, f"cannot read {value!r}: {exc}")
    if name.endswith(_REGEX_SUFFIXES) and isinstance(value, tuple):
        for i, pattern in enumerate(value):
            try:
                compiled = re.compile(pattern)
            except re.error as exc:
                add(f"{path}[{i}]", f"invalid regex {pattern!r}: {exc}")
                continue
            if path.startswith("lessons.") and "source" not in compiled.groupindex:
                add(f"{path}[{i}]", f"regex {pattern!r} needs a named group (?P<source>...)")


def host_port(text: str) -> tuple[str, int]:
    """Split `host:port`, `[v6]:port` or `:port`; raise ValueError saying what is wrong."""
    host, sep, port = text.strip().rpartition(":")
    if not sep:
        raise ValueError(f"{text!r} is not host:port")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise ValueError(f"{text!r}: write an IPv6 address in brackets, as [::1]:9092")
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"{text!r} has no valid port (0-65535)")
    return host, int(port)


def _kafka(kafka: KafkaConfig, add: _Add) -> None:
    servers = [s for s in kafka.bootstrap_servers.split(",") if s.strip()]
    if not servers:
        add("kafka.bootstrap_servers", "required: a comma-separated list of host:port")
    for server in servers:
        try:
            host, port = host_port(server)
        except ValueError as exc:
            add("kafka.bootstrap_servers", str(exc))
            continue
        if not host or port == 0:
            add("kafka.bootstrap_servers", f"{server.strip()!r} needs a host and a port above 0")
    sasl = kafka.security_protocol.startswith("SASL_")
    if sasl and not kafka.sasl_mechanism:
        add("kafka.sasl_mechanism", f"required with security_protocol {kafka.security_protocol}")
    if kafka.sasl_mechanism and not sasl:
        add(
            "kafka.sasl_mechanism",
            f"needs security_protocol SASL_PLAINTEXT or SASL_SSL, not {kafka.security_protocol}",
        )
    if sasl and kafka.sasl_mechanism:
        if not kafka.sasl_username:
            add("kafka.sasl_username", f"required with sasl_mechanism {kafka.sasl_mechanism}")
        if not kafka.sasl_password and not kafka.sasl_password_file:
            add(
                "kafka.sasl_password",
                f"required with sasl_mechanism {kafka.sasl_mechanism} (or sasl_password_file)",
            )
    protocol = kafka.security_protocol
    tls = protocol in ("SSL", "SASL_SSL")
    for key in ("tls_ca_file", "tls_cert_file", "tls_key_file"):
        if getattr(kafka, key) and not tls:
            add(f"kafka.{key}", f"needs security_protocol SSL or SASL_SSL, not {protocol}")
    if bool(kafka.tls_cert_file) != bool(kafka.tls_key_file):
        add("kafka.tls_cert_file", "set tls_cert_file and tls_key_file together, or neither")
    for prop in kafka.extra_properties:
        if prop in _EXTRA_PROPERTY_KEYS:
            instead = _EXTRA_PROPERTY_KEYS[prop]
            reason = (
                f"set {instead} instead" if instead else "kafka-vitals never joins a consumer group"
            )
            add(f"kafka.extra_properties.{prop}", reason)


def _web(web: WebConfig, add: _Add) -> None:
    try:
        host_port(web.listen_address)
    except ValueError as exc:
        add("web.listen_address", str(exc))
    path = web.telemetry_path
    if not path.startswith("/") or any(c in path for c in "?# "):
        add("web.telemetry_path", f"must be a URL path starting with '/', got {path!r}")
    elif path.rstrip("/") in ("", "/healthz", "/ready"):
        add("web.telemetry_path", f"{path!r} is taken by {RESERVED_PATHS}")
    if web.config_file:
        from exporter.webconfig import WebConfigError, load_web_config

        try:
            with Path(web.config_file).open("rb"):
                pass
        except (OSError, ValueError):
            return  # an unreadable file is reported by the generic `*_file` rule
        try:
            load_web_config(web.config_file)
        except WebConfigError as exc:
            for problem in exc.problems:
                add("web.config_file", f"{web.config_file}: {problem}")


def _jmx_targets(targets: tuple[JmxTarget, ...], add: _Add) -> None:
    from exporter.sources.jmx import default_name, service_url

    seen: dict[str, int] = {}
    for i, target in enumerate(targets):
        url = target.url.strip()
        if not url.startswith("service:jmx:"):
            try:
                host, port = host_port(url)
            except ValueError as exc:
                add(f"jmx.targets[{i}].url", f"{exc} (or service:jmx:rmi:///jndi/rmi://...)")
                continue
            if not host or port == 0:
                add(f"jmx.targets[{i}].url", f"{url!r} needs a host and a port above 0")
        if (target.password or target.password_file) and not target.username:
            add(f"jmx.targets[{i}].username", "required when a password is set")
        name = target.name or default_name(service_url(url))  # the `target` label it gets
        if name in seen:
            add(f"jmx.targets[{i}].name", f"{name!r} is already used by jmx.targets[{seen[name]}]")
        seen.setdefault(name, i)


def _collectors(config: Config, add: _Add) -> None:
    import difflib

    from exporter.collectors import REGISTRY

    for name in config.collectors:
        if name not in REGISTRY:
            close = difflib.get_close_matches(name, list(REGISTRY), n=1, cutoff=0.6)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            known = ", ".join(sorted(REGISTRY))
            add(f"collectors.{name}", f"unknown collector{hint}; known: {known}")
