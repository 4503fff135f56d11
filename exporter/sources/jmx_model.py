"""What a JMX poll of one target returns, which MBeans each role asks for, and reading the answer.

The JMX source runs the jmxquery jar once per target per poll with every query of the target's
role (`BROKER_QUERIES` or `CLIENT_QUERIES`, declared in `jmx_queries`). The jar prints a JSON
array, one object per line, without escaping backslashes in MBean names and with NaN as a bare
token; `parse_answer` reads it defensively and turns the jar's error objects and exit codes into
one `reason` per failure. Nothing here does I/O.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from jmxquery import JMXQuery

from exporter.sources.jmx_queries import (
    BROKER_QUERIES,
    CLIENT_QUERIES,
    PERCENTILE_ATTRIBUTES,
    QUERIES_BY_ROLE,
    Query,
)

log = logging.getLogger(__name__)

MAX_ANSWER_BYTES = 32 * 1024 * 1024
"""Answers longer than this are refused as malformed (a broker with 10,000 topics gives ~3 MB)."""


def query_string(queries: tuple[Query, ...]) -> str:
    """The jar's `-q` argument: every (pattern, attribute) pair, as jmxquery spells it."""
    parts = []
    for q in queries:
        for attr in q.attributes:
            name, _, key = attr.partition("/")
            parts.append(JMXQuery(q.pattern, attribute=name, attributeKey=key or None))
    return "".join(p.to_query_string() + ";" for p in parts)


@dataclass(frozen=True, slots=True)
class JmxValue:
    """One attribute of one MBean: a number, or the text of an `app-info` attribute. `keys` are
    the ObjectName's key properties."""

    domain: str
    keys: tuple[tuple[str, str], ...]
    attribute: str
    value: float
    text: str = ""
    """A text attribute's value (the client's `app-info` version and commit id); `value` is then
    NaN, which every numeric reader skips."""

    def key(self, name: str, default: str = "") -> str:
        for k, v in self.keys:
            if k == name:
                return v
        return default


@dataclass(frozen=True, slots=True)
class TargetResult:
    """The outcome of polling one JMX target once. The poller files it under `target`."""

    target: str
    role: str
    ok: bool
    duration_seconds: float
    values: tuple[JmxValue, ...] = ()
    reason: str = ""
    """Why the poll failed (refused, timeout, auth, malformed, unreachable, java, error)."""
    detail: str = ""
    """One line saying what went wrong; never holds a secret."""
    errors_total: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    """Failed polls of this target since the process started, by reason."""


class AnswerError(Exception):
    """The jar's answer is an error or cannot be read. `reason` labels the error counter."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


# --- ObjectName ------------------------------------------------------------------------------

_UNQUOTE = {"n": "\n", "\\": "\\", '"': '"', "*": "*", "?": "?"}


def parse_object_name(name: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """Split `domain:k1=v1,k2="quoted, value"` into its domain and key properties.

    Quoted values (ObjectName.quote) are unquoted. Raises ValueError on a name that is not one.
    """
    domain, sep, rest = name.partition(":")
    if not sep or not domain or not rest:
        raise ValueError(f"not an ObjectName: {name[:120]!r}")
    keys: list[tuple[str, str]] = []
    i, n = 0, len(rest)
    while i < n:
        eq = rest.find("=", i)
        if eq < 0:
            raise ValueError(f"key without value in ObjectName: {name[:120]!r}")
        key = rest[i:eq]
        i = eq + 1
        if i < n and rest[i] == '"':
            chars: list[str] = []
            i += 1
            while i < n and rest[i] != '"':
                if rest[i] == "\\" and i + 1 < n:
                    chars.append(_UNQUOTE.get(rest[i + 1], rest[i + 1]))
                    i += 2
                else:
                    chars.append(rest[i])
                    i += 1
            if i >= n:
                raise ValueError(f"unterminated quoted value in ObjectName: {name[:120]!r}")
            value = "".join(chars)
            i += 1
            if i < n and rest[i] != ",":
                raise ValueError(f"junk after quoted value in ObjectName: {name[:120]!r}")
        else:
            comma = rest.find(",", i)
            end = n if comma < 0 else comma
            value = rest[i:end]
            i = end
        if not key:
            raise ValueError(f"empty key in ObjectName: {name[:120]!r}")
        keys.append((key, value))
        i += 1  # skip the comma
    return domain, tuple(keys)


# --- the jar's answer ------------------------------------------------------------------------

# Message fragments of the jar's connection errors (Java exception texts), first match wins.
_REASONS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("auth", re.compile(r"SecurityException|Authentication failed|[Ii]nvalid credentials|"
                        r"[Cc]redentials required|Access denied")),
    ("timeout", re.compile(r"timed out|SocketTimeoutException|Read timed out")),
    ("refused", re.compile(r"Connection refused|ConnectException")),
    ("unreachable", re.compile(r"UnknownHostException|No route to host|Network is unreachable|"
                               r"NoRouteToHostException")),
    ("java", re.compile(r"Could not create the Java Virtual Machine|Unable to access jarfile|"
                        r"Could not find or load main class|Unrecognized (VM )?option")),
    ("malformed", re.compile(r"non-JRMP server|StreamCorruptedException|UnmarshalException|"
                             r"EOFException|invalid stream header|Connection reset")),
)  # fmt: skip


def classify(message: str) -> str:
    """The reason label for a failure whose Java message is `message`."""
    for reason, pattern in _REASONS:
        if pattern.search(message):
            return reason
    return "error"


def one_line(text: str, limit: int = 200) -> str:
    """`text` squeezed to one line of at most `limit` characters, for logs and details."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def parse_answer(returncode: int, stdout: str, stderr: str) -> tuple[JmxValue, ...]:
    """The numeric values in the jar's answer, or AnswerError saying why there are none.

    The jar prints `[`, then one object per line, then `]`; or a one-line error object and exits
    with 2. Lines that cannot be read are skipped and logged (an unescaped backslash in one client
    id must not blind the whole target); an answer without that frame, or with no readable line,
    is malformed.
    """
    text = stdout.strip()
    if len(stdout) > MAX_ANSWER_BYTES:
        raise AnswerError("malformed", f"answer larger than {MAX_ANSWER_BYTES} bytes")
    if returncode != 0 or text.startswith("{"):
        raise _error_from(returncode, text, stderr)
    if not (text.startswith("[") and text.endswith("]")):
        raise AnswerError("malformed", f"not a JSON array: {one_line(text, 80)!r}")
    try:
        items = json.loads(text)
    except ValueError:
        items = _salvage(text)
    if not isinstance(items, list):
        raise AnswerError("malformed", "not a JSON array")
    values: list[JmxValue] = []
    bad = 0
    for item in items:
        try:
            v = _value_of(item)
        except ValueError:
            bad += 1
            continue
        if v is not None:
            values.append(v)
    if bad:
        if not values:
            raise AnswerError("malformed", f"{bad} unreadable entries and no readable one")
        log.warning("jmx answer entries skipped count=%d kept=%d", bad, len(values))
    return tuple(values)


def _error_from(returncode: int, text: str, stderr: str) -> AnswerError:
    first = " ".join(text.split())  # the jar prints Java messages with raw newlines and tabs
    kind, message = "", ""
    if first.startswith("{"):
        try:
            obj = json.loads(first)
        except ValueError:
            # the jar does not escape the message: take the kind and the rest of the line
            m = re.search(r'"error"\s*:\s*"([^"]*)"(?:\s*,\s*"message"\s*:\s*"(.*)"\s*})?', first)
            kind = m.group(1) if m else ""
            message = (m.group(2) or "") if m else first
        else:
            if isinstance(obj, dict):
                kind, message = str(obj.get("error", "")), str(obj.get("message", ""))
    if not kind and returncode == 0:
        return AnswerError("malformed", f"unexpected answer: {one_line(text, 80)!r}")
    detail = message or stderr or text or f"exit status {returncode}"
    if kind == "bad-query":
        return AnswerError("error", "query rejected: " + one_line(detail))
    reason = classify(detail + " " + stderr)
    if returncode < 0:
        reason = "error"
        detail = f"killed by signal {-returncode}"
    return AnswerError(reason, (f"{kind}: " if kind else "") + one_line(detail))


def _salvage(text: str) -> list[object]:
    """Read the jar's answer line by line when the whole does not parse."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != "[":
        raise AnswerError("malformed", "answer does not parse as JSON")
    items: list[object] = []
    for raw in lines[1:]:
        line = raw.strip()
        line = line.removesuffix("]").rstrip().removesuffix(",").rstrip()
        if not line:
            continue
        try:
            items.append(json.loads(line))
        except ValueError:
            items.append(None)  # counted as unreadable by the caller
    return items


TEXT_TYPE = "app-info"
"""The one MBean type whose text attributes are kept (a client's version and commit id)."""


def _value_of(item: object) -> JmxValue | None:
    """One entry of the answer; None for a non-numeric value (but the text of an `app-info`
    attribute), ValueError for a broken entry."""
    if not isinstance(item, dict):
        raise ValueError("entry is not an object")
    name, attribute = item.get("mBeanName"), item.get("attribute")
    if not isinstance(name, str) or not isinstance(attribute, str):
        raise ValueError("entry without mBeanName or attribute")
    domain, keys = parse_object_name(name)
    key = item.get("attributeKey")
    if isinstance(key, str) and key:
        attribute = f"{attribute}/{key}"  # a composite's item, as the query names it
    raw = item.get("value")
    if isinstance(raw, bool) or raw is None:
        return None
    if isinstance(raw, int | float):
        number = float(raw)
    elif isinstance(raw, str):
        # the jar quotes Float and other Number types it does not know
        try:
            number = float(raw)
        except ValueError:
            if ("type", TEXT_TYPE) in keys:
                return JmxValue(domain, keys, attribute, math.nan, raw)
            return None
    else:
        return None
    return JmxValue(domain, keys, attribute, number)


def finite(value: float) -> bool:
    """False for NaN and infinities, which the exporter never writes as a sample."""
    return math.isfinite(value)


__all__ = [
    "BROKER_QUERIES",
    "CLIENT_QUERIES",
    "PERCENTILE_ATTRIBUTES",
    "QUERIES_BY_ROLE",
    "AnswerError",
    "JmxValue",
    "Query",
    "TargetResult",
    "classify",
    "finite",
    "one_line",
    "parse_answer",
    "parse_object_name",
    "query_string",
]
