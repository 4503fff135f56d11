"""The partition reader's attribution of consumed events to the partitions still pending, with a
stand-in consumer that hands out a scripted sequence of events (no broker)."""

from __future__ import annotations

from typing import Any

from confluent_kafka import KafkaError, TopicPartition

from exporter.sources.partition_reader import PartitionReader, Read


class Event:
    """What `Consumer.consume` hands out: a message or an error event."""

    def __init__(self, topic: str | None, partition: int | None, error: int | None = None,
                 offset: int = 0, ms: int = 0) -> None:  # fmt: skip
        self._topic, self._partition, self._offset, self._ms = topic, partition, offset, ms
        self._error = KafkaError(error) if error is not None else None

    def topic(self) -> str | None:
        return self._topic

    def partition(self) -> int | None:
        return self._partition

    def error(self) -> KafkaError | None:
        return self._error

    def offset(self) -> int:
        return self._offset

    def timestamp(self) -> tuple[int, int]:
        return (1, self._ms)  # CreateTime


class ScriptedConsumer:
    def __init__(self, batches: list[list[Event]]) -> None:
        self.batches = batches

    def assign(self, partitions: list[TopicPartition]) -> None:
        pass

    def consume(self, num_messages: int, timeout: float) -> list[Event]:
        return self.batches.pop(0) if self.batches else []

    def pause(self, partitions: list[TopicPartition]) -> None:
        pass

    def resume(self, partitions: list[TopicPartition]) -> None:
        pass

    def unassign(self) -> None:
        pass


def _read(batches: list[list[Event]], wanted: dict[tuple[str, int], int]) -> dict[Any, Read]:
    reader = PartitionReader({"bootstrap.servers": "127.0.0.1:1"})
    reader._consumer = ScriptedConsumer(batches)  # type: ignore[assignment]
    return reader.read(wanted, 0.5)


def test_a_late_end_of_an_answered_partition_answers_no_other_partition() -> None:
    eof = KafkaError._PARTITION_EOF
    got = _read(
        [[Event("t", 3, eof)], [Event("t", 3, eof)]],  # partition 3 ends, and says so again
        {("t", 3): 2, ("t", 99): 0},
    )
    assert got == {("t", 3): Read("end"), ("t", 99): Read("timeout")}


def test_a_topic_wide_error_answers_every_pending_partition_of_that_topic() -> None:
    unknown = KafkaError.UNKNOWN_TOPIC_OR_PART
    got = _read([[Event("t", -1, unknown)]], {("t", 0): 0, ("t", 1): 5, ("u", 0): 0})
    assert got[("t", 0)].outcome == got[("t", 1)].outcome == "error"
    assert got[("u", 0)] == Read("timeout")


def test_a_message_before_the_offset_answers_nothing_the_next_one_is_found() -> None:
    got = _read([[Event("t", 0, offset=4, ms=1000), Event("t", 0, offset=5, ms=2000)]],
                {("t", 0): 5})  # fmt: skip
    assert got == {("t", 0): Read("found", 5, 2.0)}
