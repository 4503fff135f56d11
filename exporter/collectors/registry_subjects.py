"""Collector `registry_subjects`: each subject's compatibility, versions, latest version and type,
and the new versions registered since the exporter started.

Reads the `RegistryReading` of the `schema_registry` source runner. Keeps, per subject, how many
versions it had when first seen and the registrations counted since: versions present at the
first poll count 0; a subject that appears later counts all of its versions. A subject that is
deleted loses its series (and its counter, which starts again if it comes back).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from exporter.catalog import registry as cat
from exporter.collectors.base import CycleData, Input, register
from exporter.snapshot import Rows, SnapshotBuilder

if TYPE_CHECKING:
    from exporter.config import Config


def registrations(before: int | None, now: int, first_poll: bool) -> int:
    """New versions seen in one poll: the growth of the version count since the last poll; for a
    subject not seen before, 0 at the first poll (history unknown), else all of its versions."""
    if before is None:
        return 0 if first_poll else now
    return max(0, now - before)


@register
class RegistrySubjectsCollector:
    name: ClassVar[str] = "registry_subjects"
    reads: ClassVar[tuple[Input, ...]] = ("schema_registry",)

    def __init__(self, config: Config) -> None:
        self._latest: dict[str, int] = {}
        """Subject -> latest version number at the last poll."""
        self._counted: dict[str, int] = {}
        self._first = True

    def collect(self, data: CycleData, out: SnapshotBuilder) -> None:
        reading = data.schema_registry
        if reading is None:
            return
        compat, versions, latest, ids, counted = (
            Rows(m) for m in (cat.SUBJECT_COMPATIBILITY, cat.SUBJECT_VERSIONS,
                              cat.SUBJECT_LATEST_VERSION, cat.SUBJECT_LATEST_ID,
                              cat.SUBJECT_REGISTRATIONS)
        )  # fmt: skip
        for gone in self._latest.keys() - reading.subjects.keys():
            del self._latest[gone]
            self._counted.pop(gone, None)
        for name in sorted(reading.subjects):
            s = reading.subjects[name]
            # the latest version number only grows with registrations (deleting old versions
            # lowers the count, not the number), so it counts new versions across deletions
            new = registrations(self._latest.get(name), s.latest_version, self._first)
            self._latest[name] = max(s.latest_version, self._latest.get(name, 0))
            self._counted[name] = self._counted.get(name, 0) + new
            compat.add((name, s.compatibility, s.compatibility_source), 1)
            versions.add((name,), s.versions)
            latest.add((name, s.schema_type), s.latest_version)
            ids.add((name,), s.latest_id)
            counted.add((name,), self._counted[name])
        self._first = False
        for rows in (compat, versions, latest, ids, counted):
            rows.write(out)
