"""The offsets stage's pure parts: partitions split by leader, a call's answers read back, when
the consumers are replaced."""

from __future__ import annotations

from dataclasses import dataclass

from confluent_kafka import KafkaError, TopicPartition

from exporter.sources.admin_offsets import by_leader, leaders_moved, offsets_of


@dataclass(frozen=True)
class Answer:
    """A `offsets_for_times` answer with an error (confluent-kafka gives no way to build one)."""

    topic: str
    partition: int
    offset: int
    error: KafkaError | None


def test_partitions_are_split_by_leader_and_leaderless_ones_are_not_asked() -> None:
    leaders = {("a", 0): 1, ("a", 1): 2, ("a", 2): -1, ("b", 0): 1}
    wanted = [("a", 0), ("a", 1), ("a", 2), ("b", 0), ("gone", 0)]
    assert by_leader(wanted, leaders) == {1: [("a", 0), ("b", 0)], 2: [("a", 1)]}
    assert by_leader([], leaders) == {}


def test_answers_are_keyed_by_the_partitions_asked_without_errors_or_missing_offsets() -> None:
    asked = [("a", 0), ("a", 1), ("b", 0), ("b", 1)]
    answers = [
        TopicPartition("a", 0, 12),
        Answer("a", 1, -1, KafkaError(KafkaError.NOT_LEADER_FOR_PARTITION)),
        TopicPartition("b", 0, -1),  # no offset
        TopicPartition("b", 1, 0),  # an empty partition: offset 0
    ]
    got = offsets_of(asked, answers)
    assert got == {("a", 0): 12, ("b", 1): 0}
    key = next(k for k in got if k == ("a", 0))
    assert key is asked[0]  # the label strings of the metadata are kept, not librdkafka's copies
    # answers in another order (librdkafka keeps the order asked; should it not): matched by name
    shuffled = [TopicPartition("b", 1, 7), TopicPartition("a", 0, 3), TopicPartition("x", 9, 1)]
    assert offsets_of(asked[:1] + asked[3:], shuffled) == {("a", 0): 3, ("b", 1): 7}


def test_consumers_are_replaced_when_a_known_partition_changed_leader_only() -> None:
    last = {("a", 0): 1, ("a", 1): 2, ("b", 0): -1}
    assert not leaders_moved(last, dict(last))
    assert not leaders_moved(last, {**last, ("new", 0): 3})  # a new topic
    assert not leaders_moved(last, {("a", 0): 1})  # partitions gone
    assert leaders_moved(last, {**last, ("a", 1): 3})  # moved
    assert leaders_moved(last, {**last, ("a", 0): -1})  # lost its leader
    assert leaders_moved(last, {**last, ("b", 0): 2})  # has one again
