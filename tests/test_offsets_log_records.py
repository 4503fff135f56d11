"""Unit tests of the offsets-log record parser and state, from bytes built per Kafka's schemas."""

from __future__ import annotations

import struct
from dataclasses import replace

import pytest

from exporter.sources.offsets_log_records import (
    CORRUPT,
    UNKNOWN_KEY,
    UNKNOWN_VALUE,
    GroupMetadata,
    GroupRecord,
    OffsetCommit,
    OffsetDeleted,
    Skipped,
    parse_record,
)
from exporter.sources.offsets_log_state import OffsetsLogState

# ---- encoders, written from the schemas --------------------------------------------------------


def i16(v: int) -> bytes:
    return struct.pack(">h", v)


def i32(v: int) -> bytes:
    return struct.pack(">i", v)


def i64(v: int) -> bytes:
    return struct.pack(">q", v)


def string(s: str | None) -> bytes:
    if s is None:
        return i16(-1)
    b = s.encode()
    return i16(len(b)) + b


def uvarint(v: int) -> bytes:
    out = bytearray()
    while True:
        byte = v & 0x7F
        v >>= 7
        if v:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def compact(s: str | None) -> bytes:
    if s is None:
        return uvarint(0)
    b = s.encode()
    return uvarint(len(b) + 1) + b


def tagged(fields: dict[int, bytes] | None = None) -> bytes:
    fields = fields or {}
    out = uvarint(len(fields))
    for tag, data in sorted(fields.items()):
        out += uvarint(tag) + uvarint(len(data)) + data
    return out


def offset_key(group: str, topic: str, partition: int, version: int = 1) -> bytes:
    return i16(version) + string(group) + string(topic) + i32(partition)


def offset_value(
    version: int, offset: int, commit_ms: int, *, epoch: int = 7, metadata: str = "m",
    expire_ms: int = 99, tags: dict[int, bytes] | None = None,
) -> bytes:  # fmt: skip
    if version in (0, 2):
        return i16(version) + i64(offset) + string(metadata) + i64(commit_ms)
    if version == 1:
        return i16(1) + i64(offset) + string(metadata) + i64(commit_ms) + i64(expire_ms)
    if version == 3:
        return i16(3) + i64(offset) + i32(epoch) + string(metadata) + i64(commit_ms)
    return (
        i16(version) + i64(offset) + i32(epoch) + compact(metadata) + i64(commit_ms) + tagged(tags)
    )


def group_key(group: str) -> bytes:
    return i16(2) + string(group)


def group_value(version: int, protocol_type: str = "consumer", generation: int = 3) -> bytes:
    if version < 4:
        body = string(protocol_type) + i32(generation) + string("range") + string("leader")
        if version >= 2:
            body += i64(1_700_000_000_000)
        return i16(version) + body + i32(0)  # no members
    return (
        i16(4) + compact(protocol_type) + i32(generation) + compact("range") + compact("leader")
        + i64(1_700_000_000_000) + uvarint(1) + tagged()
    )  # fmt: skip


# ---- offset commits ----


@pytest.mark.parametrize("key_version", [0, 1])
@pytest.mark.parametrize("value_version", [0, 1, 2, 3, 4])
def test_offset_commit_every_key_and_value_version(key_version: int, value_version: int) -> None:
    record = parse_record(
        offset_key("g", "orders", 3, key_version),
        offset_value(value_version, 42, 1_700_000_000_123),
    )
    assert isinstance(record, OffsetCommit)
    assert (record.group, record.topic, record.partition) == ("g", "orders", 3)
    assert (record.offset, record.commit_ms) == (42, 1_700_000_000_123)
    assert record.leader_epoch == (7 if value_version >= 3 else -1)
    assert record.expire_ms == (99 if value_version == 1 else -1)


def test_offset_commit_v4_with_tagged_fields_and_unicode_names() -> None:
    value = offset_value(4, 5, 10, metadata="é" * 200, tags={0: b"\x01" * 16, 7: b"xyz"})
    record = parse_record(offset_key('grüppe "x"\n', "tópic", 0), value)
    assert record == OffsetCommit('grüppe "x"\n', "tópic", 0, 5, 10, 7, -1)


@pytest.mark.parametrize("version", [0, 2, 3])
def test_null_metadata_reads_as_empty(version: int) -> None:
    value = i16(version) + i64(8) + (i32(1) if version == 3 else b"") + string(None) + i64(11)
    record = parse_record(offset_key("g", "t", 1), value)
    assert isinstance(record, OffsetCommit) and (record.offset, record.commit_ms) == (8, 11)


def test_null_compact_metadata_reads_as_empty() -> None:
    value = i16(4) + i64(8) + i32(1) + compact(None) + i64(11) + tagged()
    assert parse_record(offset_key("g", "t", 1), value) == OffsetCommit("g", "t", 1, 8, 11, 1)


@pytest.mark.parametrize("key_version", [0, 1])
def test_offset_tombstone(key_version: int) -> None:
    record = parse_record(offset_key("g", "t", 2, key_version), None)
    assert record == OffsetDeleted("g", "t", 2)


def test_unknown_offset_value_version_is_skipped() -> None:
    record = parse_record(offset_key("g", "t", 0), i16(5) + b"\x00" * 30)
    assert isinstance(record, Skipped) and record.reason == UNKNOWN_VALUE
    assert "5" in record.detail


# ---- group records ----


@pytest.mark.parametrize("version", [0, 1, 2, 3, 4])
def test_group_metadata_every_value_version(version: int) -> None:
    record = parse_record(group_key("g1"), group_value(version, "consumer", 12))
    assert record == GroupMetadata("g1", False, "consumer", 12)


def test_group_metadata_tombstone() -> None:
    assert parse_record(group_key("g1"), None) == GroupMetadata("g1", True)


def test_group_metadata_unknown_value_version() -> None:
    record = parse_record(group_key("g1"), i16(9) + b"junk")
    assert isinstance(record, Skipped) and record.reason == UNKNOWN_VALUE


@pytest.mark.parametrize("record_type", list(range(3, 24)))
def test_consumer_share_streams_group_records_are_recognised(record_type: int) -> None:
    key = i16(record_type) + string("new-protocol-group") + string("member-1")
    record = parse_record(key, i16(0) + b"\x00\x01\x02")
    assert record == GroupRecord(record_type, "new-protocol-group", False)
    assert parse_record(key, None) == GroupRecord(record_type, "new-protocol-group", True)


# ---- what is skipped ----


@pytest.mark.parametrize("version", [24, 99, 32767, -1, -32768])
def test_unknown_key_version(version: int) -> None:
    record = parse_record(i16(version) + string("g"), b"anything")
    assert isinstance(record, Skipped) and record.reason == UNKNOWN_KEY


@pytest.mark.parametrize(
    ("key", "value"),
    [
        (None, b"x"),
        (b"", None),
        (b"\x00", None),
        (i16(1) + i16(10) + b"short", None),  # string longer than the key
        (i16(1) + string("g") + string("t"), None),  # partition missing
        (offset_key("g", "t", 0), b"\x00"),  # value shorter than its version
        (offset_key("g", "t", 0), i16(3) + i64(1)),  # value cut short
        (offset_key("g", "t", 0), i16(1) + i64(1) + string("m") + i64(2)),  # no expire time
        (offset_key("g", "t", 0), i16(4) + i64(1) + i32(0) + b"\xff\xff\xff\xff\xff\xff"),
        (offset_key("g", "t", 0), offset_value(4, 1, 2)[:-1] + b"\x01\x00\x09"),  # tag too long
        (i16(1) + i16(2) + b"\xff\xfe" + string("t") + i32(0), None),  # not UTF-8
        (group_key("g"), b"\x00"),
        (group_key("g"), i16(0) + i16(50)),
        (i16(5) + i16(4), None),  # group id cut short
    ],
)
def test_corrupt_records_are_skipped(key: bytes | None, value: bytes | None) -> None:
    record = parse_record(key, value)
    assert isinstance(record, Skipped) and record.reason == CORRUPT, record


# ---- state ----


def test_state_latest_commit_wins_and_tombstones_remove() -> None:
    state = OffsetsLogState()
    state.apply(0, offset_key("a", "t", 0), offset_value(3, 5, 1_000))
    state.apply(0, offset_key("a", "t", 0), offset_value(4, 9, 2_000))
    state.apply(0, offset_key("a", "t", 1), offset_value(4, 3, 3_000))
    state.apply(1, offset_key("b", "t", 0), offset_value(1, 4, 4_000))
    state.apply(1, offset_key("b", "t", 0), None)  # offset deleted: group b has nothing left
    state.apply(0, offset_key("a", "t", 1), None)
    state.apply(0, offset_key("a", "t", 1), offset_value(4, 6, 5_000))  # committed again
    state.apply(0, offset_key("zzz", "t", 0), None)  # tombstone of something never seen
    view = state.view()
    assert view.offsets == {"a": {("t", 0): 9, ("t", 1): 6}}
    assert view.commit_times == {"a": {("t", 0): 2.0, ("t", 1): 5.0}}
    assert state.records == 8 and not state.skipped and state.entries == 2


def test_state_group_tombstone_keeps_offsets() -> None:
    """A classic group converted to the consumer protocol gets a group tombstone, keeps offsets."""
    state = OffsetsLogState()
    state.apply(0, group_key("a"), group_value(4))
    state.apply(0, offset_key("a", "t", 0), offset_value(4, 5, 1_000))
    state.apply(0, group_key("a"), None)
    state.apply(0, i16(3) + string("a"), i16(0) + b"\x00")
    assert state.view().offsets == {"a": {("t", 0): 5}}


def test_state_counts_and_skips_bad_records() -> None:
    state = OffsetsLogState()
    state.apply(0, offset_key("a", "t", 0), offset_value(4, 5, 1_000))
    state.apply(0, i16(77) + string("a"), b"?")
    state.apply(0, offset_key("a", "t", 0), i16(9) + b"?")
    state.apply(0, b"\x00", None)
    assert dict(state.skipped) == {UNKNOWN_KEY: 1, UNKNOWN_VALUE: 1, CORRUPT: 1}
    assert state.view().offsets == {"a": {("t", 0): 5}} and state.records == 4
    assert state.last_skipped


def test_state_negative_offsets_are_left_out_and_partitions_can_be_dropped() -> None:
    state = OffsetsLogState()
    state.apply(0, offset_key("a", "t", 0), offset_value(4, -1, 1_000))
    state.apply(1, offset_key("b", "t", 0), offset_value(4, 2, 1_000))
    state.apply(2, offset_key("c", "t", 0), offset_value(4, 3, 1_000))
    assert state.view().offsets == {"b": {("t", 0): 2}, "c": {("t", 0): 3}}
    state.keep_only({1, 2})
    state.forget(2)
    assert state.view().offsets == {"b": {("t", 0): 2}}


# ---- the reader's progress -------------------------------------------------------------------


def test_progress_loaded_once_past_the_end_noted_at_assignment() -> None:
    from exporter.sources.offsets_log import _Progress

    p = _Progress()
    p.start_end = {0: 10, 1: 0}
    p.advance(1, 0)  # an empty partition is loaded at once
    assert p.loaded == {1}
    p.advance(0, 4)
    assert p.loaded == {1} and p.behind({0: 10, 1: 0}) == 6
    p.advance(0, 3)  # never backwards
    assert p.reached[0] == 4
    p.advance(0, 12)  # past control records (a transaction marker at 10, 11)
    assert p.loaded == {0, 1} and not p.start_end and p.behind({0: 12}) == 0


def test_ready_only_once_the_log_was_read_when_it_is_the_source() -> None:
    from exporter.sources.admin_model import ClusterView, OffsetsLogStatus

    status = OffsetsLogStatus(ready=False, denied=False, records=3, skipped={}, behind=9,
                              partitions=2)  # fmt: skip
    assert ClusterView(taken_at=0.0).committed_ready  # the Admin API source
    assert not ClusterView(taken_at=0.0, committed_source="log").committed_ready
    assert not ClusterView(taken_at=0.0, committed_source="log", offsets_log=status).committed_ready
    loaded = replace(status, ready=True, behind=0)
    assert ClusterView(taken_at=0.0, committed_source="log", offsets_log=loaded).committed_ready
    # auto, the log denied: the Admin API answers, whatever the reader says
    assert ClusterView(taken_at=0.0, committed_source="admin", offsets_log=status).committed_ready


def test_broker_scope_follows_the_offsets_partitions_it_leads() -> None:
    from exporter.ownership import Share
    from exporter.sources.admin_scope import followed_offsets_partitions

    leaders = (1, 2, -1, 2, 3, 4)  # partition 5's leader (4) is not live
    share = Share(scope="broker", me=2, offsets_leaders=leaders, live=frozenset({1, 2, 3}),
                  cluster_wide=False)  # fmt: skip
    assert followed_offsets_partitions(share) == {1, 3}
    assert followed_offsets_partitions(replace(share, cluster_wide=True)) == {1, 2, 3, 5}
    assert followed_offsets_partitions(replace(share, me=1)) == {0}
