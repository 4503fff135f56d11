"""One series, one owner: which instance serves which series, in each scope. Pure, no I/O.

Scopes (`scope.mode`):

- `cluster`: one instance serves everything.
- `broker`: the instance beside broker B serves the partitions B leads, the consumer groups B
  coordinates (every series of such a group, for all its partitions wherever they are led), and
  the cluster-wide and per-topic series only while B is the live broker with the lowest id.
  Kafka's own choice decides: a partition's leader, and a group's coordinator, which is the leader
  of `__consumer_offsets` partition `abs(java_hash_code(group_id)) % partitions`. What has no live
  owner (a partition without a leader, a group whose offsets partition has none) belongs to the
  instance that serves the cluster-wide series, so every series has exactly one owner.
- `shard`: N identical replicas, `scope.shard_index` of `scope.shard_count`: a group belongs to
  shard `stable_hash(group_id) % N`, a partition and a topic to shard `stable_hash(topic) % N`, the
  cluster-wide series to shard 0.

`Share` is one instance's part of one cycle's metadata. `series_filter` says, per catalog family,
which of its series an instance keeps: families labelled `consumergroup` are the group's, those
labelled `topic` and `partition` the partition's, those labelled `topic` the topic's, the rest of
the Admin API and lessons families cluster-wide; the exporter's own health, the JMX families and
the probe's are always kept (each instance reads its own JMX targets, and probes only the
partitions of its share).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, TypeVar

T = TypeVar("T")
Scope = Literal["cluster", "broker", "shard"]
OFFSETS_TOPIC = "__consumer_offsets"
LabelFilter = Callable[[tuple[str, ...]], bool]

_INT_MIN = -(2**31)
_FNV_OFFSET = 0x811C9DC5
_FNV_PRIME = 0x01000193
HASH_CACHE = 16_384
"""Group ids and topic names whose shard and offsets partition are kept (about 150 bytes each):
the large scenario's 11,000 names fit; ids churned out of the cluster leave it as new ones come."""


class Family(Protocol):
    """What the series filter reads of a catalog `Metric`."""

    @property
    def source(self) -> str: ...

    @property
    def labels(self) -> tuple[str, ...]: ...


class OwnershipError(ValueError):
    """The instance cannot tell which share is its own (one line, for the user)."""


# ---- hashes -------------------------------------------------------------------------------------


def java_hash_code(text: str) -> int:
    """Java's `String.hashCode()`: 31-polynomial over UTF-16 code units, as a signed 32-bit int."""
    data = text.encode("utf-16-be", "surrogatepass")
    h = 0
    for i in range(0, len(data), 2):
        h = (31 * h + (data[i] << 8 | data[i + 1])) & 0xFFFFFFFF
    return h - (1 << 32) if h & 0x80000000 else h


def kafka_abs(n: int) -> int:
    """Kafka's `Utils.abs`: the absolute value, with Integer.MIN_VALUE mapped to 0."""
    return 0 if n == _INT_MIN else abs(n)


@functools.lru_cache(maxsize=HASH_CACHE)
def offsets_partition(group_id: str, partitions: int) -> int:
    """The `__consumer_offsets` partition of a group; its leader is the group's coordinator.
    Cached: the series filter asks it for every series of the group, every cycle."""
    return kafka_abs(java_hash_code(group_id)) % partitions


def stable_hash(name: str) -> int:
    """32-bit FNV-1a of the UTF-8 bytes: the same on every machine, run and Python version."""
    h = _FNV_OFFSET
    for byte in name.encode("utf-8", "surrogatepass"):
        h = ((h ^ byte) * _FNV_PRIME) & 0xFFFFFFFF
    return h


@functools.lru_cache(maxsize=HASH_CACHE)
def shard_of(name: str, count: int) -> int:
    """The shard of a group id or topic name. Cached: the series filter asks it for every series
    of the group or topic, every cycle."""
    return stable_hash(name) % count


# ---- one instance's share ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Share:
    """What one instance owns in one cycle's metadata."""

    scope: Scope = "cluster"
    me: int = 0
    """The broker id (broker scope) or the shard index (shard scope)."""
    count: int = 1
    """The shard count (shard scope)."""
    cluster_wide: bool = True
    """Whether the cluster-wide series (and, in broker scope, the per-topic ones) are ours."""
    partitions: frozenset[tuple[str, int]] = frozenset()
    """Broker scope: the partitions ours (led by us, or leaderless while we are cluster-wide)."""
    offsets_leaders: tuple[int, ...] = ()
    """Broker scope: the leader of each `__consumer_offsets` partition (-1: none)."""
    live: frozenset[int] = frozenset()
    """Broker scope: the ids of the live brokers."""

    @property
    def everything(self) -> bool:
        return self.scope == "cluster"

    def coordinator(self, group_id: str) -> int:
        """Broker scope: the broker that coordinates the group, by Kafka's rule; -1 if none is
        live (or there is no offsets topic yet)."""
        if not self.offsets_leaders:
            return -1
        leader = self.offsets_leaders[offsets_partition(group_id, len(self.offsets_leaders))]
        return leader if leader in self.live else -1

    def group(self, group_id: str) -> bool:
        if self.scope == "cluster":
            return True
        if self.scope == "shard":
            return shard_of(group_id, self.count) == self.me
        coordinator = self.coordinator(group_id)
        return coordinator == self.me if coordinator >= 0 else self.cluster_wide

    def topic(self, topic: str) -> bool:
        """Per-topic series (partition count, min ISR, dead letters)."""
        if self.scope == "shard":
            return shard_of(topic, self.count) == self.me
        return self.cluster_wide

    def partition(self, topic: str, partition: int) -> bool:
        if self.scope == "cluster":
            return True
        if self.scope == "shard":
            return shard_of(topic, self.count) == self.me
        return (topic, partition) in self.partitions

    def partitions_of(
        self, topic: str, items: Sequence[T], number: Callable[[T], int]
    ) -> Sequence[T]:
        """Of one topic's partitions (`number(item)`: the partition id), those whose partition
        series are this instance's, in order: what `partition` says of each, decided once for
        the topic where the scope goes by the topic. Collectors use it to skip what is not
        theirs before they build series (the series filter would drop them after)."""
        if self.scope == "cluster":
            return items
        if self.scope == "shard":
            return items if shard_of(topic, self.count) == self.me else ()
        return [item for item in items if (topic, number(item)) in self.partitions]

    def series_filter(self, metric: Family) -> LabelFilter | None:
        """Which series of the family to keep: None keeps all, else a test on the label values."""
        if self.scope == "cluster" or metric.source in ("own", "jmx_broker", "jmx_client", "probe"):
            return None
        labels = metric.labels
        me, count = self.me, self.count
        if self.scope == "shard":  # by a name alone (cached): called for every series
            if "consumergroup" in labels or "topic" in labels:
                at = labels.index("consumergroup" if "consumergroup" in labels else "topic")
                return lambda values: shard_of(values[at], count) == me
            return lambda values: me == 0
        if "consumergroup" in labels:
            at = labels.index("consumergroup")
            return lambda values: self.group(values[at])
        if "topic" in labels and "partition" in labels:
            t, p = labels.index("topic"), labels.index("partition")
            return lambda values: self.partition(values[t], int(values[p]))
        if "topic" in labels:
            at = labels.index("topic")
            return lambda values: self.topic(values[at])
        keep = self.cluster_wide
        return lambda values: keep


def share_of(
    scope: Scope,
    me: int,
    count: int,
    live: Iterable[int],
    leaders: Iterable[tuple[str, int, int]],
    offsets_leaders: Sequence[int] = (),
) -> Share:
    """One instance's share. `live`: broker ids in the metadata; `leaders`: (topic, partition,
    leader id) of every exported partition; `offsets_leaders`: the leader of each
    `__consumer_offsets` partition, in partition order."""
    if scope == "cluster":
        return Share()
    if scope == "shard":
        return Share("shard", me, count, cluster_wide=me == 0)
    alive = frozenset(live)
    cluster_wide = bool(alive) and me == min(alive)
    mine = frozenset(
        (topic, partition)
        for topic, partition, leader in leaders
        if (leader == me and me in alive) or (cluster_wide and leader not in alive)
    )
    return Share("broker", me, 1, cluster_wide, mine, tuple(offsets_leaders), alive)


def needed_partitions(
    share: Share,
    partitions: Iterable[tuple[str, int]],
    committed: Mapping[str, Iterable[tuple[str, int]]] | None,
    whole_topic: Callable[[str], bool] = lambda topic: False,
) -> list[tuple[str, int]]:
    """The partitions whose log offsets the share's series need: its own partitions, every
    partition its groups committed on, and every partition of its topics for which `whole_topic`
    says the per-topic series read offsets (dead-letter topics), in the order given."""
    if share.everything:
        return list(partitions)
    extra = {tp for tps in (committed or {}).values() for tp in tps}
    shown = _shown_partitions(share, whole_topic)
    return [tp for tp in partitions if tp in extra or shown(tp)]


def log_start_partitions(
    share: Share,
    needed: Sequence[tuple[str, int]],
    whole_topic: Callable[[str], bool] = lambda topic: False,
) -> list[tuple[str, int]]:
    """Of the `needed` partitions, those whose log-start offset a series of the share shows: its
    own partitions (the partition series) and the partitions of its topics for which `whole_topic`
    says the per-topic series read offsets (dead-letter topics). A partition needed only for a
    group's lag needs its log end alone."""
    if share.everything:
        return list(needed)
    shown = _shown_partitions(share, whole_topic)
    return [tp for tp in needed if shown(tp)]


def _shown_partitions(
    share: Share, whole_topic: Callable[[str], bool]
) -> Callable[[tuple[str, int]], bool]:
    """Whether a series of the share shows the partition's offsets: its own partitions, and every
    partition of its topics that `whole_topic` reads whole (asked once per topic)."""
    topics: dict[str, bool] = {}

    def shown(tp: tuple[str, int]) -> bool:
        if share.partition(*tp):
            return True
        topic = tp[0]
        if topic not in topics:
            topics[topic] = whole_topic(topic) and share.topic(topic)
        return topics[topic]

    return shown


# ---- which broker am I -------------------------------------------------------------------------


def find_broker_id(
    bootstrap_servers: str,
    brokers: Sequence[tuple[int, str, int]],
    resolve: Callable[[str], frozenset[str]] = lambda host: frozenset({host}),
) -> int:
    """The id of the broker the bootstrap address names: (id, host, port) of each broker in the
    metadata; `resolve(host)` gives the addresses a host name stands for. Raises OwnershipError
    when no broker or more than one matches."""
    wanted: set[tuple[str, int]] = set()
    for server in (s.strip() for s in bootstrap_servers.split(",") if s.strip()):
        host, _, port = server.rpartition(":")
        host = host.strip("[]").lower()
        if port.isdigit():
            wanted |= {(a.lower(), int(port)) for a in resolve(host) | {host}}
    found = sorted(
        {
            bid
            for bid, host, port in brokers
            if any((a.lower(), port) in wanted for a in resolve(host.lower()) | {host.lower()})
        }
    )
    if len(found) == 1:
        return found[0]
    if not found:
        listed = ", ".join(f"{bid}={host}:{port}" for bid, host, port in brokers) or "none"
        raise OwnershipError(
            f"kafka.broker_id: no broker in the metadata has the bootstrap address "
            f"{bootstrap_servers!r} (brokers: {listed}); set kafka.broker_id"
        )
    ids = ", ".join(map(str, found))
    raise OwnershipError(
        f"kafka.broker_id: the bootstrap address {bootstrap_servers!r} is ambiguous in broker "
        f"scope, it names brokers {ids}; give one broker's address or set kafka.broker_id"
    )
