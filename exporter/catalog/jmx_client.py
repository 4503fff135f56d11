"""The Java client families read over JMX beyond the core ones in `jmx`, generated from the
attribute lists below (which the JMX source also asks for).

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

_NETWORK = (
    "incoming-byte-rate",
    "outgoing-byte-rate",
    "io-ratio",
    "io-wait-ratio",
    "network-io-rate",
    "request-rate",
    "response-rate",
    "request-size-avg",
    "select-rate",
)
"""The network attributes both clients have. Not read: `connection-count` (promtool flags a gauge
ending in `_count`), `io-time-ns-avg` and `io-wait-time-ns-avg` (an abbreviated unit in the name;
io-ratio and io-wait-ratio say the same)."""

CONSUMER_METRICS_ATTRIBUTES = (
    "connection-creation-rate",
    "connection-close-rate",
    *_NETWORK,
    "last-poll-seconds-ago",
    "poll-idle-ratio-avg",
    "time-between-poll-avg",
    "time-between-poll-max",
)
FETCH_MANAGER_ATTRIBUTES = (
    "records-lag-max",
    "records-lead-min",
    "bytes-consumed-rate",
    "bytes-consumed-total",
    "records-consumed-rate",
    "records-consumed-total",
    "records-per-request-avg",
    "fetch-rate",
    "fetch-total",
    "fetch-latency-avg",
    "fetch-latency-max",
    "fetch-size-avg",
    "fetch-size-max",
    "fetch-throttle-time-avg",
    "fetch-throttle-time-max",
)
COORDINATOR_ATTRIBUTES = (
    "rebalance-latency-avg",
    "rebalance-latency-max",
    "rebalance-latency-total",
    "rebalance-total",
    "rebalance-rate-per-hour",
    "failed-rebalance-total",
    "failed-rebalance-rate-per-hour",
    "last-rebalance-seconds-ago",
    "last-heartbeat-seconds-ago",
    "commit-latency-avg",
    "commit-latency-max",
    "commit-rate",
    "commit-total",
    "assigned-partitions",
    "heartbeat-rate",
    "heartbeat-response-time-max",
    "join-rate",
    "join-time-avg",
    "join-time-max",
    "sync-rate",
    "sync-time-avg",
    "sync-time-max",
)
PRODUCER_ATTRIBUTES = (
    "request-latency-avg",
    "request-latency-max",
    "record-error-rate",
    "record-error-total",
    "record-retry-rate",
    "record-retry-total",
    "record-send-rate",
    "record-send-total",
    "record-queue-time-avg",
    "record-queue-time-max",
    "record-size-avg",
    "records-per-request-avg",
    "batch-size-avg",
    "batch-size-max",
    "compression-rate-avg",
    "buffer-available-bytes",
    "buffer-total-bytes",
    "buffer-exhausted-rate",
    "bufferpool-wait-ratio",
    "waiting-threads",
    "requests-in-flight",
    "metadata-age",
    "produce-throttle-time-avg",
    "produce-throttle-time-max",
    *_NETWORK,
)

APP_INFO_ATTRIBUTES = ("version", "commit-id")
"""The text attributes of a client's `app-info` MBean, written as labels of `..._app_info`."""

CONSUMER_APP_INFO = Metric(
    "kafka_consumer_app_info",
    "gauge",
    "1 per Java consumer client, with the Kafka client library's version and commit id as labels "
    "(the app-info MBean), as jmx_exporter's client configurations write them.",
    ("target", "client_id", "version", "commit_id"),
    "jmx_client",
)
PRODUCER_APP_INFO = Metric(
    "kafka_producer_app_info",
    "gauge",
    "1 per Java producer client, with the Kafka client library's version and commit id as labels "
    "(the app-info MBean), as jmx_exporter's client configurations write them.",
    ("target", "client_id", "version", "commit_id"),
    "jmx_client",
)
APP_INFO: Mapping[str, Metric] = MappingProxyType(
    {"kafka.consumer": CONSUMER_APP_INFO, "kafka.producer": PRODUCER_APP_INFO}
)
"""domain -> the app-info family."""

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
    sorted(
        {m for m in BY_ATTRIBUTE.values() if m not in core.ALL} | set(APP_INFO.values()),
        key=lambda m: m.name,
    )
)
