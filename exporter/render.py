"""Turn a `Snapshot` into exposition bytes, once per poll cycle; scrapes only copy the result.

Two formats come out of one pass: the Prometheus text format 0.0.4 and OpenMetrics 1.0. They share
every sample line and differ only in the family headers (an OpenMetrics counter is typed under its
name without `_total`; HELP escapes double quotes) and the closing `# EOF`. `info` families are
typed `gauge` in both (value 1, facts in labels, the plain name); a histogram's `_bucket` samples
carry their bound in `le`. Each format is served plain or gzip-compressed; each of these four
bodies is made at most once per cycle (see `Exposition`), so a scrape never compresses and never
formats.

Speed: the text before each value (`name{label="value",...} `) is cached per series between
cycles and only the value is formatted. A family whose series and values are the same as last
cycle (partition replicas, group info, an idle topic's offsets) is not formatted at all: its lines
of last cycle are reused. The cache of the next cycle is built from the series of this one, so
entries of vanished series are dropped and memory stays bounded by one snapshot.

Rules the output keeps whatever the snapshot holds:
- label values are escaped (backslash, double quote, newline); any other character is kept as
  UTF-8, and a string that cannot be encoded (a lone surrogate) gets U+FFFD in its place;
- a label whose value is empty is left out of the series (Prometheus treats both alike);
- a series whose labels repeat an earlier one of the same family is dropped, logged and counted
  in `kafka_vitals_series_duplicate_total{family}`, so one collector bug never fails a scrape;
- NaN, +Inf and -Inf are written as the tokens both formats define.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import repeat
from typing import cast

from isal import isal_zlib

from exporter import catalog
from exporter.catalog import Metric
from exporter.catalog.own import SERIES_DUPLICATE
from exporter.snapshot import Family, LabelValues, Snapshot

log = logging.getLogger(__name__)

CONTENT_TYPE_TEXT = "text/plain; version=0.0.4; charset=utf-8"
CONTENT_TYPE_OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8"
GZIP_LEVEL = 1
"""ISA-L's level 1 (python-isal; plain gzip output any client reads). Measured on 640,000 lag
series (56 MB): 0.04 s and 13x, where zlib's level 1 takes 0.17 s for 11x. Compression runs once
per cycle for each body scrapes ask for, so its speed is part of every poll cycle."""

GZIP_WBITS = 31
"""zlib's window bits for a gzip wrapper (16 + 15)."""

_SURROGATE = re.compile("[\ud800-\udfff]")
_SPECIAL = {"nan": "NaN", "inf": "+Inf", "-inf": "-Inf"}
_ORDER = {m: i for i, m in enumerate(catalog.ALL)}
_TEXT_TYPE = {
    "gauge": "gauge",
    "counter": "counter",
    "summary": "summary",
    "histogram": "histogram",
    "info": "gauge",
}


Variant = tuple[bool, bool]
"""(openmetrics, gzipped): one of the four bodies of an exposition."""
WANTED_SECONDS = 600.0
"""A body asked for by a scrape in the last this many seconds is made with every render."""


class Exposition:
    """The bytes of one snapshot in both formats, plain and gzip-compressed.

    Each of the four bodies is made once, when first asked for, from the family parts the
    renderer wrote; the renderer makes at once those that scrapes asked for lately, so a scrape
    normally only copies bytes, and bodies nobody asks for (a Prometheus asks for one) cost
    neither time nor memory. Safe to read from many threads.
    """

    __slots__ = ("_asked", "_bodies", "_gzip_level", "_lock", "_parts", "series", "taken_at")

    def __init__(
        self,
        text_parts: list[bytes],
        openmetrics_parts: list[bytes],
        *,
        series: int,
        taken_at: float,
        gzip_level: int = GZIP_LEVEL,
        asked: dict[Variant, float] | None = None,
    ) -> None:
        self._parts = {False: text_parts, True: openmetrics_parts}
        self._bodies: dict[Variant, bytes] = {}
        self._lock = threading.Lock()
        self._gzip_level = gzip_level
        self._asked = asked
        self.series = series
        """Series written (after dropping duplicates)."""
        self.taken_at = taken_at
        """When the snapshot was taken (0.0 for the one served before the first poll)."""

    def body(self, *, openmetrics: bool, gzipped: bool) -> bytes:
        """One body, as a scrape asks for it (the ask is remembered for the next renders)."""
        variant = (openmetrics, gzipped)
        if self._asked is not None:
            self._asked[variant] = time.monotonic()
        return self.make(variant)

    def make(self, variant: Variant) -> bytes:
        """One body, made now if it was not yet (without counting as a scrape's ask)."""
        got = self._bodies.get(variant)
        if got is None:
            with self._lock:
                got = self._bodies.get(variant)
                if got is None:
                    got = self._bodies[variant] = self._made(*variant)
        return got

    def _made(self, openmetrics: bool, gzipped: bool) -> bytes:
        if not gzipped:
            return b"".join(self._parts[openmetrics])
        # the family parts compressed one by one: no join of the plain body first
        deflate = isal_zlib.compressobj(self._gzip_level, isal_zlib.DEFLATED, GZIP_WBITS)
        out = [deflate.compress(part) for part in self._parts[openmetrics]]
        out.append(deflate.flush())
        return b"".join(out)

    @property
    def text(self) -> bytes:
        return self.make((False, False))

    @property
    def text_gzip(self) -> bytes:
        return self.make((False, True))

    @property
    def openmetrics(self) -> bytes:
        return self.make((True, False))

    @property
    def openmetrics_gzip(self) -> bytes:
        return self.make((True, True))

    @staticmethod
    def content_type(*, openmetrics: bool) -> str:
        return CONTENT_TYPE_OPENMETRICS if openmetrics else CONTENT_TYPE_TEXT


def format_value(value: float) -> str:
    """A sample value as both formats accept it: integers without `.0` (zero without a sign),
    NaN/+Inf/-Inf tokens."""
    if value == 0:
        return "0"
    r = repr(value)
    if r.endswith(".0"):
        return r[:-2]
    return _SPECIAL.get(r, r)


def escape_label_value(value: str) -> str:
    """Escape a label value for the exposition (backslash, double quote, newline)."""
    if "\\" in value:
        value = value.replace("\\", "\\\\")
    if '"' in value:
        value = value.replace('"', '\\"')
    if "\n" in value:
        value = value.replace("\n", "\\n")
    if not value.isascii():
        value = _SURROGATE.sub("\ufffd", value)
    return value


def escape_help(text: str, *, openmetrics: bool) -> str:
    """Escape HELP text: backslash and newline; OpenMetrics escapes double quotes too."""
    text = text.replace("\\", "\\\\").replace("\n", "\\n")
    return text.replace('"', '\\"') if openmetrics else text


def series_prefix(name: str, label_names: Iterable[str], values: LabelValues) -> str:
    """`name{a="x",b="y"} ` (a trailing space; labels with empty values left out)."""
    texts = (str(v) for v in values)  # str() guards against a non-string label value
    pairs = [f'{n}="{escape_label_value(v)}"' for n, v in zip(label_names, texts, strict=True) if v]
    return f"{name}{{{','.join(pairs)}}} " if pairs else f"{name} "


def _headers(metric: Metric) -> tuple[bytes, bytes]:
    """The HELP and TYPE lines of a family in the text format and in OpenMetrics."""
    text_type = _TEXT_TYPE[metric.type]
    text = (
        f"# HELP {metric.name} {escape_help(metric.help, openmetrics=False)}\n"
        f"# TYPE {metric.name} {text_type}\n"
    )
    om = (
        f"# HELP {metric.family} {escape_help(metric.help, openmetrics=True)}\n"
        f"# TYPE {metric.family} {text_type}\n"
    )
    return text.encode("utf-8"), om.encode("utf-8")


def _family_order(metric: Metric) -> tuple[int, str]:
    return (_ORDER.get(metric, len(_ORDER)), metric.name)


@dataclass(slots=True)
class _FamilyCache:
    """One family's series of the last snapshot: their keys in order (None when that snapshot
    needed the slow path), their prefixes in the same order, and the prefixes by key; with the
    values and the lines written from them, reused as they are when the next snapshot holds the
    same series with the same values."""

    keys: Sequence[object] | None
    prefixes: list[str]
    index: dict[object, str]
    _template: str | None = None
    values: Sequence[float] | None = None
    body: bytes = b""

    @property
    def template(self) -> str:
        """The family's lines with a `%r` where each value goes, `%` in the text escaped: one
        `template % values` writes the whole family in C."""
        if self._template is None:
            if not self.prefixes:
                self._template = ""
            else:  # whole-string operations: a prefix holds no newline (escaped in label values)
                text = "\n".join(self.prefixes)
                if "%" in text:
                    text = text.replace("%", "%%")
                self._template = text.replace("\n", "%r\n") + "%r\n"
        return self._template


INT_EXACT = 1e16
"""Below this, an integral float's repr is its integer's digits plus `.0` (1e16 is `1e+16`)."""


def _format_values(template: str, values: Sequence[float]) -> str:
    """`template` filled with the values as `format_value` writes them."""
    try:
        integral = (
            all(map(float.is_integer, values)) and max(map(abs, values), default=0) < INT_EXACT
        )
    except TypeError:  # not a float: let repr and the fix-ups below handle it
        integral = False
    if integral:  # the common case (offsets, lags, counts, info): integers, no fix-up needed
        return template % tuple(map(int, values))
    # 12.0 -> 12, nan -> NaN, inf -> +Inf: a value is always followed by a newline
    body = (template % tuple(values)).replace(".0\n", "\n").replace(" -0\n", " 0\n")
    if not all(map(math.isfinite, values)):
        body = body.replace(" nan\n", " NaN\n").replace(" inf\n", " +Inf\n")
        body = body.replace(" -inf\n", " -Inf\n")
    return body


class Renderer:
    """Renders snapshots; keeps the per-series prefix cache and the duplicate counts between calls.

    `render` is meant to be called by one thread (the poller's `on_snapshot`); a lock makes a
    concurrent call safe but serial.
    """

    def __init__(self, *, gzip_level: int = GZIP_LEVEL) -> None:
        self._gzip_level = gzip_level
        self._caches: dict[Metric, _FamilyCache] = {}
        self._headers: dict[Metric, tuple[bytes, bytes]] = {}
        self._duplicates: dict[str, int] = {}
        self._lock = threading.Lock()
        self._asked: dict[Variant, float] = {}
        """When scrapes last asked for each body (shared with every exposition made)."""

    @property
    def cached_series(self) -> int:
        """Entries in the prefix cache (the series of the last snapshot)."""
        return sum(len(c.index) for c in self._caches.values())

    def render(self, snapshot: Snapshot) -> Exposition:
        with self._lock:
            return self._render(snapshot)

    def _render(self, snapshot: Snapshot) -> Exposition:
        started = time.perf_counter()
        text_parts: list[bytes] = []
        om_parts: list[bytes] = []
        caches: dict[Metric, _FamilyCache] = {}
        names_seen: set[str] = set()
        series = 0
        for metric in sorted(snapshot.columns, key=_family_order):
            family = snapshot.columns[metric]
            if metric.name in names_seen:  # two Metric objects with one name: keep the first
                self._count_duplicates(metric.name, len(family))
                continue
            names_seen.add(metric.name)
            body, cache = self._render_family(metric, family, self._caches.get(metric))
            caches[metric] = cache
            series += len(cache.index)
            text_head, om_head = self._family_headers(metric)
            text_parts += (text_head, body)
            om_parts += (om_head, body)
        if self._duplicates and SERIES_DUPLICATE.name not in names_seen:
            body = "".join(
                f"{series_prefix(SERIES_DUPLICATE.name, SERIES_DUPLICATE.labels, (name,))}{n}\n"
                for name, n in sorted(self._duplicates.items())
            ).encode("utf-8")
            text_head, om_head = self._family_headers(SERIES_DUPLICATE)
            text_parts += (text_head, body)
            om_parts += (om_head, body)
        om_parts.append(b"# EOF\n")
        self._caches = caches
        rendered = time.perf_counter()
        exposition = Exposition(text_parts, om_parts, series=series, taken_at=snapshot.taken_at,
                                gzip_level=self._gzip_level, asked=self._asked)  # fmt: skip
        now = time.monotonic()
        for variant, at in sorted(dict(self._asked).items()):
            if now - at <= WANTED_SECONDS:
                exposition.make(variant)
        log.debug(
            "rendered series=%d bytes=%d render_seconds=%.3f bodies_seconds=%.3f",
            series,
            sum(map(len, text_parts)),
            rendered - started,
            time.perf_counter() - rendered,
        )
        return exposition

    def _family_headers(self, metric: Metric) -> tuple[bytes, bytes]:
        headers = self._headers.get(metric)
        if headers is None:
            headers = self._headers[metric] = _headers(metric)
        return headers

    def _render_family(
        self, metric: Metric, family: Family, old: _FamilyCache | None
    ) -> tuple[bytes, _FamilyCache]:
        """The sample lines of one family, and its cache for the next snapshot.

        Fast paths, on whole columns: the same series with the same values as last time (a
        family that did not change: its lines are reused as they are), the same series in the
        same order (the prefixes are reused), or every prefix cached and no duplicates. Anything
        else (new series, duplicates, bad labels) goes sample by sample.
        """
        keys: Sequence[object] = family.labels
        if metric.type in ("summary", "histogram"):
            keys = tuple(zip(family.suffixes or repeat(""), family.labels, strict=False))
        values = family.values
        if old is not None and keys == old.keys:
            # equal floats are written alike (0.0 and -0.0 both as 0); NaN never equals itself,
            # so a family holding one is written again
            if values == old.values:
                return old.body, old
            cache = old
        else:
            get = (old.index if old is not None else {}).get
            prefixes = [get(k) for k in keys]
            index = dict(zip(keys, prefixes, strict=True))
            if len(index) != len(keys) or None in prefixes:
                return self._render_family_slowly(metric, family, keys, old)
            cache = _FamilyCache(keys, cast(list[str], prefixes), cast(dict[object, str], index))
        # every line is `prefix value`; a prefix holds no newline (escaped), so the value tokens
        # can be fixed up on the filled-in text
        cache.values = values
        cache.body = _format_values(cache.template, values).encode("utf-8")
        return cache.body, cache

    def _render_family_slowly(
        self,
        metric: Metric,
        family: Family,
        keys: Sequence[object],
        old: _FamilyCache | None,
    ) -> tuple[bytes, _FamilyCache]:
        old_index = old.index if old is not None else {}
        index: dict[object, str] = {}
        lines: list[str] = []
        duplicates = 0
        suffixes = family.suffixes or repeat("")
        rows = zip(keys, family.labels, family.values, suffixes, strict=False)
        for key, labels, value, suffix in rows:
            if key in index:
                duplicates += 1
                continue
            prefix = old_index.get(key)
            if prefix is None:
                prefix = self._make_prefix(metric, labels, suffix)
                if prefix is None:
                    continue
            index[key] = prefix
            lines.append(f"{prefix}{format_value(value)}\n")
        if duplicates:
            self._count_duplicates(metric.name, duplicates)
        body = "".join(lines).encode("utf-8")
        if len(index) == len(keys):  # every sample written: next time the fast path can match
            prefixes = list(index.values())
            return body, _FamilyCache(keys, prefixes, index, None, family.values, body)
        return body, _FamilyCache(None, [], index)

    @staticmethod
    def _make_prefix(metric: Metric, labels: LabelValues, suffix: str) -> str | None:
        """The series prefix, or None (logged) when the labels do not fit the family."""
        name, names = metric.name + suffix, metric.labels
        if metric.type == "summary" and not suffix:
            names = (*names, "quantile")
        elif metric.type == "histogram" and suffix == "_bucket":
            names = (*names, "le")
        if len(labels) != len(names):
            log.warning(
                "series dropped family=%s reason=label_count expected=%d got=%d",
                metric.name,
                len(names),
                len(labels),
            )
            return None
        return series_prefix(name, names, labels)

    def _count_duplicates(self, family: str, n: int) -> None:
        self._duplicates[family] = self._duplicates.get(family, 0) + n
        log.warning("duplicate series dropped family=%s count=%d", family, n)
