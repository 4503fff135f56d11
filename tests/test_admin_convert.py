"""Pure translations of the admin source: client properties, group states and types, groups."""

from __future__ import annotations

import logging
from pathlib import Path
from types import MappingProxyType

import pytest
from confluent_kafka import ConsumerGroupState, ConsumerGroupType, Node, TopicPartition
from confluent_kafka.admin import (  # type: ignore[attr-defined]
    ConsumerGroupDescription,
    MemberAssignment,
    MemberDescription,
)

from exporter.config import KafkaConfig, Secret
from exporter.sources.admin_convert import (
    RdkafkaLog,
    carry_offsets,
    carry_starts,
    client_properties,
    group_from,
    group_state_name,
    group_type_name,
    redacted,
)
from exporter.sources.admin_model import Offsets


def test_plaintext_properties() -> None:
    props = client_properties(KafkaConfig(bootstrap_servers="k:9092"))
    assert props["bootstrap.servers"] == "k:9092"
    assert props["client.id"] == "kafka-vitals"
    assert props["security.protocol"] == "PLAINTEXT"
    assert not any(k.startswith(("sasl.", "ssl.")) for k in props)


def test_sasl_ssl_properties_with_secret_files(tmp_path: Path) -> None:
    pw = tmp_path / "pw"
    pw.write_text("s3cret\n")
    keypw = tmp_path / "keypw"
    keypw.write_text("k3y\n")
    cfg = KafkaConfig(
        bootstrap_servers="k:9093",
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_username="vitals",
        sasl_password_file=str(pw),
        tls_ca_file="/ca.pem",
        tls_cert_file="/cert.pem",
        tls_key_file="/key.pem",
        tls_key_password_file=str(keypw),
        tls_verify_hostname=False,
        extra_properties=MappingProxyType({"socket.keepalive.enable": "true"}),
    )
    props = client_properties(cfg)
    assert props["sasl.mechanism"] == "SCRAM-SHA-512"
    assert props["sasl.username"] == "vitals"
    assert props["sasl.password"] == "s3cret"
    assert props["ssl.ca.location"] == "/ca.pem"
    assert props["ssl.certificate.location"] == "/cert.pem"
    assert props["ssl.key.location"] == "/key.pem"
    assert props["ssl.key.password"] == "k3y"
    assert props["ssl.endpoint.identification.algorithm"] == "none"
    assert props["socket.keepalive.enable"] == "true"
    shown = str(redacted(props))
    assert "s3cret" not in shown and "k3y" not in shown


def test_inline_secret_wins_and_hostname_check_on() -> None:
    cfg = KafkaConfig(
        security_protocol="SSL", sasl_mechanism="PLAIN", sasl_password=Secret("inline")
    )
    props = client_properties(cfg)
    assert props["sasl.password"] == "inline"
    assert props["ssl.endpoint.identification.algorithm"] == "https"


def test_unreadable_secret_file_is_a_clear_error(tmp_path: Path) -> None:
    cfg = KafkaConfig(sasl_mechanism="PLAIN", sasl_password_file=str(tmp_path / "missing"))
    with pytest.raises(ValueError, match=r"kafka\.sasl_password_file: cannot read .*missing"):
        client_properties(cfg)


@pytest.mark.parametrize(
    ("state", "name"),
    [
        (ConsumerGroupState.STABLE, "Stable"),
        (ConsumerGroupState.PREPARING_REBALANCING, "PreparingRebalance"),
        (ConsumerGroupState.COMPLETING_REBALANCING, "CompletingRebalance"),
        (ConsumerGroupState.EMPTY, "Empty"),
        (ConsumerGroupState.DEAD, "Dead"),
        (ConsumerGroupState.UNKNOWN, "Unknown"),
        ("ASSIGNING", "Assigning"),
        ("Reconciling", "Reconciling"),
        ("SomethingNew", "Unknown"),
        (None, "Unknown"),
    ],
)
def test_group_state_names(state: object, name: str) -> None:
    assert group_state_name(state) == name


def test_group_type_names() -> None:
    assert group_type_name(ConsumerGroupType.CLASSIC) == "classic"
    assert group_type_name(ConsumerGroupType.CONSUMER) == "consumer"
    assert group_type_name(ConsumerGroupType.UNKNOWN) == "unknown"
    assert group_type_name(None) == "unknown"


def test_group_from_a_description_filters_assigned_topics() -> None:
    member = MemberDescription(
        "m-1",
        "client-1",
        "/10.0.0.1",
        MemberAssignment([TopicPartition("b", 1), TopicPartition("a", 0), TopicPartition("x", 0)]),
        group_instance_id="static-1",
    )
    desc = ConsumerGroupDescription(
        "g", False, [member], "range", ConsumerGroupState.STABLE, Node(3, "h", 9092),
        type=ConsumerGroupType.CLASSIC,
    )  # fmt: skip
    g = group_from(desc, lambda t: t != "x")
    assert (g.group_id, g.state, g.type, g.assignor, g.coordinator, g.simple) == (
        "g", "Stable", "classic", "range", 3, False,
    )  # fmt: skip
    assert g.members[0].assignment == (("a", 0), ("b", 1))
    assert g.members[0].group_instance_id == "static-1"


def test_simple_group_without_members() -> None:
    desc = ConsumerGroupDescription(
        "offsets-only", True, [], "", ConsumerGroupState.EMPTY, Node(1, "h", 9092)
    )
    g = group_from(desc, lambda t: True)
    assert g.simple and g.state == "Empty" and g.members == () and g.type == "unknown"


def test_rdkafka_log_repeats_go_to_debug(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("test.rdkafka")
    sink = RdkafkaLog(logger)
    caplog.set_level(logging.DEBUG, logger="test.rdkafka")
    for ms in (0, 1, 2):
        sink.log(logging.ERROR, "%s [%s] %s", "FAIL", "rdkafka#producer-1",
                 f"[thrd:x]: x: Connect failed (after {ms}ms in state CONNECT)")  # fmt: skip
    levels = [r.levelno for r in caplog.records]
    assert levels == [logging.ERROR, logging.DEBUG, logging.DEBUG]


def test_carry_offsets_fills_unread_partitions_from_the_last_cycle() -> None:
    last = {("t", 0): Offsets(0, 10), ("t", 1): Offsets(2, 20), ("gone", 0): Offsets(0, 5)}
    read = {("t", 0): Offsets(0, 12)}
    wanted = [("t", 0), ("t", 1), ("t", 2)]
    out, carried = carry_offsets(wanted, read, last)
    # t/1 carried; t/2 never read: no offsets; gone/0 no longer wanted: forgotten
    assert out == {("t", 0): Offsets(0, 12), ("t", 1): Offsets(2, 20)}
    assert carried == frozenset({("t", 1)})
    assert carry_offsets(wanted, {("t", 1): Offsets(2, 21)}, {})[1] == frozenset()


def test_carry_starts_fills_log_starts_not_read_from_the_last_cycle() -> None:
    last = {("t", 0): Offsets(3, 10), ("t", 1): Offsets(-1, 20), ("u", 0): Offsets(7, 9)}
    read = {("t", 0): 4}
    # t/0 read: kept; t/1 had no log start last: none; t/2 never read; u/0 not wanted: not added
    carry_starts([("t", 0), ("t", 1), ("t", 2)], read, last)
    assert read == {("t", 0): 4}
    carry_starts([("t", 0), ("u", 0)], read := {}, last)
    assert read == {("t", 0): 3, ("u", 0): 7}
