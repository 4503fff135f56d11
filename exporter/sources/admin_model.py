"""Plain dataclasses for what one Admin API poll learns about the cluster.

The admin source fills these; collectors read them. Nothing here does I/O or knows Prometheus.

The ones a cycle holds by the thousand (`Broker`, `PartitionMeta`, `TopicMeta`, `Offsets`,
`GroupDescription`, `Member`) pickle as their constructor call (`__reduce__`): the Admin API
child sends them to the exporter's process every cycle, and the dataclass default
(`__setstate__` walking `fields()` for every object) takes about 2.5 times as long to dump and
to load.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from exporter.ownership import Share

TopicPartition = tuple[str, int]


@dataclass(frozen=True, slots=True)
class Broker:
    id: int
    host: str
    port: int
    rack: str = ""

    def __reduce__(self) -> tuple[type[Broker], tuple[int, str, int, str]]:
        return Broker, (self.id, self.host, self.port, self.rack)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class PartitionMeta:
    topic: str
    partition: int
    leader: int
    """Broker id of the leader, -1 when there is none (offline)."""
    replicas: tuple[int, ...]
    isr: tuple[int, ...]

    def __reduce__(
        self,
    ) -> tuple[type[PartitionMeta], tuple[str, int, int, tuple[int, ...], tuple[int, ...]]]:
        return PartitionMeta, (self.topic, self.partition, self.leader, self.replicas, self.isr)


@dataclass(frozen=True, slots=True)
class TopicMeta:
    name: str
    partitions: tuple[PartitionMeta, ...]
    internal: bool = False
    min_insync_replicas: int | None = None
    """From the topic config (cached); None until known."""

    def __reduce__(
        self,
    ) -> tuple[type[TopicMeta], tuple[str, tuple[PartitionMeta, ...], bool, int | None]]:
        return TopicMeta, (self.name, self.partitions, self.internal, self.min_insync_replicas)


@dataclass(frozen=True, slots=True)
class Offsets:
    """Log-start and log-end offset of one partition (-1 where the broker gave none)."""

    start: int
    end: int

    def __reduce__(self) -> tuple[type[Offsets], tuple[int, int]]:
        return Offsets, (self.start, self.end)


@dataclass(frozen=True, slots=True)
class Member:
    member_id: str
    client_id: str
    host: str
    group_instance_id: str | None
    assignment: tuple[TopicPartition, ...]

    def __reduce__(
        self,
    ) -> tuple[type[Member], tuple[str, str, str, str | None, tuple[TopicPartition, ...]]]:
        return Member, (self.member_id, self.client_id, self.host, self.group_instance_id,
                        self.assignment)  # fmt: skip


_GroupArgs = tuple[str, str, str, str, int, bool, tuple[Member, ...]]
_GroupClass = type["GroupDescription"]  # `type` in the class body is the field


@dataclass(frozen=True, slots=True)
class GroupDescription:
    group_id: str
    state: str
    """Kafka's name for the state: Stable, PreparingRebalance, CompletingRebalance, Empty, Dead,
    Assigning, Reconciling, or Unknown."""
    type: str
    """classic, consumer, or unknown."""
    assignor: str
    coordinator: int
    simple: bool
    members: tuple[Member, ...]

    def __reduce__(
        self,
    ) -> tuple[_GroupClass, _GroupArgs]:
        return GroupDescription, (self.group_id, self.state, self.type, self.assignor,
                                  self.coordinator, self.simple, self.members)  # fmt: skip


@dataclass(frozen=True, slots=True)
class OffsetsLogStatus:
    """How the `__consumer_offsets` reader is doing (committed offsets from the log)."""

    ready: bool
    """The log was read up to its end as of start (for every followed offsets partition)."""
    denied: bool
    """The principal may not read or describe the offsets topic."""
    records: int
    skipped: Mapping[str, int]
    """Records skipped, by reason (unknown key or value version, corrupt)."""
    behind: int
    """Records between the reader and the end it must reach (at start, or at the last cycle)."""
    partitions: int
    """Offsets partitions followed."""
    error: str = ""
    loaded_seconds: float | None = None
    """Seconds from start until the log was read up to its end as of start."""


@dataclass(frozen=True, slots=True)
class MessageTimes:
    """What the `message_times` stage learned: when the oldest unconsumed messages were written."""

    mode: str
    """`poll.lag_seconds_mode`: interpolated, exact or auto."""
    times: Mapping[tuple[str, int, int], float]
    """(topic, partition, committed offset) -> unix time of the first message a consumer gets from
    that offset (the cycle's time where nothing is left to consume). Missing: interpolate."""
    reads: Mapping[str, int]
    """Partition reads since start, by outcome (found, end, out_of_range, denied, error,
    timeout)."""


@dataclass(frozen=True, slots=True)
class TopicPayloads:
    """What the newest messages of one topic's partitions showed this cycle."""

    sampled: int
    """Messages checked (tombstones, and messages whose schema id could not be looked up yet,
    are not)."""
    without_wire_format: int
    """Messages whose value does not start with the registry wire format (magic byte 0, then a
    4-byte schema id)."""
    unknown_schema_id: int
    """Messages in the wire format whose schema id the registry does not know."""


@dataclass(frozen=True, slots=True)
class PayloadSamples:
    """What the `payload_samples` stage learned: the newest messages per topic, checked."""

    topics: Mapping[str, TopicPayloads]
    """Topics sampled this cycle (a topic without Read permission, or whose partitions gave
    nothing but errors, is missing)."""
    reads: Mapping[str, int]
    """Partition samples since start, by outcome (found, end, out_of_range, denied, error,
    timeout)."""


@dataclass(frozen=True, slots=True)
class ClusterView:
    """What the Admin API stages of one cycle learned. A stage that failed leaves its part None."""

    taken_at: float
    """Unix time at which the log-end offsets were read (the cycle start if they were not)."""
    brokers: tuple[Broker, ...] | None = None
    controller_id: int | None = None
    topics: Mapping[str, TopicMeta] | None = None
    """The exported topics (those the topic filters keep)."""
    replication_only: Mapping[str, TopicMeta] = field(default_factory=dict)
    """Internal topics the topic filters leave out: only their replication health is served
    (an under-replicated `__consumer_offsets` stops every group on it from committing)."""
    groups: Mapping[str, GroupDescription] | None = None
    """Described groups that pass the group filter, by id."""
    committed: Mapping[str, Mapping[TopicPartition, int]] | None = None
    """Committed offsets by group id; only partitions with a committed offset (>= 0)."""
    offsets: Mapping[TopicPartition, Offsets] | None = None
    """Log-start and log-end offsets, read after the committed offsets. A partition that still
    exists but whose offsets could not be read this cycle (no leader, no answer) keeps the offsets
    last read, and is listed in `carried_offsets`."""
    carried_offsets: frozenset[TopicPartition] = frozenset()
    """Partitions whose offsets in `offsets` were carried from an earlier cycle. Nothing can be
    produced to a partition without a leader, so its last log-end offset is still its log end."""
    message_times: MessageTimes | None = None
    """Exact message times for lag in seconds; None in `interpolated` mode or when not read."""
    payload_samples: PayloadSamples | None = None
    """The newest messages checked against the schema registry; None unless
    `schema_registry.payload_sampling` is on and the stage succeeded."""
    committed_source: str = "admin"
    """Where the committed offsets came from: admin (one request per group) or log."""
    commit_times: Mapping[str, Mapping[TopicPartition, float]] | None = None
    """Unix time of each committed offset's commit (log source only), by group and partition."""
    offsets_log: OffsetsLogStatus | None = None
    """The offsets-log reader's status, when one runs."""
    failed_stages: tuple[str, ...] = field(default=())
    share: Share | None = None
    """This instance's share of the cycle (`scope`); None means everything."""

    @property
    def committed_ready(self) -> bool:
        """False while committed offsets should come from an offsets log not yet read to its
        end as of start (nothing of it is served then)."""
        if self.committed_source != "log":
            return True
        return self.offsets_log is not None and self.offsets_log.ready
