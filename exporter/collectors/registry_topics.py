"""Collector `registry_topics`: topics with and without a registered value subject.

Needs both the cluster metadata (topics) and the Schema Registry reading of the same cycle; with
either missing it writes nothing (never a false "unregistered"). The subject names come from the
registry's listing, complete at every poll, not from the subjects whose details were read (which
after a start are read over several polls). Internal topics, and topics that match
`schema_registry.exclude_topic_patterns` (tool topics by default), are not checked.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, ClassVar

from exporter.catalog import registry as cat
from exporter.collectors.base import CycleData, Input, register
from exporter.domain import contract
from exporter.snapshot import Rows, SnapshotBuilder

if TYPE_CHECKING:
    from exporter.config import Config


@register
class RegistryTopicsCollector:
    name: ClassVar[str] = "registry_topics"
    reads: ClassVar[tuple[Input, ...]] = ("admin", "schema_registry")

    def __init__(self, config: Config) -> None:
        sr = config.schema_registry
        self._strategy = sr.subject_strategy
        self._records = dict(sr.record_subjects)
        self._exclude = tuple(re.compile(p) for p in sr.exclude_topic_patterns)

    def collect(self, data: CycleData, out: SnapshotBuilder) -> None:
        reading = data.schema_registry
        view = data.cluster
        if reading is None or view is None or view.topics is None:
            return
        subjects = reading.listed
        prefixes = contract.topic_prefixes(subjects) if self._strategy == "topic_record" else ()
        rows = Rows(cat.TOPIC_VALUE_SUBJECT)
        for name in sorted(view.topics):
            if view.topics[name].internal or contract.excluded(name, self._exclude):
                continue
            found = contract.contract(name, self._strategy, self._records, subjects, prefixes)
            if found is not None:
                rows.add((found.topic, found.subject), 1 if found.registered else 0)
        rows.write(out)
