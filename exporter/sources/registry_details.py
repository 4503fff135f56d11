"""One subject's details from the Schema Registry, and the bulk listing of Confluent's registry.

`read_subject` reads one subject: `GET /subjects/<s>/versions`, `GET /config/<s>?defaultToGlobal=
false`, and, when the versions changed since the copy kept, `GET /subjects/<s>/versions/latest`
(schema type and id). The poll (`exporter.sources.registry`) and the reader between polls
(`exporter.sources.registry_between`) use it.

`bulk_listing` reads `GET /schemas?offset=&limit=` (Confluent's registry: every live version with
its subject, version, id and type), which leaves one request per subject (its level). A registry
whose answer names no subject (Apicurio 3.3.3 lists the schema text alone) gives None.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote

from exporter.sources.registry_http import NOT_FOUND, RegistryHttp
from exporter.sources.registry_model import CompatibilitySource, RegistryError, SubjectInfo

BULK_PAGE = 1000
"""Versions asked for per `GET /schemas` request of the bulk listing."""


@dataclass(frozen=True, slots=True)
class Cached:
    """What was read of one subject, and when (monotonic seconds)."""

    info: SubjectInfo
    versions: tuple[int, ...]
    read_at: float


def compat(answer: Any, where: str) -> str:
    """The level of a `/config` answer, or RegistryError."""
    if isinstance(answer, dict):
        level = answer.get("compatibilityLevel", answer.get("compatibility"))
        if isinstance(level, str) and level:
            return level
    raise RegistryError(f"GET {where}: no compatibility level in the answer", "bad_answer")


def read_subject(
    http: RegistryHttp, name: str, global_level: str, deadline: float, now: float,
    kept: Cached | None, listed: bool = False,
) -> Cached | None:  # fmt: skip
    """The subject read now, or None when it no longer exists; `kept` is the copy read before
    (its latest version is reused while the versions are the same), or with `listed` what a bulk
    listing just gave (its versions are taken as they are: only the level is asked)."""
    q = quote(name, safe="")
    versions: Any = list(kept.versions) if listed and kept is not None else None
    if versions is None:
        versions = http.get(f"/subjects/{q}/versions", deadline)
    if versions is NOT_FOUND:
        return None
    if (
        not isinstance(versions, list)
        or not versions
        or not all(isinstance(v, int) for v in versions)
    ):
        raise RegistryError(f"GET /subjects/{name}/versions: not a list of versions",
                            "bad_answer")  # fmt: skip
    answer = http.get(f"/config/{q}?defaultToGlobal=false", deadline)
    source: CompatibilitySource
    if answer is NOT_FOUND:
        level, source = global_level, "global"
    else:
        level = compat(answer, f"/config/{name}")
        source = "unknown" if level == global_level else "subject"
    key = tuple(sorted(versions))
    if kept is not None and kept.versions == key:
        info = kept.info
    else:
        latest = http.get(f"/subjects/{q}/versions/latest", deadline)
        if latest is NOT_FOUND:
            return None
        info = latest_info(name, latest, len(key))
    info = replace(info, compatibility=level, compatibility_source=source)
    return Cached(info=info, versions=key, read_at=now)


def subject_page(http: RegistryHttp, offset: int, size: int, deadline: float) -> list[str]:
    """One page of the subject listing: `GET /subjects?offset=&limit=`."""
    page = http.get(f"/subjects?offset={offset}&limit={size}", deadline)
    if page is NOT_FOUND or not isinstance(page, list):
        raise RegistryError("GET /subjects: not a list of subjects", "bad_answer")
    if not all(isinstance(n, str) for n in page):
        raise RegistryError("GET /subjects: a subject name is not a string", "bad_answer")
    return page


def relabel(info: SubjectInfo, global_level: str) -> SubjectInfo:
    """A subject that inherits follows the global level as it is now."""
    if info.compatibility_source == "global" and info.compatibility != global_level:
        return replace(info, compatibility=global_level)
    return info


def latest_info(name: str, answer: Any, count: int) -> SubjectInfo:
    """A subject from its `/versions/latest` answer and its number of versions."""
    where = f"GET /subjects/{name}/versions/latest"
    if not isinstance(answer, dict):
        raise RegistryError(f"{where}: not an object", "bad_answer")
    version, schema_id = answer.get("version"), answer.get("id")
    if not isinstance(version, int) or not isinstance(schema_id, int):
        raise RegistryError(f"{where}: no version and id", "bad_answer")
    schema_type = answer.get("schemaType") or "AVRO"
    return SubjectInfo(
        name=name,
        versions=count,
        latest_version=version,
        latest_id=schema_id,
        schema_type=str(schema_type),
        compatibility="",
        compatibility_source="global",
    )


def schema_rows(answer: Any, where: str) -> list[tuple[str, int, int, str]] | None:
    """(subject, version, id, schema type) of each item of a `GET /schemas` page (Confluent);
    None when the items name no subject, version and id (Apicurio: the schema text only)."""
    if not isinstance(answer, list):
        raise RegistryError(f"GET {where}: not a list", "bad_answer")
    rows: list[tuple[str, int, int, str]] = []
    for item in answer:
        if not isinstance(item, dict):
            raise RegistryError(f"GET {where}: an item is not an object", "bad_answer")
        subject, version, schema_id = item.get("subject"), item.get("version"), item.get("id")
        if subject is None and version is None and schema_id is None:
            return None
        if (not isinstance(subject, str) or not isinstance(version, int)
                or not isinstance(schema_id, int)):  # fmt: skip
            raise RegistryError(f"GET {where}: an item without subject, version and id",
                                "bad_answer")  # fmt: skip
        rows.append((subject, version, schema_id, str(item.get("schemaType") or "AVRO")))
    return rows


def by_subject(rows: list[tuple[str, int, int, str]]) -> dict[str, Cached]:
    """Each subject's versions and latest version (id, type) from the rows of a bulk listing
    (the level not known yet; `read_at` 0)."""
    versions: dict[str, set[int]] = {}
    latest: dict[str, tuple[int, int, str]] = {}
    for subject, version, schema_id, schema_type in rows:
        versions.setdefault(subject, set()).add(version)
        if version >= latest.get(subject, (-1, 0, ""))[0]:
            latest[subject] = (version, schema_id, schema_type)
    out: dict[str, Cached] = {}
    for name, (version, schema_id, schema_type) in latest.items():
        info = SubjectInfo(name=name, versions=len(versions[name]), latest_version=version,
                           latest_id=schema_id, schema_type=schema_type, compatibility="",
                           compatibility_source="global")  # fmt: skip
        out[name] = Cached(info=info, versions=tuple(sorted(versions[name])), read_at=0.0)
    return out


def bulk_listing(http: RegistryHttp, deadline: float) -> dict[str, Cached] | None:
    """Every subject's versions from `GET /schemas?offset=&limit=` pages (BULK_PAGE each, until
    one is short or adds nothing new), or None when the registry lacks such a listing."""
    rows: list[tuple[str, int, int, str]] = []
    seen: set[tuple[str, int]] = set()
    offset = 0
    while True:
        where = f"/schemas?offset={offset}&limit={BULK_PAGE}"
        answer = http.get(where, deadline)
        page = None if answer is NOT_FOUND else schema_rows(answer, where)
        if page is None:
            return None
        new = [r for r in page if (r[0], r[1]) not in seen]
        seen.update((r[0], r[1]) for r in new)
        rows += new
        if len(page) < BULK_PAGE or not new:
            return by_subject(rows)
        offset += len(page)
