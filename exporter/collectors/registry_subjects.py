"""Collector `registry_subjects`: each subject's compatibility, versions, latest version and type,
and the new versions registered since the exporter started.

Reads the `RegistryReading` of the `schema_registry` source runner. Keeps, per subject, its latest
version number when last read and the registrations counted since. Versions present when the
subject was first read count 0 if the subject was in the first listing (its history before is
unknown; after a start its details may be read polls later, and that cold read is not a burst of
registrations); a subject that appears in a later listing counts all of its versions. A subject
that is deleted loses its series; its latest version number and counter are kept for
`GONE_READINGS` readings, so one that is back by then (a listing or a read that missed it) goes on
counting from them, and one back later counts all of its versions. A subject listed but not read
yet has no series at all.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from exporter.catalog import registry as cat
from exporter.collectors.base import CycleData, Input, register
from exporter.snapshot import Rows, SnapshotBuilder

if TYPE_CHECKING:
    from exporter.config import Config

GONE_READINGS = 10
"""Readings for which a subject that left the reading keeps its version number and counter."""


def registrations(before: int | None, now: int, listed_at_start: bool) -> int:
    """New versions seen in one poll: the growth of the latest version number since the subject
    was last read; for a subject read for the first time, 0 when it was in the first listing
    (history unknown), else all of its versions."""
    if before is None:
        return 0 if listed_at_start else now
    return max(0, now - before)


@register
class RegistrySubjectsCollector:
    name: ClassVar[str] = "registry_subjects"
    reads: ClassVar[tuple[Input, ...]] = ("schema_registry",)

    def __init__(self, config: Config) -> None:
        self._latest: dict[str, int] = {}
        """Subject -> latest version number at the last poll."""
        self._counted: dict[str, int] = {}
        self._at_start: set[str] | None = None
        """Subjects of the first listing not read yet (None before the first reading)."""
        self._gone: dict[str, tuple[int, int, int]] = {}
        """Subject that left the reading -> (latest version number, counted, reading it left)."""
        self._readings = 0

    def collect(self, data: CycleData, out: SnapshotBuilder) -> None:
        reading = data.schema_registry
        if reading is None:
            return
        compat, versions, latest, ids, counted = (
            Rows(m) for m in (cat.SUBJECT_COMPATIBILITY, cat.SUBJECT_VERSIONS,
                              cat.SUBJECT_LATEST_VERSION, cat.SUBJECT_LATEST_ID,
                              cat.SUBJECT_REGISTRATIONS)
        )  # fmt: skip
        self._readings += 1
        if self._at_start is None:
            self._at_start = set(reading.listed)
        for gone in self._latest.keys() - reading.subjects.keys():
            self._gone[gone] = (self._latest.pop(gone), self._counted.pop(gone, 0), self._readings)
        for name, (_, _, left) in list(self._gone.items()):
            if self._readings - left >= GONE_READINGS:
                del self._gone[name]
            elif name in reading.subjects:
                self._latest[name], self._counted[name], _ = self._gone.pop(name)
        for name in sorted(reading.subjects):
            s = reading.subjects[name]
            # the latest version number only grows with registrations (deleting old versions
            # lowers the count, not the number), so it counts new versions across deletions
            before = self._latest.get(name)
            new = registrations(before, s.latest_version, name in self._at_start)
            if before is None:
                self._at_start.discard(name)
            self._latest[name] = max(s.latest_version, self._latest.get(name, 0))
            self._counted[name] = self._counted.get(name, 0) + new
            compat.add((name, s.compatibility, s.compatibility_source), 1)
            versions.add((name,), s.versions)
            latest.add((name, s.schema_type), s.latest_version)
            ids.add((name,), s.latest_id)
            counted.add((name,), self._counted[name])
        for rows in (compat, versions, latest, ids, counted):
            rows.write(out)
