"""Dead-letter and retry topics: recognise them, link them to their source, measure them.

A topic named `<source>.DLT` or `<source>-dlt` is a dead-letter topic; `<source>.RETRY-N` or
`<source>-retry-N` is a retry topic (the conventions of Spring Kafka's recoverer and retryable
topics). Users add their own regexes, each with a named group `source`.

Inflow is the sum of the topic's log-end offsets: it only rises during the topic's life and
drops to 0 when the topic is recreated, which is exactly a counter, so it is exported as one and
read with rate()/increase(). A poll that lacks any partition's log-end offset exports no sum at
all: a partial sum would look like a counter reset and make increase() count every message again.

The newest message's time comes from the poll history, not from reading the record: the first
poll that sees the sum move stamps it. That is exact to one poll interval, costs no request, and
needs no consumer; its only gap is a topic that has not moved since the exporter started.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from exporter.sources.admin_model import Offsets, TopicPartition

Kind = Literal["dlt", "retry"]

BUILTIN_PATTERNS: tuple[tuple[str, Kind], ...] = (
    (r"(?P<source>.+)\.DLT", "dlt"),
    (r"(?P<source>.+)-dlt", "dlt"),
    (r"(?P<source>.+)\.RETRY-\d+", "retry"),
    (r"(?P<source>.+)-retry-\d+", "retry"),
)


@dataclass(frozen=True, slots=True)
class Pattern:
    regex: re.Pattern[str]
    kind: Kind


@dataclass(frozen=True, slots=True)
class DeadLetterTopic:
    topic: str
    source_topic: str
    """The topic it collects from; empty when no topic of that name exists."""
    kind: Kind


def pattern_errors(key: str, patterns: Sequence[str]) -> list[str]:
    """One message per bad user pattern (`key[i]: why`); empty when all are fine."""
    errors = []
    for i, text in enumerate(patterns):
        try:
            compiled = re.compile(text)
        except re.error as exc:
            errors.append(f"{key}[{i}]: not a regular expression ({exc})")
            continue
        if "source" not in compiled.groupindex:
            errors.append(f"{key}[{i}]: needs a named group (?P<source>...) for the source topic")
    return errors


def compile_patterns(dead_letter: Sequence[str] = (), retry: Sequence[str] = ()) -> list[Pattern]:
    """The built-in patterns followed by the user's; raises ValueError on a bad user pattern."""
    errors = pattern_errors("lessons.dead_letter_patterns", dead_letter)
    errors += pattern_errors("lessons.retry_topic_patterns", retry)
    if errors:
        raise ValueError("; ".join(errors))
    texts: list[tuple[str, Kind]] = [*BUILTIN_PATTERNS]
    texts += [(t, "dlt") for t in dead_letter]
    texts += [(t, "retry") for t in retry]
    return [Pattern(re.compile(t), kind) for t, kind in texts]


def classify(topic: str, patterns: Sequence[Pattern]) -> tuple[Kind, str] | None:
    """(kind, named source) of the first pattern matching the whole name, or None."""
    for p in patterns:
        m = p.regex.fullmatch(topic)
        if m is None:
            continue
        source = m.group("source") or ""
        if source and source != topic:
            return p.kind, source
    return None


def find_dead_letter_topics(
    topics: Iterable[str], patterns: Sequence[Pattern]
) -> list[DeadLetterTopic]:
    """Every dead-letter or retry topic among `topics`, linked to its source when it exists."""
    names = set(topics)
    found = []
    for name in sorted(names):
        hit = classify(name, patterns)
        if hit is None:
            continue
        kind, source = hit
        found.append(DeadLetterTopic(name, source if source in names else "", kind))
    return found


def messages_in(
    topic: str, partitions: Iterable[int], offsets: Mapping[TopicPartition, Offsets]
) -> int | None:
    """Sum of the partitions' log-end offsets, or None if any of them is missing."""
    total = 0
    for p in partitions:
        off = offsets.get((topic, p))
        if off is None or off.end < 0:
            return None
        total += off.end
    return total


def depth(
    topic: str,
    partitions: Iterable[int],
    offsets: Mapping[TopicPartition, Offsets],
    committed: Mapping[TopicPartition, int] | None,
) -> int | None:
    """Messages not yet replayed: per partition, log end minus the replay group's committed
    offset (or the log start where it has none, or where retention already passed it).
    None if any partition's offsets are missing."""
    total = 0
    for p in partitions:
        off = offsets.get((topic, p))
        if off is None or off.end < 0:
            return None
        start = max(off.start, 0)
        base = committed.get((topic, p), start) if committed is not None else start
        total += max(0, off.end - max(base, start))
    return total


@dataclass(frozen=True, slots=True)
class Seen:
    """What the history knows about a topic's log end."""

    total: int
    moved_at: float | None
    """Time of the poll that first saw the current total; None when no move has been seen."""


def observe(previous: Seen | None, total: int, now: float) -> Seen:
    """Update a topic's history with this poll's sum of log-end offsets.

    The first sighting knows no move. A different total means messages arrived (or the topic
    was recreated and written to) since the last poll; a total of 0 after a drop means the topic
    was recreated empty, and nothing newer is known.
    """
    if previous is None:
        return Seen(total, None)
    if total == previous.total:
        return previous
    if total < previous.total and total == 0:
        return Seen(total, None)
    return Seen(total, now)
