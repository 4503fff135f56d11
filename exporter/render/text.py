"""The pieces of the exposition text both formats share: values, label values, HELP text, series
prefixes and the HELP/TYPE headers of a family."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

from exporter.catalog import Metric
from exporter.snapshot import LabelValues

_SURROGATE = re.compile("[\ud800-\udfff]")
_SPECIAL = {"nan": "NaN", "inf": "+Inf", "-inf": "-Inf"}
_TEXT_TYPE = {
    "gauge": "gauge",
    "counter": "counter",
    "summary": "summary",
    "histogram": "histogram",
    "info": "gauge",
}


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


@functools.cache
def headers(metric: Metric) -> tuple[bytes, bytes]:
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
