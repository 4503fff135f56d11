"""Small helpers that write PromQL from catalog entries and the thresholds config.

Rules never spell a metric name: they pass the catalog's `Metric` and get back a selector scoped to
the configured job selector, so a renamed family or a changed selector changes every rule at once.
"""

from __future__ import annotations

import re

from exporter.catalog import Metric

_MATCHER = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*')
LABEL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def parse_selector(selector: str) -> list[tuple[str, str, str]]:
    """Split `a="x", b!~"y"` into (label, operator, value) triples; ValueError if malformed."""
    out: list[tuple[str, str, str]] = []
    rest = selector.strip()
    while rest:
        m = _MATCHER.match(rest)
        if not m:
            raise ValueError(f'not a list of label matchers like job="x": {selector!r}')
        out.append((m.group(1), m.group(2), m.group(3)))
        rest = rest[m.end() :]
        if rest.startswith(","):
            rest = rest[1:]
            if not rest.strip():
                raise ValueError(f"trailing comma in selector {selector!r}")
        elif rest:
            raise ValueError(f"expected a comma in selector {selector!r}")
    return out


def sel(
    metric: Metric,
    selector: str,
    *matchers: str,
    range_: str = "",
    offset: str = "",
    sample: str = "",
) -> str:
    """`name{selector, matchers...}[range] offset X`, with empty parts left out; `sample` is a
    suffix of the family's samples (a histogram's `_bucket`)."""
    inner = ", ".join(m for m in (selector.strip(), *matchers) if m)
    name = metric.name + sample
    text = f"{name}{{{inner}}}" if inner else name
    if range_:
        text += f"[{range_}]"
    if offset:
        text += f" offset {offset}"
    return text


def by(*labels: str) -> str:
    """`by (a, b)`, dropping empty label names (an unset cluster label)."""
    return "by (" + ", ".join(label for label in labels if label) + ")"


def on(*labels: str) -> str:
    """`on (a, b)`, dropping empty label names."""
    return "on (" + ", ".join(label for label in labels if label) + ")"


def num(value: float) -> str:
    """A threshold as PromQL and humans write it: 10000, 0.25, 1e+06 never."""
    if float(value).is_integer():
        return str(int(value))
    return repr(float(value))


def label(name: str) -> str:
    """A Go-template reference to an alert label, for descriptions."""
    return "{{ $labels." + name + " }}"
