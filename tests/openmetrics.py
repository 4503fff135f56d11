"""prometheus_client's OpenMetrics parser with its type declared: the library leaves that function
unannotated (its text-format parser is annotated), so the tests call it through this name."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import cast

from prometheus_client.metrics_core import Metric
from prometheus_client.openmetrics import parser

parse_openmetrics = cast(Callable[[str], Iterator[Metric]], parser.text_string_to_metric_families)
"""Every metric family of an OpenMetrics exposition; ValueError on a malformed one."""
