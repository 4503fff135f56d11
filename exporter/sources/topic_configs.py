"""The Admin API source's `topic_configs` stage: `min.insync.replicas` of every topic, read with
`describe_configs` in batches and cached for `poll.topic_config_ttl_seconds` (topic configs rarely
change; a large cluster has thousands of topics). A topic gone from the metadata is forgotten.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from confluent_kafka.admin import (  # type: ignore[attr-defined]
    AdminClient,
    ConfigResource,
    ResourceType,
)

from exporter.config import PollConfig
from exporter.sources.admin_convert import min_isr_value
from exporter.sources.stages import Deadline, StageFailed, batches, gather_windowed


class TopicConfigs:
    """The `topic_configs` stage and its cache."""

    def __init__(self, poll: PollConfig, request_cap: float) -> None:
        self._poll = poll
        self._cap = request_cap
        self._min_isr: dict[str, tuple[int | None, float]] = {}
        """Topic -> (min.insync.replicas, monotonic time read)."""

    def min_isr(
        self, client: AdminClient, partitions: Mapping[str, object], deadline: Deadline
    ) -> dict[str, int | None]:
        """`min.insync.replicas` of every topic of `partitions` (None: not set or unreadable);
        the stale ones read again. On failure `StageFailed` carries what is known."""
        now = time.monotonic()
        ttl = self._poll.topic_config_ttl_seconds
        self._min_isr = {t: v for t, v in self._min_isr.items() if t in partitions}
        stale = [t for t in partitions if t not in self._min_isr or now - self._min_isr[t][1] > ttl]
        problem = ""
        timed_out = False
        if stale:
            cap = self._cap
            gathered = gather_windowed(
                batches(stale, self._poll.describe_batch_size),
                lambda batch: {
                    r.name: f
                    for r, f in client.describe_configs(
                        [ConfigResource(ResourceType.TOPIC, t) for t in batch],
                        request_timeout=deadline.request_timeout(cap),
                    ).items()
                },
                2,
                deadline,
            )
            for topic, entries in gathered.results.items():
                self._min_isr[topic] = (min_isr_value(entries), now)
            if gathered.errors or gathered.unfinished:
                failed = len(gathered.errors) + gathered.unfinished
                first = next(iter(gathered.errors.values()), "not answered in time")
                problem = f"configs of {failed} topics: {first}"
                timed_out = gathered.timed_out
        known = {t: v for t, (v, _) in self._min_isr.items()}
        if problem:
            raise StageFailed(problem, known, timed_out)
        return known
