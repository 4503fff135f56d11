"""Parse the records of Kafka's `__consumer_offsets` log from their documented key/value schemas.

Pure functions, no I/O. Every record's key starts with an int16 "version" that names the record
type (Kafka's coordinator record types):

- 0, 1: an offset commit. Key: group (STRING), topic (STRING), partition (INT32). Value versions:
  0: offset INT64, metadata STRING, commit_timestamp INT64;
  1: as 0 plus expire_timestamp INT64;
  2: as 0;
  3: offset INT64, leader_epoch INT32, metadata STRING, commit_timestamp INT64;
  4 (flexible, written by Kafka 4): as 3 with a COMPACT_STRING metadata and tagged fields.
  A null value is a tombstone: the offset was deleted (group deleted, offsets deleted through the
  Admin API, or expired).
- 2: classic group metadata. Key: group (STRING). Value versions 0-3 start with protocol_type
  (STRING) and generation (INT32); version 4 is flexible (COMPACT_STRING). Null value: the group
  is gone (deleted, expired, or converted to a consumer-protocol group).
- 3-23: the records of consumer-protocol (KIP-848), share and streams groups. Their keys start
  with the group id (STRING); they are recognised and ignored: committed offsets of those groups
  are offset-commit records like any other.

A record whose key or value version is unknown, or whose bytes do not match its schema, becomes
`Skipped` with a reason; the caller counts it and moves on.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final

OFFSET_COMMIT_KEYS: Final = frozenset({0, 1})
GROUP_METADATA_KEY: Final = 2
GROUP_RECORD_KEYS: Final = frozenset(range(3, 24))
"""Consumer-protocol (3-8, 16), share (9-15) and streams (17-23) group record types."""
OFFSET_VALUE_VERSIONS: Final = frozenset(range(5))
GROUP_VALUE_VERSIONS: Final = frozenset(range(5))

UNKNOWN_KEY = "unknown_key_version"
UNKNOWN_VALUE = "unknown_value_version"
CORRUPT = "corrupt"
SKIP_REASONS: Final = (UNKNOWN_KEY, UNKNOWN_VALUE, CORRUPT)

_I16 = struct.Struct(">h")
_I32 = struct.Struct(">i")
_I64 = struct.Struct(">q")
_V0 = struct.Struct(">hq")  # value version, offset
_V3 = struct.Struct(">hqi")  # value version, offset, leader epoch


@dataclass(frozen=True, slots=True)
class OffsetCommit:
    """A committed offset: the latest one per (group, topic, partition) wins."""

    group: str
    topic: str
    partition: int
    offset: int
    commit_ms: int
    """When the coordinator wrote the commit (Unix milliseconds)."""
    leader_epoch: int = -1
    expire_ms: int = -1
    """Only value version 1 carries it; -1 otherwise."""


@dataclass(frozen=True, slots=True)
class OffsetDeleted:
    """A tombstone: the committed offset of (group, topic, partition) is gone."""

    group: str
    topic: str
    partition: int


@dataclass(frozen=True, slots=True)
class GroupMetadata:
    """A classic group's metadata record (`deleted`: its tombstone)."""

    group: str
    deleted: bool
    protocol_type: str = ""
    generation: int = -1


@dataclass(frozen=True, slots=True)
class GroupRecord:
    """A consumer-protocol, share or streams group record: recognised, not used."""

    record_type: int
    group: str
    deleted: bool


@dataclass(frozen=True, slots=True)
class Skipped:
    """A record that could not be used; `reason` is one of `SKIP_REASONS`."""

    reason: str
    detail: str


Record = OffsetCommit | OffsetDeleted | GroupMetadata | GroupRecord | Skipped


class _Corrupt(ValueError):
    pass


def parse_record(key: bytes | None, value: bytes | None) -> Record:
    """One record of the offsets log, from its key and value bytes (None: absent/tombstone)."""
    if key is None or len(key) < 2:
        return Skipped(CORRUPT, "key shorter than its version")
    version = _I16.unpack_from(key, 0)[0]
    try:
        if version in OFFSET_COMMIT_KEYS:
            return _offset_record(key, value)
        if version == GROUP_METADATA_KEY:
            return _group_metadata(key, value)
        if version in GROUP_RECORD_KEYS:
            group, _ = _string(key, 2)
            return GroupRecord(version, group, value is None)
    except (_Corrupt, struct.error, UnicodeDecodeError) as exc:
        return Skipped(CORRUPT, f"key version {version}: {exc}")
    return Skipped(UNKNOWN_KEY, f"key version {version}")


def _offset_record(key: bytes, value: bytes | None) -> Record:
    group, pos = _string(key, 2)
    topic, pos = _string(key, pos)
    partition = _I32.unpack_from(key, pos)[0]
    if value is None:
        return OffsetDeleted(group, topic, partition)
    if len(value) < 2:
        raise _Corrupt("value shorter than its version")
    version = _I16.unpack_from(value, 0)[0]
    if version not in OFFSET_VALUE_VERSIONS:
        return Skipped(UNKNOWN_VALUE, f"offset commit value version {version}")
    epoch = expire = -1
    if version <= 2:
        offset = _V0.unpack_from(value, 0)[1]
        _, pos = _string(value, 10)
        commit = _I64.unpack_from(value, pos)[0]
        if version == 1:
            expire = _I64.unpack_from(value, pos + 8)[0]
    else:
        _, offset, epoch = _V3.unpack_from(value, 0)
        _, pos = _string(value, 14) if version == 3 else _compact_string(value, 14)
        commit = _I64.unpack_from(value, pos)[0]
        if version == 4:
            _skip_tagged(value, pos + 8)
    return OffsetCommit(group, topic, partition, offset, commit, epoch, expire)


def _group_metadata(key: bytes, value: bytes | None) -> Record:
    group, _ = _string(key, 2)
    if value is None:
        return GroupMetadata(group, True)
    if len(value) < 2:
        raise _Corrupt("value shorter than its version")
    version = _I16.unpack_from(value, 0)[0]
    if version not in GROUP_VALUE_VERSIONS:
        return Skipped(UNKNOWN_VALUE, f"group metadata value version {version}")
    protocol_type, pos = _string(value, 2) if version < 4 else _compact_string(value, 2)
    generation = _I32.unpack_from(value, pos)[0]
    return GroupMetadata(group, False, protocol_type, generation)


# ---- primitive types -------------------------------------------------------------------------


def _string(buf: bytes, pos: int) -> tuple[str, int]:
    """A STRING (int16 length, UTF-8); a null (-1) reads as an empty string."""
    n = _I16.unpack_from(buf, pos)[0]
    pos += 2
    if n < 0:
        return "", pos
    return _utf8(buf, pos, n), pos + n


def _compact_string(buf: bytes, pos: int) -> tuple[str, int]:
    """A COMPACT_STRING (unsigned varint length + 1, UTF-8); a null (0) reads as empty."""
    n, pos = _uvarint(buf, pos)
    if n == 0:
        return "", pos
    return _utf8(buf, pos, n - 1), pos + n - 1


def _utf8(buf: bytes, pos: int, n: int) -> str:
    if pos + n > len(buf):
        raise _Corrupt(f"string of {n} bytes past the end at {pos}")
    return buf[pos : pos + n].decode("utf-8")


def _uvarint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise _Corrupt("varint past the end")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift > 28:
            raise _Corrupt("varint longer than 5 bytes")


def _skip_tagged(buf: bytes, pos: int) -> int:
    """Skip a tagged-field section (count, then tag, size, bytes for each)."""
    count, pos = _uvarint(buf, pos)
    for _ in range(count):
        _, pos = _uvarint(buf, pos)
        size, pos = _uvarint(buf, pos)
        pos += size
        if pos > len(buf):
            raise _Corrupt("tagged field past the end")
    return pos
