"""Schema ids in the Schema Registry: the subjects using one, and the search for the highest in
use (at a source's first poll, or between its first polls: `exporter.sources.registry`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from exporter.sources.registry_http import NOT_FOUND, RegistryHttp
from exporter.sources.registry_model import RegistryError

ID_LIMIT = 2**31
"""Schema ids are 32-bit signed integers: the search for the highest stops below."""


def schema_users(http: RegistryHttp, schema_id: int, deadline: float) -> list[str] | None:
    """The subjects using `schema_id` (`GET /schemas/ids/<id>/versions`), or None when no schema
    has it."""
    answer = http.get(f"/schemas/ids/{schema_id}/versions", deadline)
    return None if answer is NOT_FOUND else list(_subjects_of(answer, schema_id))


def highest_id(exist: Callable[[list[int]], list[bool]], width: int, limit: int = ID_LIMIT) -> int:
    """The highest id for which `exist` says True (0: none), asking `width` ids a round: ids
    2^k - 1 upwards until one is missing, then between the highest found and that one, each
    round cutting the gap into width + 1 parts (about log2(ids) / log2(width + 1) rounds each
    way). A gap in the ids can make it answer lower; the probe for new ids then walks up from
    there one id at a time (within the budget)."""
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


def _cut(ids: list[int], found: list[bool], low: int, high: int) -> tuple[int, int]:
    """(low, high) narrowed by the answers for `ids` (ascending): the last found before the first
    missing, and that missing one."""
    for n, ok in zip(ids, found, strict=True):
        if not ok:
            return low, n
        low = n
    return low, high


def _subjects_of(answer: Any, schema_id: int) -> Iterable[str]:
    if not isinstance(answer, list):
        raise RegistryError(f"GET /schemas/ids/{schema_id}/versions: not a list", "bad_answer")
    for item in answer:
        if isinstance(item, dict) and isinstance(item.get("subject"), str):
            yield item["subject"]
