"""Turn a `Snapshot` into exposition bytes, once per poll cycle; scrapes only copy the result.

Two formats come out of one pass: the Prometheus text format 0.0.4 and OpenMetrics 1.0. They share
every sample line and differ only in the family headers (an OpenMetrics counter is typed under its
name without `_total`; HELP escapes double quotes) and the closing `# EOF`. `info` families are
typed `gauge` in both (value 1, facts in labels, the plain name); a histogram's `_bucket` samples
carry their bound in `le`. Each format is served plain or gzip-compressed; each of these four
bodies is made at most once per cycle (see `Exposition`), so a scrape never compresses or formats
the cycle's series. What must be fresh at every scrape (the exporter's own `process_*` and
`python_*`, a `Fresh`) is formatted and compressed at the scrape and sent after the cycle's body
(`exporter.render.exposition`); the pieces both formats share are in `exporter.render.text`.

Speed: the text before each value (`name{label="value",...} `) is kept per series between
cycles and only the value is formatted. A family whose series and values are the same as last
cycle (partition replicas, group info, an idle topic's offsets) is not formatted at all: its lines
of last cycle are reused. The cache of the next cycle is built from the series of this one, so
entries of vanished series are dropped and memory stays bounded by one snapshot.

Memory: what is kept of a family between cycles is its lines (the bytes the exposition serves
anyway) and the keys and values of its series (the snapshot's own columns), no object per
series. The text before each value is read back from those lines when it is needed: a family
whose values change gets a template (its lines with a `%r` for each value, one string) made
once and kept while its series stay the same; a family whose series change gets a map from
key to text for that render only.

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
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import repeat
from typing import cast

from exporter import catalog
from exporter.catalog import Metric
from exporter.catalog.own import SERIES_DUPLICATE
from exporter.render.exposition import (
    CONTENT_TYPE_OPENMETRICS,
    CONTENT_TYPE_TEXT,
    GZIP_LEVEL,
    Exposition,
    Fresh,
    Variant,
)
from exporter.render.text import escape_help, escape_label_value, format_value, series_prefix
from exporter.render.text import headers as _headers
from exporter.snapshot import Family, LabelValues, Snapshot

__all__ = [
    "CONTENT_TYPE_OPENMETRICS",
    "CONTENT_TYPE_TEXT",
    "GZIP_LEVEL",
    "Exposition",
    "Fresh",
    "Renderer",
    "escape_help",
    "escape_label_value",
    "format_value",
    "series_prefix",
]

log = logging.getLogger(__name__)

_ORDER = {m: i for i, m in enumerate(catalog.ALL)}
WANTED_SECONDS = 600.0
"""A body asked for by a scrape in the last this many seconds is made with every render."""


def _family_order(metric: Metric) -> tuple[int, str]:
    return (_ORDER.get(metric, len(_ORDER)), metric.name)


_VALUE = re.compile(" [^ \n]*\n")
"""The value at the end of a line (after its last space: a value has none) and its newline."""


@dataclass(slots=True)
class _FamilyCache:
    """One family's series as last written: their keys in order, their lines (`body`), and the
    values written there (None when not every series of that snapshot was written: the fast
    paths then never match), reused as they are when the next snapshot holds the same series
    with the same values. A line is `prefix value`; the prefixes are not kept apart, they are
    read back from the lines (`template`, `index`)."""

    keys: Sequence[object]
    body: bytes
    values: Sequence[float] | None
    _template: str | None = None

    @property
    def template(self) -> str:
        """The family's lines with a `%r` where each value goes, `%` in the text escaped: one
        `template % values` writes the whole family in C. Made from the lines at the first
        change of values, then kept while the series stay the same."""
        if self._template is None:
            text = self.body.decode("utf-8")
            if "%" in text:
                text = text.replace("%", "%%")
            self._template = _VALUE.sub(" %r\n", text)
        return self._template

    def index(self) -> dict[object, str]:
        """The prefix of each series by key, read from the lines (made when the series change)."""
        lines = self.body.decode("utf-8").split("\n")
        lines.pop()  # the text after the last newline: empty
        prefixes = [line[: line.rindex(" ") + 1] for line in lines]
        return dict(zip(self.keys, prefixes, strict=True))


def _template_of(prefixes: Sequence[str]) -> str:
    """The template (see `_FamilyCache.template`) of lines with these prefixes."""
    if not prefixes:
        return ""
    text = "\n".join(prefixes)  # whole-string operations: a prefix holds no newline (escaped)
    if "%" in text:
        text = text.replace("%", "%%")
    return text.replace("\n", "%r\n") + "%r\n"


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

    def __init__(self, *, gzip_level: int = GZIP_LEVEL, fresh: Fresh | None = None) -> None:
        self._gzip_level = gzip_level
        self._fresh = fresh
        """Families written at every scrape; the snapshot's series of them are held out of the
        cycle's body and written with them."""
        self._held_out = frozenset(fresh.families if fresh is not None else ())
        self._caches: dict[Metric, _FamilyCache] = {}
        self._duplicates: dict[str, int] = {}
        self._lock = threading.Lock()
        self._asked: dict[Variant, float] = {}
        """When scrapes last asked for each body (shared with every exposition made)."""

    @property
    def cached_series(self) -> int:
        """Series kept in the cache (those written from the last snapshot)."""
        return sum(len(c.keys) for c in self._caches.values())

    def render(self, snapshot: Snapshot) -> Exposition:
        with self._lock:
            return self._render(snapshot)

    def _render(self, snapshot: Snapshot) -> Exposition:
        started = time.perf_counter()
        text_parts: list[bytes] = []
        om_parts: list[bytes] = []
        caches: dict[Metric, _FamilyCache] = {}
        names_seen: set[str] = set()
        held: dict[Metric, bytes] = {}
        series = 0
        for metric in sorted(snapshot.columns, key=_family_order):
            family = snapshot.columns[metric]
            if metric.name in names_seen:  # two Metric objects with one name: keep the first
                self._count_duplicates(metric.name, len(family))
                continue
            names_seen.add(metric.name)
            body, cache = self._render_family(metric, family, self._caches.get(metric))
            caches[metric] = cache
            series += len(cache.keys)
            if metric in self._held_out:
                held[metric] = body
                continue
            text_head, om_head = _headers(metric)
            text_parts += (text_head, body)
            om_parts += (om_head, body)
        if self._duplicates and SERIES_DUPLICATE.name not in names_seen:
            body = "".join(
                f"{series_prefix(SERIES_DUPLICATE.name, SERIES_DUPLICATE.labels, (name,))}{n}\n"
                for name, n in sorted(self._duplicates.items())
            ).encode("utf-8")
            text_head, om_head = _headers(SERIES_DUPLICATE)
            text_parts += (text_head, body)
            om_parts += (om_head, body)
        self._caches = caches
        rendered = time.perf_counter()
        exposition = Exposition(text_parts, om_parts, series=series, taken_at=snapshot.taken_at,
                                gzip_level=self._gzip_level, asked=self._asked,
                                fresh=self._fresh, held=held)  # fmt: skip
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

    def _render_family(
        self, metric: Metric, family: Family, old: _FamilyCache | None
    ) -> tuple[bytes, _FamilyCache]:
        """The sample lines of one family, and its cache for the next snapshot.

        Fast paths, on whole columns: the same series with the same values as last time (a
        family that did not change: its lines are reused as they are), the same series in the
        same order (the family's template is reused, made from last cycle's lines the first
        time), or every series known from last cycle's lines and no duplicates. Anything else
        (new series, duplicates, bad labels) goes sample by sample.
        """
        keys: Sequence[object] = family.labels
        if metric.type in ("summary", "histogram"):
            keys = tuple(zip(family.suffixes or repeat(""), family.labels, strict=False))
        values = family.values
        old_index: dict[object, str] = {}
        if old is not None and old.values is not None and keys == old.keys:
            # the cache holds this snapshot's columns from now on, not the equal ones of the
            # snapshot it was made from (which can then be freed)
            old.keys = keys
            # equal floats are written alike (0.0 and -0.0 both as 0); NaN never equals itself,
            # so a family holding one is written again
            if values == old.values:
                old.values = values
                return old.body, old
            cache = old
            template = cache.template
        else:
            if old is not None:
                old_index = old.index()
            get = old_index.get
            prefixes = [get(k) for k in keys]
            if None in prefixes or len(set(keys)) != len(keys):
                return self._render_family_slowly(metric, family, keys, old_index)
            template = _template_of(cast(list[str], prefixes))
            cache = _FamilyCache(keys, b"", values, template)
        # every line is `prefix value`; a prefix holds no newline (escaped), so the value tokens
        # can be fixed up on the filled-in text
        cache.values = values
        cache.body = _format_values(template, values).encode("utf-8")
        return cache.body, cache

    def _render_family_slowly(
        self,
        metric: Metric,
        family: Family,
        keys: Sequence[object],
        old_index: dict[object, str],
    ) -> tuple[bytes, _FamilyCache]:
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
            return body, _FamilyCache(keys, body, family.values)
        return body, _FamilyCache(list(index), body, None)

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
