"""The bundle's one PromQL builder and its one scanner.

Building: rules and panels never spell a metric name: they pass the catalog's `Metric` and get
back a selector scoped to the configured job selector, so a renamed family or a changed selector
changes every rule and panel at once.

Scanning (the rules' lint, the dashboards' checks): PromQL is scanned, not parsed. Strings, label
matchers, range durations and grouping label lists are blanked out (`scrub`, every position
kept), and what remains that looks like a name, is no keyword and is not followed by `(` is a
series name (`metric_names`). That is enough for the expressions this bundle writes; the tests
plant bad expressions to prove it.
"""

from __future__ import annotations

import re

from exporter.catalog import Metric, lookup

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


# ---- scanning --------------------------------------------------------------------------------

_IDENT = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)(\s*)\(([^()]*)\)")
KEYWORDS = frozenset(
    {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset"}
    | {"and", "or", "unless", "inf", "nan", "Inf", "NaN"}
    | {"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values"}
    | {"bottomk", "topk", "quantile"}
)
"""Words in PromQL that are not series names (modifiers, set operators, aggregations)."""
RATE_FUNCTIONS = frozenset({"rate", "irate", "increase"})
"""The functions that take a counter."""


def _blank_inside(text: str, pattern: re.Pattern[str] | str) -> str:
    """Each match's inner part replaced with spaces; its first and last character kept."""

    def keep_ends(m: re.Match[str]) -> str:
        found = m.group(0)
        return found[0] + " " * (len(found) - 2) + found[-1]

    return re.sub(pattern, keep_ends, text)


def scrub(expr: str) -> str:
    """`expr` with strings, label matchers, ranges and grouping label lists blanked out, of the
    same length (positions in it point into `expr`)."""
    text = _blank_inside(expr, _STRING)
    text = _blank_inside(text, r"\{[^{}]*\}")
    text = _blank_inside(text, r"\[[^\[\]]*\]")
    return _GROUPING.sub(
        lambda m: m.group(1) + m.group(2) + "(" + " " * len(m.group(3)) + ")", text
    )


def metric_names(expr: str) -> list[tuple[str, int]]:
    """(name, position) of every series name in `expr`: not a function, keyword or label."""
    text = scrub(expr)
    out = []
    for m in _IDENT.finditer(text):
        name = m.group(0)
        rest = text[m.end() :].lstrip()
        if name in KEYWORDS or rest.startswith("(") or re.match(r"(by|without)\s*\(", rest):
            continue  # a keyword, a function, or an aggregation with its grouping clause
        if m.start() > 0 and (text[m.start() - 1].isdigit() or text[m.start() - 1] == "."):
            continue  # the unit of a duration or the exponent of a number
        out.append((name, m.start()))
    return out


def enclosing_function(expr: str, pos: int) -> str:
    """The function whose argument list directly holds position `pos` of `expr`, or ''."""
    text = scrub(expr)
    depth = 0
    for i in range(pos - 1, -1, -1):
        ch = text[i]
        if ch == ")":
            depth += 1
        elif ch == "(":
            if depth == 0:
                m = re.search(r"([A-Za-z_][A-Za-z0-9_]*)\s*$", text[:i])
                return m.group(1) if m else ""
            depth -= 1
    return ""


def is_counter_sample(name: str, metric: Metric) -> bool:
    """A counter, or a summary's `_sum` / `_count` or a histogram's sample: meaningful only
    inside rate()/increase()."""
    return metric.type == "counter" or (
        metric.type in ("summary", "histogram") and name.endswith(("_sum", "_count", "_bucket"))
    )


def bare_counters(expr: str) -> list[str]:
    """Counter samples used anywhere but directly inside rate(), irate() or increase()."""
    bad = []
    for name, pos in metric_names(expr):
        metric = lookup(name)
        counter = metric is not None and is_counter_sample(name, metric)
        if counter and enclosing_function(expr, pos) not in RATE_FUNCTIONS:
            bad.append(name)
    return bad
