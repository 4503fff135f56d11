"""Which topics and consumer groups are exported: allow/deny regexes and internal topics.

A name is kept when it fully matches at least one allow regex (every name, when there is none)
and no deny regex. Internal topics are the broker's own topics, whose names start with two
underscores (`__consumer_offsets`, `__transaction_state`, `__share_group_state`); they are left
out unless `include_internal_topics` is set. The admin source applies these filters before it
asks for offsets, so a filtered-out topic or group costs no request and has no series in any
family, with one exception: the replication health of the internal topics (leader, replicas,
ISR, under-replicated, offline, under-min-ISR) is served whatever the filters say, since an
offline `__consumer_offsets` partition stops every group on it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from exporter.config import FiltersConfig

INTERNAL_PREFIX = "__"


def is_internal_topic(name: str) -> bool:
    """True for the broker's internal topics (names starting with two underscores)."""
    return name.startswith(INTERNAL_PREFIX)


def _compile(patterns: Iterable[str], where: str) -> tuple[re.Pattern[str], ...]:
    compiled = []
    for i, pattern in enumerate(patterns):
        try:
            compiled.append(re.compile(pattern))
        except re.error as exc:
            raise ValueError(f"filters.{where}[{i}]: invalid regex {pattern!r}: {exc}") from None
    return tuple(compiled)


@dataclass(frozen=True, slots=True)
class NameFilter:
    """Allow/deny regexes, each matched against the whole name."""

    allow: tuple[re.Pattern[str], ...] = ()
    deny: tuple[re.Pattern[str], ...] = ()

    def __call__(self, name: str) -> bool:
        if self.allow and not any(p.fullmatch(name) for p in self.allow):
            return False
        return not any(p.fullmatch(name) for p in self.deny)


@dataclass(frozen=True, slots=True)
class Filters:
    """The compiled filters of one `FiltersConfig`."""

    topics: NameFilter
    groups: NameFilter
    include_internal_topics: bool = False

    @classmethod
    def from_config(cls, config: FiltersConfig) -> Filters:
        """Compile the regexes; an invalid one raises ValueError naming its key."""
        return cls(
            topics=NameFilter(
                _compile(config.topic_allow, "topic_allow"),
                _compile(config.topic_deny, "topic_deny"),
            ),
            groups=NameFilter(
                _compile(config.group_allow, "group_allow"),
                _compile(config.group_deny, "group_deny"),
            ),
            include_internal_topics=config.include_internal_topics,
        )

    def topic(self, name: str) -> bool:
        """Is the topic exported?"""
        if not self.include_internal_topics and is_internal_topic(name):
            return False
        return self.topics(name)

    def group(self, group_id: str) -> bool:
        """Is the consumer group exported?"""
        return self.groups(group_id)
