"""The probe consumer's assignment: the partitions it probes, each assigned at its log end.

The probe's consumer is assigned its partitions (never subscribed, see `exporter.sources.probe`).
A partition newly probed starts at its log end, read before anything is produced to it; a
partition no longer probed is unassigned. A partition of a topic just created is in the
producer's metadata a moment before the consumer's metadata and its leader know it: its log end
is asked again until the assignment's deadline, so a probe that creates its topic measures every
partition from its first cycle. Any other error leaves the partition for the next cycle.
"""

from __future__ import annotations

import contextlib
import logging
import time

from confluent_kafka import OFFSET_INVALID, Consumer, KafkaError, KafkaException
from confluent_kafka import TopicPartition as KafkaTP

from exporter.sources.stages import describe_error, error_code

log = logging.getLogger(__name__)

RETRY_SECONDS = 0.1
"""Pause before asking again the log end of a partition not served yet."""
NOT_SERVED_YET = frozenset({
    KafkaError.NOT_LEADER_FOR_PARTITION,
    KafkaError.LEADER_NOT_AVAILABLE,
    KafkaError.UNKNOWN_TOPIC_OR_PART,  # the leader's own metadata has not caught up yet
    KafkaError._UNKNOWN_PARTITION,  # the consumer's metadata has not caught up yet
})  # fmt: skip
"""Errors of a partition the producer's metadata names but that is not served to the consumer
yet (a topic just created)."""


def assign(
    consumer: Consumer, topic: str, assigned: dict[int, int], leaders: dict[int, int], until: float
) -> None:
    """Assign the partitions of `leaders` (partition -> leader) not in `assigned` at their log
    end, and unassign those of `assigned` no longer in `leaders`; `assigned` follows. A partition
    that could not be assigned by `until` leaves `leaders` (asked again next cycle)."""
    gone = [p for p in assigned if p not in leaders]
    if gone:
        consumer.incremental_unassign([KafkaTP(topic, p) for p in gone])
        for p in gone:
            del assigned[p]
    new = []
    wanted = sorted(set(leaders) - set(assigned))
    if wanted:  # the consumer's own metadata must know the partitions (a topic just created)
        refresh(consumer, topic, until)
    for p in wanted:
        high = log_end(consumer, topic, p, until)
        if high is not None:
            new.append(KafkaTP(topic, p, high if high >= 0 else OFFSET_INVALID))
    if new:
        consumer.incremental_assign(new)
    for tp in new:
        assigned[tp.partition] = leaders[tp.partition]
    for p in list(leaders):
        if p not in assigned:
            del leaders[p]


def log_end(consumer: Consumer, topic: str, partition: int, until: float) -> int | None:
    """The log end of a partition to be assigned; None: tried again next cycle. Not served yet:
    asked again every `RETRY_SECONDS` until `until`, the consumer's metadata asked again first
    when the gap is its own."""
    while True:
        left = until - time.monotonic()
        try:
            _, high = consumer.get_watermark_offsets(
                KafkaTP(topic, partition), timeout=max(0.1, left), cached=False
            )
            return int(high)
        except KafkaException as exc:
            left = until - time.monotonic()
            code = error_code(exc)
            if code in NOT_SERVED_YET and left > RETRY_SECONDS:
                time.sleep(RETRY_SECONDS)
                if code == KafkaError._UNKNOWN_PARTITION:
                    # if this fails, the next ask of the log end says what is wrong, or the
                    # deadline ends the retries
                    with contextlib.suppress(KafkaException):
                        refresh(consumer, topic, until)
                continue
            log.info("probe partition not assigned partition=%d error=%r", partition,
                     describe_error(exc))  # fmt: skip
            return None


def refresh(consumer: Consumer, topic: str, until: float) -> None:
    """The consumer's metadata of `topic` asked again, by `until`."""
    consumer.list_topics(topic=topic, timeout=max(0.1, until - time.monotonic()))
