"""kafka_exporter's command-line flags, accepted as they are and mapped onto the configuration.

Users of kafka_exporter replace the image and keep their arguments: `--kafka.server` (repeatable),
`--topic.filter`/`--topic.exclude`, `--group.filter`/`--group.exclude`, `--sasl.*`, `--tls.*`
(and `--web.listen-address`, `--web.telemetry-path`, `--log.level`, which kafka-vitals spells the
same way). Each flag becomes a value of a configuration key (`translate`), so the strict checks of
the configuration apply to it and an error names the kafka_exporter flag it came from.

kafka_exporter matches its filters anywhere in the name (Go `regexp.MatchString`); kafka-vitals
anchors its regexes at both ends, so a kafka_exporter regex `R` becomes `(?s:.*)(?:R)(?s:.*)`.

Flags that have no counterpart are either harmless here (kafka_exporter's scrape and logging
tuning: a warning says they have no effect) or would change what the user expects in a way that
matters (ZooKeeper lag, TLS on the metrics endpoint, Kerberos/IAM/OAuth SASL): those are refused
with one line saying what to use instead.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

COMPAT_DEST = "kafka_exporter__"
"""Prefix of the argparse destinations of these flags (kept apart from the key paths)."""

MECHANISMS = {"plain": "PLAIN", "scram-sha256": "SCRAM-SHA-256", "scram-sha512": "SCRAM-SHA-512"}
"""kafka_exporter's `--sasl.mechanism` values that librdkafka speaks, and their names."""

_VALUE_FLAGS: dict[str, str] = {
    "kafka.server": "Address (host:port) of a Kafka broker; repeat for several.",
    "topic.filter": "Regex of the topics to export (matched anywhere in the name).",
    "topic.exclude": "Regex of the topics not to export (matched anywhere in the name).",
    "group.filter": "Regex of the consumer groups to export (matched anywhere in the name).",
    "group.exclude": "Regex of the consumer groups not to export (matched anywhere in the name).",
    "sasl.username": "SASL user name.",
    "sasl.password": "SASL password (visible in the process list: prefer "
    "KAFKA_VITALS_KAFKA_SASL_PASSWORD or --kafka.sasl-password-file).",
    "sasl.mechanism": "plain, scram-sha256 or scram-sha512.",
    "tls.ca-file": "CA file that verifies the brokers' certificates.",
    "tls.cert-file": "Client certificate file.",
    "tls.key-file": "Client key file.",
}
_BOOL_FLAGS: dict[str, str] = {
    "sasl.enabled": "Connect using SASL.",
    "tls.enabled": "Connect using TLS.",
    "tls.insecure-skip-tls-verify": "Do not verify the brokers' certificates (insecure).",
    "sasl.handshake": "Accepted; librdkafka always sends the SASL handshake.",
}
_NO_EFFECT_VALUE = (
    "kafka.version",
    "kafka.labels",
    "refresh.metadata",
    "topic.workers",
    "verbosity",
    "zookeeper.server",
    "tls.server-name",
)
_NO_EFFECT_BOOL = ("offset.show-all", "concurrent.enable", "log.enable-sarama")
_REFUSED_VALUE: dict[str, str] = {
    "sasl.service-name": "Kerberos",
    "sasl.kerberos-config-path": "Kerberos",
    "sasl.realm": "Kerberos",
    "sasl.keytab-path": "Kerberos",
    "sasl.kerberos-auth-type": "Kerberos",
    "sasl.aws-region": "AWS IAM",
    "sasl.oauthbearer-token-url": "OAuth bearer",
    "sasl.oauthbearer-token-file": "OAuth bearer",
    "sasl.oauthbearer-scopes": "OAuth bearer",
    "server.tls.ca-file": "server.tls",
    "server.tls.cert-file": "server.tls",
    "server.tls.key-file": "server.tls",
}
_REFUSED_BOOL: dict[str, str] = {
    "use.consumelag.zookeeper": "zookeeper",
    "server.tls.enabled": "server.tls",
    "server.tls.mutual-auth-enabled": "server.tls",
    "sasl.disable-PA-FX-FAST": "Kerberos",
}
_REFUSAL = {
    "Kerberos": "SASL/GSSAPI (Kerberos) is not supported by kafka-vitals",
    "AWS IAM": "SASL with AWS IAM is not supported by kafka-vitals",
    "OAuth bearer": "SASL/OAUTHBEARER is not supported by kafka-vitals",
    "server.tls": "TLS on the metrics endpoint is set with --web.config.file (the Prometheus "
    "exporter-toolkit web config: tls_server_config, client_ca_file, client_auth_type)",
    "zookeeper": "lag from ZooKeeper offsets is not supported (Kafka 4 has no ZooKeeper)",
}


def _dest(flag: str) -> str:
    return COMPAT_DEST + flag.replace(".", "_").replace("-", "_")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """kafka_exporter's flags, in their own help section."""
    group = parser.add_argument_group("kafka_exporter flags (accepted as they are)")
    for flag, text in _VALUE_FLAGS.items():
        action = "append" if flag == "kafka.server" else "store"
        group.add_argument(f"--{flag}", dest=_dest(flag), action=action, metavar="VALUE", help=text)
    for flag, text in _BOOL_FLAGS.items():
        add_bool(group, f"--{flag}", _dest(flag), text)
    for flag in (*_NO_EFFECT_VALUE, *_REFUSED_VALUE):
        group.add_argument(f"--{flag}", dest=_dest(flag), metavar="VALUE", help=argparse.SUPPRESS)
    for flag in (*_NO_EFFECT_BOOL, *_REFUSED_BOOL):
        add_bool(group, f"--{flag}", _dest(flag), argparse.SUPPRESS)


def add_bool(
    group: argparse._ActionsContainer, flag: str, dest: str, text: str | None, *aliases: str
) -> None:
    """`--flag` (true), `--no-flag` (false), and `--flag=VALUE` for any boolean word."""
    group.add_argument(
        flag, *aliases, dest=dest, nargs="?", const="true", default=None, metavar="BOOL", help=text
    )
    negated = [f"--no-{name[2:]}" for name in (flag, *aliases)]
    group.add_argument(
        *negated, dest=dest, action="store_const", const="false", help=argparse.SUPPRESS
    )


@dataclass(slots=True)
class Translation:
    """Configuration values (key path -> text) taken from kafka_exporter flags."""

    values: dict[str, str] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    """key path -> the kafka_exporter flag(s) it came from, for error messages."""
    warnings: list[str] = field(default_factory=list)
    """Flags that have no effect here: logged once logging is set up."""
    problems: list[str] = field(default_factory=list)
    """Flags refused (usage errors, exit 2)."""

    def set(self, path: str, text: str, source: str) -> None:
        self.values[path] = text
        self.sources[path] = source


def unanchored(regex: str) -> str:
    """kafka_exporter's search-anywhere regex as a regex kafka-vitals matches in full."""
    return f"(?s:.*)(?:{regex})(?s:.*)"


def _true(text: str | None) -> bool | None:
    if text is None:
        return None
    word = text.strip().lower()
    if word in ("true", "yes", "on", "1"):
        return True
    if word in ("false", "no", "off", "0"):
        return False
    raise ValueError(text)


def translate(args: argparse.Namespace) -> Translation:
    """The configuration values, warnings and refusals that the kafka_exporter flags make."""
    out = Translation()

    def get(flag: str) -> Any:
        return getattr(args, _dest(flag), None)

    bools: dict[str, bool | None] = {}
    for flag in (*_BOOL_FLAGS, *_NO_EFFECT_BOOL, *_REFUSED_BOOL):
        try:
            bools[flag] = _true(get(flag))
        except ValueError:
            out.problems.append(f"--{flag}: {get(flag)!r} is not a boolean (true or false)")
    servers: Sequence[str] | None = get("kafka.server")
    if servers:
        joined = ",".join(s.strip() for item in servers for s in item.split(",") if s.strip())
        out.set("kafka.bootstrap_servers", joined, "--kafka.server")
    _filters(args, out)
    _security(get, bools, out)
    for flag in (*_REFUSED_VALUE, *_REFUSED_BOOL):
        given = bools.get(flag) if flag in _REFUSED_BOOL else get(flag)
        if given:
            reason = _REFUSED_BOOL.get(flag) or _REFUSED_VALUE[flag]
            out.problems.append(f"--{flag}: {_REFUSAL[reason]}")
    for flag in (*_NO_EFFECT_VALUE, *_NO_EFFECT_BOOL):
        if get(flag) is not None:
            out.warnings.append(f"--{flag} has no effect in kafka-vitals")
    if bools.get("sasl.handshake") is False:
        out.problems.append("--no-sasl.handshake: librdkafka always sends the SASL handshake")
    return out


def _filters(args: argparse.Namespace, out: Translation) -> None:
    for kind, allow_flag, deny_flag in (
        ("topic", "topic.filter", "topic.exclude"),
        ("group", "group.filter", "group.exclude"),
    ):
        allow = getattr(args, _dest(allow_flag), None)
        deny = getattr(args, _dest(deny_flag), None)
        if allow is not None and allow not in ("", ".*"):  # kafka_exporter's default: all
            out.set(f"filters.{kind}_allow", json.dumps([unanchored(allow)]), f"--{allow_flag}")
        if deny is not None and deny not in ("", "^$"):  # kafka_exporter's default: none
            out.set(f"filters.{kind}_deny", json.dumps([unanchored(deny)]), f"--{deny_flag}")


def _security(value: Callable[[str], Any], bools: dict[str, bool | None], out: Translation) -> None:
    sasl, tls = bool(bools.get("sasl.enabled")), bool(bools.get("tls.enabled"))
    if sasl or tls:
        protocol = {(True, True): "SASL_SSL", (True, False): "SASL_PLAINTEXT"}.get(
            (sasl, tls), "SSL"
        )
        out.set("kafka.security_protocol", protocol, "--sasl.enabled/--tls.enabled")
    if sasl:
        mechanism = (value("sasl.mechanism") or "plain").strip().lower()
        if mechanism in MECHANISMS:
            out.set("kafka.sasl_mechanism", MECHANISMS[mechanism], "--sasl.mechanism")
        else:
            reason = {"gssapi": "Kerberos", "awsiam": "AWS IAM", "oauthbearer": "OAuth bearer"}
            out.problems.append(
                f"--sasl.mechanism: {_REFUSAL[reason[mechanism]]}"
                if mechanism in reason
                else f"--sasl.mechanism: {mechanism!r} is not one of {', '.join(MECHANISMS)}"
            )
    for flag, path in (
        ("sasl.username", "kafka.sasl_username"),
        ("sasl.password", "kafka.sasl_password"),
        ("tls.ca-file", "kafka.tls_ca_file"),
        ("tls.cert-file", "kafka.tls_cert_file"),
        ("tls.key-file", "kafka.tls_key_file"),
    ):
        if value(flag) is not None:
            out.set(path, str(value(flag)), f"--{flag}")
    if value("sasl.password") is not None:
        out.warnings.append(
            "--sasl.password is visible in the process list: prefer the environment variable "
            "KAFKA_VITALS_KAFKA_SASL_PASSWORD or --kafka.sasl-password-file"
        )
    if bools.get("tls.insecure-skip-tls-verify"):
        out.set("kafka.tls_verify_hostname", "false", "--tls.insecure-skip-tls-verify")
        out.set(
            "kafka.extra_properties",
            "enable.ssl.certificate.verification=false",
            "--tls.insecure-skip-tls-verify",
        )
