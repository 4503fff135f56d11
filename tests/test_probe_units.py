"""The probe's pure parts without a broker: its settings' rules (through the config loader), the
topic check, the message format, the collector's cumulative histograms and counters, and how a
partition not served yet is asked again."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from confluent_kafka import KafkaError, KafkaException

from exporter.catalog import own
from exporter.catalog import probe as cat
from exporter.collectors.base import CycleData
from exporter.collectors.probe import Histogram, ProbeCollector
from exporter.config import Config, ProbeConfig
from exporter.configure import ConfigError, load_config
from exporter.snapshot import SnapshotBuilder
from exporter.sources import probe_assign
from exporter.sources.probe_model import (
    CommitProbe,
    PartitionProbe,
    ProbeReading,
    TopicShape,
    decode,
    encode,
    topic_problem,
)

BOOT = {"KAFKA_VITALS_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9092"}


def problems(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path, env=BOOT)
    return list(info.value.problems)


def test_probe_is_off_by_default_and_its_settings_load_from_env() -> None:
    assert load_config(None, env=BOOT).probe == ProbeConfig()
    assert ProbeConfig().enabled is False
    env = {**BOOT, "KAFKA_VITALS_PROBE_ENABLED": "true", "KAFKA_VITALS_PROBE_ACKS": "1",
           "KAFKA_VITALS_PROBE_TOPIC": "vitals.probe"}  # fmt: skip
    probe = load_config(None, env=env).probe
    assert (probe.enabled, probe.acks, probe.topic) == (True, "1", "vitals.probe")


def test_probe_settings_are_checked_one_line_each(tmp_path: Path) -> None:
    got = problems(
        tmp_path,
        """
probe:
  enabled: true
  topic: "bad topic"
  group_id: " "
  replication_factor: 2
  min_insync_replicas: 3
  messages_per_partition: 0
  payload_bytes: 10
  deadline_seconds: 25
  acks: "2"
""",
    )
    assert got == [
        "probe.acks: must be one of 'all', '1', got '2'",
        "probe.topic: not a valid Kafka topic name: 'bad topic'",
        "probe.group_id: must not be empty",
        "probe.min_insync_replicas: must be between 1 and probe.replication_factor (2)",
        "probe.messages_per_partition: must be between 1 and 1000",
        "probe.payload_bytes: must be between 64 and 1000000",
        "probe.deadline_seconds: must be above 0 and below poll.stage_timeout_seconds (20)",
    ]
    # the deadline only matters when the probe runs
    path = tmp_path / "off.yaml"
    path.write_text("probe: {deadline_seconds: 25}\n", encoding="utf-8")
    assert load_config(path, env=BOOT).probe.deadline_seconds == 25


def test_topic_check_names_what_does_not_fit() -> None:
    config = ProbeConfig(topic="p", replication_factor=3, min_insync_replicas=2)
    parts = [(0, 1, (1, 2, 3)), (1, 2, (2, 3, 1)), (2, 3, (3, 1, 2))]
    assert topic_problem(config, TopicShape(parts, 2, 3)) is None
    assert "2 partitions for 3 brokers" in (
        topic_problem(config, TopicShape(parts[:2], 2, 3)) or ""
    )
    mixed = [*parts[:2], (2, 3, (3, 1))]
    assert "replication factor 2, 3" in (topic_problem(config, TopicShape(mixed, 2, 3)) or "")
    assert "min.insync.replicas 1" in (topic_problem(config, TopicShape(parts, 1, 3)) or "")
    assert "could not be read" in (topic_problem(config, TopicShape(parts, None, 3)) or "")


def test_message_format_round_trips_and_ignores_strangers() -> None:
    value = encode(7, 3, 2, 41, 100)
    assert len(value) == 100 and decode(value) == (7, 3, 2, 41)
    assert decode(None) is None and decode(b"short") is None
    assert decode(b"XXXX" + value[4:]) is None


def test_histogram_buckets_are_upper_bounds() -> None:
    h = Histogram((0.01, 0.1, 1.0))
    h.observe([0.005, 0.01, 0.05, 2.0])
    assert h.cumulative() == [2, 3, 3, 4]
    assert h.total == pytest.approx(2.065)
    assert Histogram((1.0,)).cumulative() == [0, 0]


def test_collector_accumulates_per_leader_broker_and_says_when_the_probe_failed() -> None:
    collector = ProbeCollector(Config(probe=ProbeConfig(enabled=True)))
    first = ProbeReading(
        (
            PartitionProbe(0, 1, 2, (0.002, 0.003), (0.004,), lost=1),
            PartitionProbe(1, 2, 2, (0.002, 0.002), (0.003, 0.02)),
        ),
        (CommitProbe(1, 0.01, True), CommitProbe(2, 0.5, False)),
        0.1,
    )
    late = ProbeReading((PartitionProbe(0, 1, 2, (), (0.004, 0.004), late=1),), (), 0.1)

    def collect(reading: ProbeReading | None) -> SnapshotBuilder:
        out = SnapshotBuilder()
        collector.collect(CycleData(now=0.0, probe=reading), out)
        return out

    collect(first)
    snap = collect(late).build(0.0)
    assert snap.value(cat.UP) == 1 and snap.value(own.UP, "probe", "") is None
    assert snap.value(cat.MESSAGES_SENT, "1") == 4 and snap.value(cat.MESSAGES_SENT, "2") == 2
    assert snap.value(cat.MESSAGES_LOST, "1") == 1 and snap.value(cat.MESSAGES_LATE, "1") == 1
    assert snap.value(cat.MESSAGES_LOST, "2") == 0
    assert snap.value(cat.END_TO_END_LATENCY, "1", suffix="_count") == 3
    assert snap.value(cat.END_TO_END_LATENCY, "1", "0.005", suffix="_bucket") == 3
    assert snap.value(cat.END_TO_END_LATENCY, "2", "0.005", suffix="_bucket") == 1
    assert snap.value(cat.COMMIT_LATENCY, "1", suffix="_count") == 1
    assert snap.value(cat.COMMIT_LATENCY, "2", suffix="_count") is None
    assert snap.value(cat.COMMIT_FAILURES, "2") == 1
    failed = collect(None).build(0.0)  # the probe failed: the poller files no reading
    assert failed.value(cat.UP) == 0
    assert failed.value(cat.MESSAGES_SENT, "1") == 4  # the counters stay
    off = SnapshotBuilder()
    ProbeCollector(Config()).collect(CycleData(now=0.0), off)
    assert off.build(0.0).series_count == 0


class _Unserved:
    """A consumer whose metadata and partition leader catch up with a topic just created only
    after some asks: `errors` are raised in turn, then the log end is answered."""

    def __init__(self, errors: list[int]) -> None:
        self.errors = list(errors)
        self.metadata_asks = 0

    def get_watermark_offsets(self, tp: object, timeout: float, cached: bool) -> tuple[int, int]:
        if self.errors:
            raise KafkaException(KafkaError(self.errors.pop(0)))
        return 0, 7

    def list_topics(self, topic: str, timeout: float) -> None:
        self.metadata_asks += 1


def _log_end(consumer: _Unserved, seconds: float) -> int | None:
    """`probe_assign.log_end` on `consumer`, with `seconds` to the assignment's deadline."""
    return probe_assign.log_end(consumer, "probe", 0, time.monotonic() + seconds)  # type: ignore[arg-type]


def test_a_partition_not_served_yet_is_asked_again_until_the_deadline() -> None:
    # what a topic just created answers on three brokers: unknown to the consumer's metadata,
    # then unknown to its leader, then no leader yet; the consumer's metadata is asked again
    # only when it is the one that does not know the partition
    unserved = [KafkaError._UNKNOWN_PARTITION, KafkaError.UNKNOWN_TOPIC_OR_PART,
                KafkaError.LEADER_NOT_AVAILABLE, KafkaError.NOT_LEADER_FOR_PARTITION]  # fmt: skip
    consumer = _Unserved(unserved)
    assert _log_end(consumer, 5.0) == 7
    assert consumer.errors == [] and consumer.metadata_asks == 1
    # past the deadline, or another error: left for the next cycle at once
    assert _log_end(_Unserved([KafkaError.UNKNOWN_TOPIC_OR_PART] * 100), 0.05) is None
    assert _log_end(_Unserved([KafkaError.TOPIC_AUTHORIZATION_FAILED, 0]), 5.0) is None
