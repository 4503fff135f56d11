"""Pure translations between kafka-vitals config/model and confluent-kafka's Admin API objects.

`client_properties` turns `KafkaConfig` into librdkafka properties (secrets read from their files
here, never logged). The `*_from_*` functions turn confluent-kafka answers into the plain
dataclasses of `exporter.sources.admin_model`, mapping group states and types to Kafka's own names.
`RdkafkaLog` forwards librdkafka's log lines to Python logging without flooding it while a broker
is down.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from confluent_kafka import KafkaException

from exporter.config import Config, KafkaConfig, Secret
from exporter.config.check import Add
from exporter.config.values import host_port
from exporter.sources.admin_model import (
    Broker,
    GroupDescription,
    Member,
    Offsets,
    PartitionMeta,
    TopicMeta,
    TopicPartition,
)
from exporter.sources.filters import is_internal_topic
from exporter.sources.stages import describe_error

GROUP_STATES: dict[str, str] = {
    "stable": "Stable",
    "preparingrebalance": "PreparingRebalance",
    "preparingrebalancing": "PreparingRebalance",
    "completingrebalance": "CompletingRebalance",
    "completingrebalancing": "CompletingRebalance",
    "empty": "Empty",
    "dead": "Dead",
    "assigning": "Assigning",
    "reconciling": "Reconciling",
    "unknown": "Unknown",
    "unkown": "Unknown",
}
"""confluent-kafka enum names (and Kafka's own spellings) -> Kafka's state names."""

GROUP_TYPES: dict[str, str] = {"classic": "classic", "consumer": "consumer"}

log = logging.getLogger(__name__)
_VARYING = re.compile(r"\d+ms")


def _enum_name(value: object) -> str:
    name = getattr(value, "name", None)
    text = name if isinstance(name, str) else str(value)
    return text.rsplit(".", 1)[-1].replace("_", "").replace("-", "").lower()


def group_state_name(state: object) -> str:
    """Kafka's name for a group state (Stable, PreparingRebalance, ...); Unknown if unrecognised."""
    return GROUP_STATES.get(_enum_name(state), "Unknown") if state is not None else "Unknown"


def group_type_name(kind: object) -> str:
    """classic, consumer, or unknown."""
    return GROUP_TYPES.get(_enum_name(kind), "unknown") if kind is not None else "unknown"


def read_secret(value: Secret, file: str, key: str) -> str:
    """The secret's value, or the content of `file` (trailing newlines stripped)."""
    if value:
        return value.value
    if not file:
        return ""
    try:
        return Path(file).read_text(encoding="utf-8").rstrip("\r\n")
    except OSError as exc:
        raise ValueError(f"kafka.{key}_file: cannot read {file}: {exc.strerror}") from None


def client_properties(kafka: KafkaConfig) -> dict[str, Any]:
    """librdkafka properties of the AdminClient; `extra_properties` are applied last."""
    props: dict[str, Any] = {
        "bootstrap.servers": kafka.bootstrap_servers,
        "client.id": kafka.client_id,
        "security.protocol": kafka.security_protocol,
        # idle connections closed by brokers are normal; do not log them as errors
        "log.connection.close": False,
    }
    if kafka.sasl_mechanism:
        props["sasl.mechanism"] = kafka.sasl_mechanism
        props["sasl.username"] = kafka.sasl_username
        props["sasl.password"] = read_secret(
            kafka.sasl_password, kafka.sasl_password_file, "sasl_password"
        )
    if kafka.tls_ca_file:
        props["ssl.ca.location"] = kafka.tls_ca_file
    if kafka.tls_cert_file:
        props["ssl.certificate.location"] = kafka.tls_cert_file
    if kafka.tls_key_file:
        props["ssl.key.location"] = kafka.tls_key_file
    key_password = read_secret(
        kafka.tls_key_password, kafka.tls_key_password_file, "tls_key_password"
    )
    if key_password:
        props["ssl.key.password"] = key_password
    if kafka.security_protocol in ("SSL", "SASL_SSL"):
        props["ssl.endpoint.identification.algorithm"] = (
            "https" if kafka.tls_verify_hostname else "none"
        )
    props.update(kafka.extra_properties)
    return props


SECRET_PROPERTIES = frozenset({"sasl.password", "ssl.key.password", "ssl.keystore.password"})


def redacted(props: dict[str, Any]) -> dict[str, Any]:
    """The properties with secret values hidden, for log lines."""
    return {
        k: "<secret>" if k in SECRET_PROPERTIES or "password" in k or "secret" in k else v
        for k, v in props.items()
    }


def broker_from(meta: Any, rack: str = "") -> Broker:
    return Broker(id=int(meta.id), host=str(meta.host), port=int(meta.port), rack=rack or "")


def _assignment(member: Any, keep_topic: Callable[[str], bool]) -> tuple[TopicPartition, ...]:
    assignment = getattr(member, "assignment", None)
    tps: Iterable[Any] = getattr(assignment, "topic_partitions", None) or ()
    return tuple(sorted((tp.topic, int(tp.partition)) for tp in tps if keep_topic(tp.topic)))


def group_from(desc: Any, keep_topic: Callable[[str], bool]) -> GroupDescription:
    """A GroupDescription from a confluent-kafka ConsumerGroupDescription."""
    coordinator = getattr(desc, "coordinator", None)
    members = tuple(
        Member(
            member_id=str(m.member_id),
            client_id=str(m.client_id or ""),
            host=str(m.host or ""),
            group_instance_id=m.group_instance_id or None,
            assignment=_assignment(m, keep_topic),
        )
        for m in (desc.members or ())
    )
    return GroupDescription(
        group_id=str(desc.group_id),
        state=group_state_name(getattr(desc, "state", None)),
        type=group_type_name(getattr(desc, "type", None)),
        assignor=str(desc.partition_assignor or ""),
        coordinator=int(coordinator.id) if coordinator is not None else -1,
        simple=bool(desc.is_simple_consumer_group),
        members=members,
    )


class RdkafkaLog:
    """A `logger` for librdkafka: each distinct line at its level at most once a minute.

    While a broker is down librdkafka logs every reconnect attempt; repeats go to debug.
    """

    def __init__(self, logger: logging.Logger, every: float = 60.0) -> None:
        self._logger = logger
        self._every = every
        self._seen: dict[str, float] = {}

    def log(self, level: int, msg: str, *args: Any, **_kw: Any) -> None:
        text = msg % args if args else msg
        now = time.monotonic()
        key = _VARYING.sub("", text.split("]: ", 1)[-1])
        last = self._seen.get(key)
        if last is not None and now - last < self._every:
            self._logger.debug("librdkafka line=%r", text)
            return
        if len(self._seen) > 1000:
            self._seen.clear()
        self._seen[key] = now
        self._logger.log(level, "librdkafka line=%r", text)


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
"""librdkafka properties `kafka.extra_properties` must not set: the key to set instead (None:
never)."""


def check_config(config: Config, add: Add) -> None:
    """The rules of the `kafka` section: bootstrap servers are host:port, SASL and TLS settings
    fit the security protocol, extra properties do not shadow a key (a `Check` of the loader)."""
    _check_kafka(config.kafka, add)


def _check_kafka(kafka: KafkaConfig, add: Add) -> None:
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


def min_isr_value(entries: Mapping[str, Any]) -> int | None:
    """The topic's min.insync.replicas from its described config entries, or None."""
    entry = entries.get("min.insync.replicas")
    try:
        return int(entry.value) if entry is not None and entry.value is not None else None
    except (TypeError, ValueError):
        return None


def topics_from(
    partitions: Mapping[str, tuple[PartitionMeta, ...]], min_isr: Mapping[str, int | None]
) -> dict[str, TopicMeta]:
    """The topics of one cycle, sorted by name, with the min ISR known for each."""
    return {
        name: TopicMeta(name, ps, is_internal_topic(name), min_isr.get(name))
        for name, ps in sorted(partitions.items())
    }


def carry_offsets(
    wanted: Iterable[TopicPartition],
    read: dict[TopicPartition, Offsets],
    last: Mapping[TopicPartition, Offsets],
) -> tuple[dict[TopicPartition, Offsets], frozenset[TopicPartition]]:
    """This cycle's offsets with those of `wanted` partitions that could not be read (no leader,
    no answer) carried from `last`, and the set of carried partitions.

    Nothing can be produced to a partition without a leader, so the log end read last is still
    its log end and the lag computed from it stays true; a partition never read stays without
    offsets. `read` is completed in place and returned.
    """
    carried = [tp for tp in wanted if tp not in read and tp in last]
    for tp in carried:
        read[tp] = last[tp]
    return read, frozenset(carried)


def carry_starts(
    wanted: Sequence[TopicPartition],
    read: dict[TopicPartition, int],
    last: Mapping[TopicPartition, Offsets],
) -> None:
    """Log-start offsets of `wanted` partitions not read this cycle (their leader did not answer)
    carried into `read` from `last`, in place: a log start moves only with retention, so the one
    read last is a far better answer than none (which would drop the partition's oldest-offset
    series for a cycle)."""
    if len(read) >= len(wanted):
        return
    for tp in wanted:
        if tp not in read:
            offsets = last.get(tp)
            if offsets is not None and offsets.start >= 0:
                read[tp] = offsets.start


_Client = TypeVar("_Client")


def new_client(kind: Callable[[dict[str, Any]], _Client], props: Mapping[str, Any]) -> _Client:
    """A librdkafka client (`AdminClient`, `Consumer`...) made from `props`; a setting librdkafka
    refuses is a ValueError naming it, at once (never a KafkaException at the first request)."""
    try:
        return kind(dict(props))
    except (KafkaException, ValueError, TypeError) as exc:
        raise ValueError(f"kafka: invalid client setting: {describe_error(exc)}") from None
