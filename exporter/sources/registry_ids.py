"""Schema ids in the Schema Registry: the subjects using one, the search for the highest in use
(at a source's first poll, or between its first polls: `exporter.sources.registry`), and each
poll's probe for new ids above the highest known (`IdProbe`, pure).

A registry gives a new id to each new schema content, and ids only grow; but it can use up ids
without a schema: Apicurio 3.3.3 spends one on every registration of content it holds already
(under another subject: that version gets the existing id). So the ids in use have gaps, and the
highest known is taken from three places: the search, the probe's own finds, and the latest ids
of the subject versions read (`seen`), which a gap cannot hide.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from exporter.sources.registry_http import NOT_FOUND, RegistryHttp
from exporter.sources.registry_model import RegistryError

ID_LIMIT = 2**31
"""Schema ids are 32-bit signed integers: the search for the highest stops below."""
ID_PROBE_WINDOW = 8
"""Ids probed past the highest known: the probe stops after this many in a row are missing, so
a gap of up to ID_PROBE_WINDOW - 1 used-up ids does not hide the next new one."""


Use = tuple[str, int | None]
"""A subject and its version (None: not given) using a schema id."""


def schema_users(http: RegistryHttp, schema_id: int, deadline: float) -> list[Use] | None:
    """The subject versions using `schema_id` (`GET /schemas/ids/<id>/versions`), or None when
    no schema has it."""
    answer = http.get(f"/schemas/ids/{schema_id}/versions", deadline)
    return None if answer is NOT_FOUND else list(_uses_of(answer, schema_id))


def changed_since_read(
    uses: Iterable[Use], read: Callable[[str], tuple[int, ...] | None]
) -> set[str]:
    """The subjects read before (`read`: their versions as read, None: never read) that a new
    id names with a version they did not have then: registered since. A version read already
    is not a change, so ids the probe finds that were only new to it (below the highest
    the subjects read showed, after a search that stopped in a gap) cost no reads."""
    changed: set[str] = set()
    for subject, version in uses:
        versions = read(subject)
        if versions is not None and version not in versions:
            changed.add(subject)
    return changed


def highest_id(exist: Callable[[list[int]], list[bool]], width: int, limit: int = ID_LIMIT) -> int:
    """The highest id for which `exist` says True (0: none), asking `width` ids a round: ids
    2^k - 1 upwards until one is missing, then between the highest found and that one, each
    round cutting the gap into width + 1 parts (about log2(ids) / log2(width + 1) rounds each
    way). A gap in the ids can make it answer lower (1 where 2-4 are used up and 5 exists): the
    latest ids of the subjects read then raise the highest known (`IdProbe`)."""
    low, high, n = 0, limit, 1
    while high == limit and n < limit:
        ids: list[int] = []
        while len(ids) < max(1, width) and n < limit:
            ids.append(n)
            n = 2 * n + 1
        low, high = _cut(ids, exist(ids), low, high)
    while high - low > 1:
        step = (high - low) / (max(1, width) + 1)
        ids = sorted({low + max(1, int(step * (k + 1))) for k in range(max(1, width))} - {high})
        low, high = _cut(ids, exist(ids), low, high)
    return low


class IdProbe:
    """One poll's probe for new schema ids, as pure logic (the caller asks the registry):
    `first()` the ids to ask at once, then `answer(found)` with each round's answers until it
    returns no more ids; `highest` is then the highest id known to exist, `touched_ids` the new
    ids found, `lost` whether the highest known before no longer exists.

    The first round asks the highest known itself (a registry that restarted with fewer ids, or
    lost that id to a permanent deletion, no longer has it: the caller searches again, so the
    highest comes down), the `window` ids after it and, when a subject read showed a higher id
    (`seen`) past that window, the `window` ids after that one too (the ids between are not
    probed: a gap of used-up ids, or new ids that only the refresh of their subjects finds).
    Each later round asks up to `window` ids past the highest found, so the probe ends after
    `window` ids in a row are missing."""

    def __init__(self, highest: int, seen: int = 0, window: int = ID_PROBE_WINDOW) -> None:
        self.highest = max(0, highest)
        self.lost = False
        self.touched_ids: list[int] = []
        self._base = self.highest
        self._seen = seen
        self._window = max(1, window)
        self._asked = self.highest

    def first(self) -> list[int]:
        top, w = self._base, self._window
        ids = ([top] if top > 0 else []) + list(range(top + 1, top + 1 + w))
        if self._seen > top + w:
            ids += range(self._seen + 1, self._seen + 1 + w)
        return self._ask(ids)

    def answer(self, found: dict[int, bool]) -> list[int]:
        """Takes one round's answers (id -> exists); returns the next round's ids (none: done)."""
        if self._asked == self._base or self.lost:
            return []
        if self._base > 0 and found.get(self._base) is False:
            self.lost = True  # the first round's answers: the highest known is gone
            return []
        if self._seen > self.highest + self._window:
            self.highest = self._seen  # known to exist from a read (the second window's base)
        hits = sorted(n for n, ok in found.items() if ok and n > self._base)
        self.touched_ids += hits
        if not hits:
            return []
        self.highest = max(self.highest, hits[-1])
        return self._ask(list(range(self._asked + 1, self.highest + 1 + self._window)))

    def _ask(self, ids: list[int]) -> list[int]:
        if ids:
            self._asked = ids[-1]
        return ids


def _cut(ids: list[int], found: list[bool], low: int, high: int) -> tuple[int, int]:
    """(low, high) narrowed by the answers for `ids` (ascending): the last found before the first
    missing, and that missing one."""
    for n, ok in zip(ids, found, strict=True):
        if not ok:
            return low, n
        low = n
    return low, high


def _uses_of(answer: Any, schema_id: int) -> Iterable[Use]:
    if not isinstance(answer, list):
        raise RegistryError(f"GET /schemas/ids/{schema_id}/versions: not a list", "bad_answer")
    for item in answer:
        if isinstance(item, dict) and isinstance(item.get("subject"), str):
            version = item.get("version")
            yield item["subject"], version if isinstance(version, int) else None
