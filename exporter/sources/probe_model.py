"""What the end-to-end probe measures, and its pure rules: the message format and the topic check.

Plain dataclasses, so that a reading crosses the supervised child's process boundary. Nothing here
does I/O; `exporter.sources.probe` does.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass

from exporter.config import Config, ProbeConfig
from exporter.config.check import Add

READING_KEY = "probe"
"""The key of the probe's reading in what its runner's `poll` returns."""

MAGIC = b"KVP1"
_HEADER = struct.Struct(">4sQQIQ")
"""magic, run id, cycle, partition, sequence number (big-endian); the rest is padding."""
HEADER_BYTES = _HEADER.size
MIN_PAYLOAD_BYTES = 64
_TOPIC_NAME = re.compile(r"[a-zA-Z0-9._-]{1,249}")


@dataclass(frozen=True, slots=True)
class PartitionProbe:
    """One partition's measurements in one cycle (latencies in seconds)."""

    partition: int
    leader: int
    """The partition's leader broker when the cycle's messages were produced (-1: none)."""
    sent: int
    """Messages produced to it this cycle (a produce refused at once counts as lost)."""
    produce_seconds: tuple[float, ...] = ()
    """Produce acknowledgement latency of each message acknowledged this cycle."""
    end_to_end_seconds: tuple[float, ...] = ()
    """Produced to consumed, of each message of this cycle consumed within the deadline."""
    lost: int = 0
    """Messages of this cycle not consumed within the deadline."""
    late: int = 0
    """Messages of earlier cycles consumed this cycle (each counted lost in its own cycle)."""


@dataclass(frozen=True, slots=True)
class CommitProbe:
    """One synchronous commit of the offsets of the partitions one broker leads."""

    leader: int
    seconds: float
    ok: bool


@dataclass(frozen=True, slots=True)
class ProbeReading:
    """One probe cycle: every probed partition, and the commits."""

    partitions: tuple[PartitionProbe, ...]
    commits: tuple[CommitProbe, ...]
    seconds: float
    """Wall time of the cycle."""


@dataclass(frozen=True, slots=True)
class ProbeFailure:
    """The probe could not run this cycle (topic missing or wrong, cluster unreachable)."""

    error: str


@dataclass(frozen=True, slots=True)
class TopicShape:
    """What the metadata and the topic config say about the probe topic."""

    partitions: Sequence[tuple[int, int, tuple[int, ...]]]
    """(partition, leader, replicas) of each partition."""
    min_insync_replicas: int | None
    brokers: int


def encode(run: int, cycle: int, partition: int, seq: int, size: int) -> bytes:
    """A probe message's value: the header, padded to `size` bytes."""
    head = _HEADER.pack(MAGIC, run, cycle, partition, seq)
    return head + b"\0" * max(0, size - len(head))


def decode(value: bytes | None) -> tuple[int, int, int, int] | None:
    """(run id, cycle, partition, sequence number) of a probe message, or None when the value is
    not one (another writer on the topic, a truncated value)."""
    if value is None or len(value) < HEADER_BYTES:
        return None
    magic, run, cycle, partition, seq = _HEADER.unpack_from(value)
    if magic != MAGIC:
        return None
    return run, cycle, partition, seq


def topic_problem(config: ProbeConfig, shape: TopicShape) -> str | None:
    """Why the probe topic does not fit the configuration (one line), or None when it does."""
    where = f"probe topic {config.topic!r}"
    if len(shape.partitions) < shape.brokers:
        return (
            f"{where} has {len(shape.partitions)} partitions for {shape.brokers} brokers: it needs "
            "at least one per broker, so that every broker leads one"
        )
    factors = sorted({len(replicas) for _, _, replicas in shape.partitions})
    if factors != [config.replication_factor]:
        shown = ", ".join(map(str, factors))
        return (
            f"{where} has replication factor {shown}, probe.replication_factor is "
            f"{config.replication_factor}"
        )
    if shape.min_insync_replicas is None:
        return f"{where}: its min.insync.replicas could not be read (DescribeConfigs on the topic)"
    if shape.min_insync_replicas != config.min_insync_replicas:
        return (
            f"{where} has min.insync.replicas {shape.min_insync_replicas}, "
            f"probe.min_insync_replicas is {config.min_insync_replicas}"
        )
    return None


def check_config(config: Config, add: Add) -> None:
    """The rules of the `probe` section beyond the types (a `Check` of the loader)."""
    for key, message in config_problems(config.probe, config.poll.stage_timeout_seconds):
        add(key, message)


def config_problems(config: ProbeConfig, stage_timeout: float) -> list[tuple[str, str]]:
    """(key, message) for each problem of the `probe` section; the deadline only when enabled."""
    out: list[tuple[str, str]] = []
    if not _TOPIC_NAME.fullmatch(config.topic) or config.topic in (".", ".."):
        out.append(("probe.topic", f"not a valid Kafka topic name: {config.topic!r}"))
    if not config.group_id.strip():
        out.append(("probe.group_id", "must not be empty"))
    if config.replication_factor < 1:
        out.append(("probe.replication_factor", "must be at least 1"))
    elif not 1 <= config.min_insync_replicas <= config.replication_factor:
        out.append(
            (
                "probe.min_insync_replicas",
                f"must be between 1 and probe.replication_factor ({config.replication_factor})",
            )
        )
    if not 1 <= config.messages_per_partition <= 1000:
        out.append(("probe.messages_per_partition", "must be between 1 and 1000"))
    if not MIN_PAYLOAD_BYTES <= config.payload_bytes <= 1_000_000:
        out.append(("probe.payload_bytes", f"must be between {MIN_PAYLOAD_BYTES} and 1000000"))
    if config.enabled and not 0 < config.deadline_seconds < stage_timeout:
        out.append(
            (
                "probe.deadline_seconds",
                f"must be above 0 and below poll.stage_timeout_seconds ({stage_timeout:g})",
            )
        )
    return out
