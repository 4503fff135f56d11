"""The schema contract per topic: which value subject a topic's messages should be registered
under, and whether it is. Pure functions; the `registry_topics` collector applies them.

Naming strategies (Confluent's serializer setting `value.subject.name.strategy`):
- `topic` (TopicNameStrategy, the default): `<topic>-value`.
- `topic_record` (TopicRecordNameStrategy): `<topic>-<fully qualified record name>`, one subject
  per record type; the topic counts as registered when any such subject exists.
- `record` (RecordNameStrategy): `<fully qualified record name>`, which names no topic: only topics
  listed in `record_subjects` are checked.
`record_subjects` (topic -> subject) wins over the strategy for the topics it lists.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

KEY_SUFFIX = "key"


@dataclass(frozen=True, slots=True)
class TopicContract:
    topic: str
    subject: str
    """The expected subject; for topic_record the first existing one, or `<topic>-*`."""
    registered: bool


def topic_prefixes(subjects: Iterable[str]) -> frozenset[str]:
    """Every `<topic>` such that a subject `<topic>-<record>` exists (record other than `key`)."""
    out: set[str] = set()
    for subject in subjects:
        for i, ch in enumerate(subject):
            if ch == "-" and subject[i + 1 :] not in ("", KEY_SUFFIX):
                out.add(subject[:i])
    return frozenset(out)


def excluded(topic: str, patterns: Collection[re.Pattern[str]]) -> bool:
    return any(p.fullmatch(topic) for p in patterns)


def contract(
    topic: str,
    strategy: str,
    record_subjects: Mapping[str, str],
    subjects: Collection[str],
    prefixes: Collection[str],
) -> TopicContract | None:
    """The topic's expected value subject and whether it exists; None when it cannot be told."""
    if topic in record_subjects:
        subject = record_subjects[topic]
        return TopicContract(topic, subject, subject in subjects)
    if strategy == "topic":
        subject = f"{topic}-value"
        return TopicContract(topic, subject, subject in subjects)
    if strategy == "topic_record":
        if topic not in prefixes:
            return TopicContract(topic, f"{topic}-*", False)
        first = min(s for s in subjects if s.startswith(f"{topic}-") and s != f"{topic}-key")
        return TopicContract(topic, first, True)
    return None
