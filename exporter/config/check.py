"""The model-wide rules of a built `Config`, beyond its types, and the way parts add their own.

Generic rules, by field name, so new fields get them for free:
- numbers are never negative; the keys in `POSITIVE` must be above 0;
- `*_file` keys name a readable file (secret files are already read by the binder);
- `*_allow`, `*_deny` and `*_patterns` lists hold valid regexes; the `lessons` patterns must have
  a named group `source`;
- planned consumer counts are at least 1.

The rules of one part's settings (the Kafka client, the JMX targets, the web server, the collector
switches) live with that part as a `Check` and are handed to `load_config` by the caller.

Each problem is (key path, message). Paths the binder already reported are skipped, and so are
the part's problems with a number the model rule refused: one mistake gives one line.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Collection, Iterator, Sequence
from pathlib import Path
from typing import Any

from exporter.config.kinds import Secret
from exporter.config.model import Config

Problem = tuple[str, str]
Add = Callable[[str, str], None]
"""Records one problem: (key path, message)."""
Check = Callable[[Config, Add], None]
"""The checks of one part's settings: calls `add` for each problem."""

POSITIVE = frozenset(
    {
        "kafka.request_timeout_seconds",
        "poll.interval_seconds",
        "poll.stage_timeout_seconds",
        "poll.offsets_in_flight",
        "poll.describe_batch_size",
        "poll.lag_history_points",
        "lessons.lag_status_window",
        "schema_registry.timeout_seconds",
        "schema_registry.concurrency",
        "schema_registry.page_size",
        "schema_registry.payload_sample_messages",
        "schema_registry.payload_sample_timeout_seconds",
        "shard.count",
    }
)
MINUS_ONE_ALLOWED = frozenset({"kafka.broker_id"})
"""Keys whose -1 means "find it out"."""
_REGEX_SUFFIXES = ("_allow", "_deny", "_patterns")


def check(
    config: Config, checks: Sequence[Check] = (), skip: Collection[str] = ()
) -> list[Problem]:
    """Every problem of `config`: the model-wide rules, then each part's `checks`."""
    problems: list[Problem] = []
    numbers: set[str] = set()

    def add(path: str, message: str) -> None:
        if path not in skip and not any(path.startswith(f"{s}[") for s in skip):
            problems.append((path, message))

    def add_part(path: str, message: str) -> None:
        """A part's problem; skipped when the number rule refused the value already."""
        if path not in numbers:
            add(path, message)

    for path, name, value, secret_sibling in _walk(config, ""):
        if _generic(path, name, value, secret_sibling, add):
            numbers.add(path)
    for part in checks:
        part(config, add_part)
    for key in ("planned_consumers_by_group", "planned_consumers_by_topic"):
        for name, count in getattr(config.lessons, key).items():
            if count < 1:
                add(f"lessons.{key}.{name}", f"must be at least 1, got {count}")
    _scope(config, add_part)
    return problems


def _scope(config: Config, add: Add) -> None:
    """`kafka.broker_id` and `shard.*` belong to their scope; the shard index to the count."""
    if config.kafka.broker_id >= 0 and config.scope != "broker":
        add("kafka.broker_id", f"only with scope broker, not {config.scope}")
    shard = config.shard
    if config.scope == "shard" and shard.count >= 1 and not 0 <= shard.index < shard.count:
        add("shard.index", f"must be 0 to {shard.count - 1} (shard.count {shard.count}), "
                           f"got {shard.index}")  # fmt: skip
    if config.scope != "shard" and (shard.index, shard.count) != (0, 1):
        add("shard.index", f"shard.index and shard.count only with scope shard, not {config.scope}")


def _walk(obj: Any, prefix: str) -> Iterator[tuple[str, str, Any, bool]]:
    """(path, field name, value, whether a Secret field `name[:-5]` exists) for every leaf."""
    names = {f.name for f in dataclasses.fields(obj)}
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        path = f"{prefix}.{f.name}" if prefix else f.name
        if dataclasses.is_dataclass(value) and not isinstance(value, Secret):
            yield from _walk(value, path)
        elif isinstance(value, tuple) and value and dataclasses.is_dataclass(value[0]):
            for i, item in enumerate(value):
                yield from _walk(item, f"{path}[{i}]")
        else:
            base = f.name.removesuffix("_file")
            secret_sibling = (
                f.name.endswith("_file")
                and base in names
                and isinstance(getattr(obj, base), Secret)
            )
            yield path, f.name, value, secret_sibling


def _generic(path: str, name: str, value: Any, secret_sibling: bool, add: Add) -> bool:
    """The rules by field name; True when the number rule refused the value."""
    refused = False
    if isinstance(value, int | float) and not isinstance(value, bool):
        rule_path = re.sub(r"\[\d+\]", "[]", path)
        if value < 0 and not (rule_path in MINUS_ONE_ALLOWED and value == -1):
            add(path, f"must not be negative, got {value}")
            refused = True
        elif rule_path in POSITIVE and value <= 0:
            add(path, f"must be greater than 0, got {value}")
            refused = True
    if name.endswith("_file") and value and not secret_sibling:
        try:
            with Path(value).open("rb"):
                pass
        except OSError as exc:
            add(path, f"cannot read '{value}': {exc.strerror or exc}")
        except ValueError as exc:  # e.g. a NUL in the file name
            add(path, f"cannot read {value!r}: {exc}")
    if name.endswith(_REGEX_SUFFIXES) and isinstance(value, tuple):
        for i, pattern in enumerate(value):
            try:
                compiled = re.compile(pattern)
            except re.error as exc:
                add(f"{path}[{i}]", f"invalid regex {pattern!r}: {exc}")
                continue
            if path.startswith("lessons.") and "source" not in compiled.groupindex:
                add(f"{path}[{i}]", f"regex {pattern!r} needs a named group (?P<source>...)")
    return refused
