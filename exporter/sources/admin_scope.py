"""The admin source's part in one series, one owner: which groups and partitions to ask about.

`ScopePlan` turns one cycle's metadata into this instance's `Share` (see `exporter.ownership`) and
shrinks the requests to it: describe and committed offsets only for its groups (plus the replay
groups of its dead-letter topics, whose offsets give those topics' depth), log offsets only for the
partitions its series need. In `cluster` scope every plan is the whole cluster.

The broker id of `scope: broker` is `kafka.broker_id`, or the broker whose address the bootstrap
servers give (`find_broker_id`), looked up once in the first metadata that answers.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from exporter.config import Config
from exporter.ownership import (
    OFFSETS_TOPIC,
    OwnershipError,
    Share,
    find_broker_id,
    log_start_partitions,
    needed_partitions,
    share_of,
)
from exporter.sources.admin_model import Broker, PartitionMeta
from exporter.sources.admin_model import TopicPartition as TP

log = logging.getLogger(__name__)


def offsets_leaders(metadata: Any) -> tuple[int, ...]:
    """The leader of each `__consumer_offsets` partition in raw `list_topics` metadata, in
    partition order (-1 for none); empty when the topic does not exist yet."""
    topic = metadata.topics.get(OFFSETS_TOPIC)
    if topic is None or not topic.partitions:
        return ()
    count = max(int(p) for p in topic.partitions) + 1
    leaders = [-1] * count
    for pid, p in topic.partitions.items():
        leaders[int(pid)] = int(p.leader)
    return tuple(leaders)


def _resolve(host: str) -> frozenset[str]:
    try:
        return frozenset(str(a[4][0]) for a in socket.getaddrinfo(host, None))
    except (OSError, UnicodeError):
        return frozenset({host})


def broker_id_of(config: Config, brokers: Sequence[Broker]) -> int:
    """The broker this `scope: broker` instance serves; OwnershipError when it cannot tell or
    the given id is not in the metadata."""
    given = config.kafka.broker_id
    if given >= 0:
        if all(b.id != given for b in brokers):
            ids = ", ".join(str(b.id) for b in brokers) or "none"
            raise OwnershipError(
                f"kafka.broker_id: broker {given} is not in the cluster (brokers: {ids})"
            )
        return given
    triples = [(b.id, b.host, b.port) for b in brokers]
    return find_broker_id(config.kafka.bootstrap_servers, triples, _resolve)


class ScopePlan:
    """This instance's share of each cycle, and the requests it needs."""

    def __init__(self, config: Config, whole_topic: Callable[[str], bool] | None = None) -> None:
        """`whole_topic(topic)`: whether the topic's per-topic series read the offsets of all
        its partitions (dead-letter topics; the poller knows which)."""
        self.scope = config.scope
        self._config = config
        self._shard = config.shard
        self.broker_id: int | None = config.kafka.broker_id if config.kafka.broker_id >= 0 else None
        self._whole_topic = whole_topic or (lambda topic: False)
        self._replay_groups = dict(config.lessons.replay_groups)

    def share(
        self,
        brokers: Sequence[Broker],
        partitions: Mapping[str, tuple[PartitionMeta, ...]],
        leaders_of_offsets: Sequence[int],
    ) -> Share:
        if self.scope == "cluster":
            return Share()
        if self.scope == "shard":
            return share_of("shard", self._shard.index, self._shard.count, (), ())
        if self.broker_id is None:
            self.broker_id = find_broker_id(
                self._config.kafka.bootstrap_servers,
                [(b.id, b.host, b.port) for b in brokers],
                _resolve,
            )
            log.info("serving the share of broker broker_id=%d", self.broker_id)
        return share_of(
            "broker",
            self.broker_id,
            1,
            (b.id for b in brokers),
            ((p.topic, p.partition, p.leader) for ps in partitions.values() for p in ps),
            leaders_of_offsets,
        )

    def committed_groups(
        self, share: Share, owned: Sequence[str], listed: Collection[str]
    ) -> list[str]:
        """`owned`, and the replay groups of the dead-letter topics whose series are ours."""
        if share.everything:
            return list(owned)
        have = set(owned)
        extra = sorted(
            {
                g
                for topic, g in self._replay_groups.items()
                if g not in have and g in listed and share.topic(topic)
            }
        )
        return [*owned, *extra]

    def offsets(
        self,
        share: Share,
        partitions: Mapping[str, tuple[PartitionMeta, ...]],
        committed: Mapping[str, Iterable[TP]] | None,
    ) -> list[TP]:
        every = ((p.topic, p.partition) for ps in partitions.values() for p in ps)
        return needed_partitions(share, every, committed, self._whole_topic)

    def log_starts(self, share: Share, needed: Sequence[TP]) -> list[TP]:
        """Of the partitions `offsets` gave, those whose log-start offset our series show."""
        return log_start_partitions(share, needed, self._whole_topic)


def with_broker_id(config: Config) -> Config:
    """`scope: broker` at start: the configuration with `kafka.broker_id` checked against the
    metadata (or found from the bootstrap address). OwnershipError when the id is not in the
    cluster or the address is ambiguous; unchanged (found at the first poll instead) when the
    cluster does not answer within `kafka.request_timeout_seconds`."""
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient

    from exporter.sources.admin_convert import RdkafkaLog, broker_from, client_properties
    from exporter.sources.stages import describe_error

    if config.scope != "broker":
        return config
    props = client_properties(config.kafka)
    props["logger"] = RdkafkaLog(logging.getLogger("exporter.librdkafka"))
    try:
        metadata = AdminClient(props).list_topics(timeout=config.kafka.request_timeout_seconds)
    except (KafkaException, ValueError, TypeError) as exc:
        log.warning("broker id not checked at start, cluster unreachable error=%r",
                    describe_error(exc))  # fmt: skip
        return config
    brokers = [broker_from(b, "") for b in metadata.brokers.values()]
    found = broker_id_of(config, brokers)
    log.info("serving the share of broker broker_id=%d", found)
    return replace(config, kafka=replace(config.kafka, broker_id=found))


def followed_offsets_partitions(share: Share) -> frozenset[int]:
    """Broker scope: the `__consumer_offsets` partitions whose groups are this broker's, for the
    offsets-log reader: those it leads, and the leaderless ones while it serves the cluster-wide
    series (as `Share.group` decides)."""
    return frozenset(
        p
        for p, leader in enumerate(share.offsets_leaders)
        if leader == share.me or (leader not in share.live and share.cluster_wide)
    )
