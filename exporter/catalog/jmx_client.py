"""The Java client families read over JMX beyond the core ones in `jmx`, generated from the
attribute lists of `exporter.sources.jmx_queries`.

Named as jmx_exporter's client configurations name them: `kafka_<consumer|producer>_<type>_<attr>`
with every `-` turned into `_` (`time-between-poll-max` of `consumer-metrics` becomes
`kafka_consumer_consumer_metrics_time_between_poll_max`), labelled `target` and `client_id`.
Attributes ending in `-total` are counters; the others are gauges as the client computes them
(windowed rates, averages and maxima). A windowed value without samples is NaN in the client and
absent here.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from exporter.catalog import jmx as core
from exporter.catalog.model import Metric
from exporter.sources.jmx_queries import (
    CONSUMER_METRICS_ATTRIBUTES,
    COORDINATOR_ATTRIBUTES,
    FETCH_MANAGER_ATTRIBUTES,
    PRODUCER_ATTRIBUTES,
)

TYPES: Mapping[tuple[str, str], tuple[str, ...]] = MappingProxyType(
    {
        ("kafka.consumer", "consumer-metrics"): CONSUMER_METRICS_ATTRIBUTES,
        ("kafka.consumer", "consumer-fetch-manager-metrics"): FETCH_MANAGER_ATTRIBUTES,
        ("kafka.consumer", "consumer-coordinator-metrics"): COORDINATOR_ATTRIBUTES,
        ("kafka.producer", "producer-metrics"): PRODUCER_ATTRIBUTES,
    }
)
"""(domain, type) -> attributes read per client id."""

_UNITS = (
    ("-ms", "ms"),
    ("-latency-", "ms"),
    ("-time-avg", "ms"),
    ("-time-max", "ms"),
    ("-seconds-ago", "s"),
    ("-ns-avg", "ns"),
    ("byte", "bytes"),
    ("-ratio", "percentunit"),
)


def family_name(domain: str, kind: str, attribute: str) -> str:
    """jmx_exporter's name for one client attribute."""
    return "kafka_" + f"{domain.removeprefix('kafka.')}_{kind}_{attribute}".replace("-", "_")


def _unit(attribute: str) -> str:
    if attribute.endswith("-rate") or attribute.endswith("-total"):
        return ""
    for fragment, unit in _UNITS:
        if fragment in attribute:
            return unit
    return ""


def _make() -> dict[tuple[str, str, str], Metric]:
    known = {m.name: m for m in core.ALL}
    out: dict[tuple[str, str, str], Metric] = {}
    for (domain, kind), attributes in TYPES.items():
        for attribute in attributes:
            name = family_name(domain, kind, attribute)
            metric = known.get(name)
            if metric is None:
                counter = attribute.endswith("-total")
                metric = Metric(
                    name,
                    "counter" if counter else "gauge",
                    f"Java client metric {attribute} of {kind}, as the client reports it"
                    + ("." if counter else "; absent while the client reports NaN."),
                    ("target", "client_id"),
                    "jmx_client",
                    unit=_unit(attribute),
                )
            out[(domain, kind, attribute)] = metric
    return out


BY_ATTRIBUTE: Mapping[tuple[str, str, str], Metric] = MappingProxyType(_make())
"""(domain, type, attribute) -> family, core families included."""

ALL: tuple[Metric, ...] = tuple(
    sorted({m for m in BY_ATTRIBUTE.values() if m not in core.ALL}, key=lambda m: m.name)
)
