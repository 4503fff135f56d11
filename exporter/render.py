"""Turn a `Snapshot` into exposition bytes, once per poll cycle; scrapes only copy the result.

Two formats come out of one pass: the Prometheus text format 0.0.4 and OpenMetrics 1.0. They share
every sample line and differ only in the family headers (an OpenMetrics counter is typed under its
name without `_total`; HELP escapes double quotes) and the closing `# EOF`. `info` families are
typed `gauge` in both (value 1, facts in labels, the plain name). Both bodies are gzip-compressed
once per cycle too, so a scrape never compresses.

Speed: the text before each value (`name{label="value",...} `) is cached per series between
cycles and only the value is formatted. The cache of the next cycle is built from the series of
this one, so entries of vanished series are dropped and memory stays bounded by one snapshot.

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
import operator
import re
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import cast

from isal import igzip

from exporter import catalog
from exporter.catalog import Metric
from exporter.catalog.own import SERIES_DUPLICATE
from exporter.snapshot import LabelValues, Sample, Snapshot

log = logging.getLogger(__name__)

CONTENT_TYPE_TEXT = "text/plain; version=0.0.4; charset=utf-8"
CONTENT_TYPE_OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8"
GZIP_LEVEL = 1
"""ISA-L's level 1 (python-isal; plain gzip output any client reads). Measured on 640,000 lag
series (56 MB): 0.04 s and 13x, where zlib's level 1 takes 0.17 s for 11x. Compression runs once
per cycle for each format, so its speed is part of every poll cycle."""

_LABELS_OF = operator.itemgetter(0)
"""A Sample's labels (`Sample.labels`), as a C function for whole lists."""
_SURROGATE = re.compile("[\ud800-\udfff]")
_SPECIAL = {"nan": "NaN", "inf": "+Inf", "-inf": "-Inf"}
_ORDER = {m: i for i, m in enumerate(catalog.ALL)}
_TEXT_TYPE = {"gauge": "gauge", "counter": "counter", "summary": "summary", "info": "gauge"}


@dataclass(frozen=True, slots=True)
class Exposition:
    """The bytes of one snapshot in both formats, plain and gzip-compressed."""

    text: bytes
    text_gzip: bytes
    openmetrics: bytes
    openmetrics_gzip: bytes
    series: int
    """Series written (after dropping duplicates)."""
    taken_at: float
    """When the snapshot was taken (0.0 for the one served before the first poll)."""

    def body(self, *, openmetrics: bool, gzipped: bool) -> bytes:
        if openmetrics:
            return self.openmetrics_gzip if gzipped else self.openmetrics
        return self.text_gzip if gzipped else self.text

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
    needed the slow path), their prefixes in the same order, and the prefixes by key."""

    keys: list[object] | None
    prefixes: list[str]
    index: dict[object, str]
    _template: str | None = None

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


def _format_values(template: str, values: list[float]) -> str:
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
        for metric in sorted(snapshot.families, key=_family_order):
            samples = snapshot.families[metric]
            if metric.name in names_seen:  # two Metric objects with one name: keep the first
                self._count_duplicates(metric.name, len(samples))
                continue
            names_seen.add(metric.name)
            lines, cache = self._render_family(metric, samples, self._caches.get(metric))
            body = lines.encode("utf-8")
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
        text = b"".join(text_parts)
        om = b"".join(om_parts)
        rendered = time.perf_counter()
        exposition = Exposition(
            text=text,
            text_gzip=igzip.compress(text, compresslevel=self._gzip_level, mtime=0),
            openmetrics=om,
            openmetrics_gzip=igzip.compress(om, compresslevel=self._gzip_level, mtime=0),
            series=series,
            taken_at=snapshot.taken_at,
        )
        log.debug(
            "rendered series=%d bytes=%d gzip_bytes=%d render_seconds=%.3f gzip_seconds=%.3f",
            series,
            len(text),
            len(exposition.text_gzip),
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
        self, metric: Metric, samples: Sequence[Sample], old: _FamilyCache | None
    ) -> tuple[str, _FamilyCache]:
        """The sample lines of one family, and its cache for the next snapshot.

        Fast paths, on whole lists: the same series in the same order as last time (the steady
        state: the prefixes are reused as they are), or every prefix cached and no duplicates.
        Anything else (new series, duplicates, bad labels) goes sample by sample.
        """
        if metric.type == "summary":
            keys: list[object] = [(s.suffix, s.labels) for s in samples]
        else:
            keys = list(map(_LABELS_OF, samples))
        if old is not None and keys == old.keys:
            cache = old
        else:
            get = (old.index if old is not None else {}).get
            prefixes = [get(k) for k in keys]
            index = dict(zip(keys, prefixes, strict=True))
            if len(index) != len(keys) or None in prefixes:
                return self._render_family_slowly(metric, samples, keys, old)
            cache = _FamilyCache(keys, cast(list[str], prefixes), cast(dict[object, str], index))
        # every line is `prefix value`; a prefix holds no newline (escaped), so the value tokens
        # can be fixed up on the filled-in text
        return _format_values(cache.template, [s.value for s in samples]), cache

    def _render_family_slowly(
        self,
        metric: Metric,
        samples: Sequence[Sample],
        keys: Sequence[object],
        old: _FamilyCache | None,
    ) -> tuple[str, _FamilyCache]:
        old_index = old.index if old is not None else {}
        index: dict[object, str] = {}
        lines: list[str] = []
        duplicates = 0
        for key, s in zip(keys, samples, strict=True):
            if key in index:
                duplicates += 1
                continue
            prefix = old_index.get(key)
            if prefix is None:
                prefix = self._make_prefix(metric, s)
                if prefix is None:
                    continue
            index[key] = prefix
            lines.append(f"{prefix}{format_value(s.value)}\n")
        if duplicates:
            self._count_duplicates(metric.name, duplicates)
        if len(index) == len(keys):  # every sample written: next time the fast path can match
            return "".join(lines), _FamilyCache(list(keys), list(index.values()), index)
        return "".join(lines), _FamilyCache(None, [], index)

    @staticmethod
    def _make_prefix(metric: Metric, sample: Sample) -> str | None:
        """The series prefix, or None (logged) when the sample's labels do not fit the family."""
        name, names = metric.name, metric.labels
        if metric.type == "summary":
            if sample.suffix:
                name += sample.suffix
            else:
                names = (*names, "quantile")
        if len(sample.labels) != len(names):
            log.warning(
                "series dropped family=%s reason=label_count expected=%d got=%d",
                metric.name,
                len(names),
                len(sample.labels),
            )
            return None
        return series_prefix(name, names, sample.labels)

    def _count_duplicates(self, family: str, n: int) -> None:
        self._duplicates[family] = self._duplicates.get(family, 0) + n
        log.warning("duplicate series dropped family=%s count=%d", family, n)
