"""A Schema Registry that restarted: when the subject readings taken before no longer count (pure).

A registry keeping its state in memory comes back empty; subjects registered again after it can
have the same version numbers with other content and ids. A subject's reading is reused while its
versions are the same (`registry_details.read_subject`), so a restart must make every reading
taken before it stale: each subject is then read in full again (its latest version too) before
the oldest-first refresh, and its old reading serves until the new one is in.

Three signs (`restart_sign`), each checked by the first successful poll after it:
- the schema ids reset: the highest id known no longer exists (`registry_ids.IdProbe.lost`);
  only a registry that lost its ids (a restart in memory, or that id deleted for good) says so;
- the poll before failed because nothing answered at the registry's address (connection refused
  or reset: `unreachable`), or a proxy in front said its backend was not there (HTTP 502, 503,
  504). A registry restarted between two polls need not show this, and one that restarted with
  as many ids as before does not show the first, so both are taken. A timeout, a bad answer or a
  4xx does not count: the registry was there, and one subject it answers badly would otherwise
  make it read every subject again after each failed poll. A sign that was no restart (a network
  cut) costs one re-read of every subject, as after the exporter's start; a restart missed would
  leave stale series;
- a new id the probe found names a subject's latest version as read, but that version was read
  with another id: a version's id never changes, so the versions were registered again (a
  restart between two polls that came back with more ids than the highest known, or the subject
  deleted for good and registered again, which costs one needless re-read of every subject).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from exporter.sources.registry_details import Cached
from exporter.sources.registry_ids import Use

GONE_KINDS = frozenset({"unreachable", "http_502", "http_503", "http_504"})
"""Failure kinds saying no registry answered: the next successful poll takes it as restarted."""


def went_away(kind: str) -> bool:
    """A failed poll of this kind is a restart sign."""
    return kind in GONE_KINDS


def restart_sign(failed_before: str | None, ids_lost: bool, replaced: bool = False) -> str | None:
    """Why a successful poll takes the registry as restarted (None: it does not): `failed_before`
    the kind of the failure that ended the last poll, if any, `ids_lost` whether the highest id
    known is gone, `replaced` whether a new id names a version read with another id."""
    if ids_lost:
        return "ids_reset"
    if replaced:
        return "versions_replaced"
    if failed_before is not None and went_away(failed_before):
        return failed_before
    return None


def versions_replaced(
    found: Mapping[int, Iterable[Use]], kept: Callable[[str], Cached | None]
) -> bool:
    """Whether a new id (`found`: each with the subject versions using it) names the latest
    version of a subject as read (`kept`) with another id: a version's id never changes, so the
    registry's versions were replaced (restarted and registered again, or that subject deleted
    for good and registered again)."""
    for schema_id, uses in found.items():
        for subject, version in uses:
            read = kept(subject)
            if read is None or read.info.latest_version != version:
                continue
            if read.info.latest_id != schema_id:
                return True
    return False


def stale_marks(names: Iterable[str], at: float) -> dict[str, float]:
    """Each subject read before a restart seen at `at` (monotonic), to read first: only a read
    begun from `at` clears the mark."""
    return dict.fromkeys(names, at)


def reusable(kept: Cached | None, stale_before: float) -> Cached | None:
    """The reading a subject read may reuse (its latest version, while the versions are the
    same): none when taken before the last restart seen."""
    if kept is None or kept.read_at < stale_before:
        return None
    return kept
