"""Collector `client_jmx`: Java consumer and producer vitals read over JMX.

Reads the `TargetResult`s of client targets from `CycleData.jmx` and writes the consumer's lag
(`records-lag-max`, and `records-lag` per assigned partition), its rebalance and commit metrics,
and the producer's request latency and error rate, named as jmx_exporter names them; plus each
target's health. One target (one JVM) may hold several clients: `client_id` tells them apart.

NaN on purpose: Kafka reports NaN for a windowed average or maximum without samples, and -1 for
`last-rebalance-seconds-ago` before the first rebalance. Such values are not written, so the series
is absent until the client has data (see the catalog's HELP texts and docs).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, ClassVar

from exporter.catalog import jmx as cat
from exporter.catalog.model import Metric
from exporter.collectors.base import CycleData, Input, register
from exporter.collectors.broker_jmx import emit_health, jmx_results
from exporter.snapshot import SnapshotBuilder
from exporter.sources.filters import Filters
from exporter.sources.jmx_model import JmxValue, TargetResult, finite

if TYPE_CHECKING:
    from exporter.config import Config

_FETCH = ("kafka.consumer", "consumer-fetch-manager-metrics")
_COORDINATOR = ("kafka.consumer", "consumer-coordinator-metrics")
_PRODUCER = ("kafka.producer", "producer-metrics")

# (domain, type, attribute) -> family labelled (target, client_id)
_PER_CLIENT: Mapping[tuple[str, str, str], Metric] = {
    (*_FETCH, "records-lag-max"): cat.CLIENT_RECORDS_LAG_MAX,
    (*_COORDINATOR, "rebalance-latency-avg"): cat.CLIENT_REBALANCE_LATENCY_AVG,
    (*_COORDINATOR, "rebalance-latency-max"): cat.CLIENT_REBALANCE_LATENCY_MAX,
    (*_COORDINATOR, "rebalance-latency-total"): cat.CLIENT_REBALANCE_LATENCY_TOTAL,
    (*_COORDINATOR, "rebalance-total"): cat.CLIENT_REBALANCES,
    (*_COORDINATOR, "rebalance-rate-per-hour"): cat.CLIENT_REBALANCE_RATE,
    (*_COORDINATOR, "failed-rebalance-total"): cat.CLIENT_FAILED_REBALANCES,
    (*_COORDINATOR, "last-rebalance-seconds-ago"): cat.CLIENT_LAST_REBALANCE_AGO,
    (*_COORDINATOR, "commit-latency-avg"): cat.CLIENT_COMMIT_LATENCY_AVG,
    (*_PRODUCER, "request-latency-avg"): cat.PRODUCER_REQUEST_LATENCY_AVG,
    (*_PRODUCER, "record-error-rate"): cat.PRODUCER_RECORD_ERROR_RATE,
}


def usable(v: JmxValue) -> bool:
    """A value worth a sample: finite, and not Kafka's -1 for "no rebalance yet"."""
    if not finite(v.value):
        return False
    return not (v.attribute == "last-rebalance-seconds-ago" and v.value < 0)


@register
class ClientJmxCollector:
    name: ClassVar[str] = "client_jmx"
    reads: ClassVar[tuple[Input, ...]] = ("jmx",)

    def __init__(self, config: Config) -> None:
        self._filters = Filters.from_config(config.filters)

    def collect(self, data: CycleData, out: SnapshotBuilder) -> None:
        for result in jmx_results(data, "client"):
            emit_health(result, out)
            if result.ok:
                self._values(result, out)

    def _values(self, result: TargetResult, out: SnapshotBuilder) -> None:
        target = result.target
        for v in result.values:
            if not usable(v):
                continue
            client_id = v.key("client-id")
            kind = v.key("type")
            topic, partition = v.key("topic"), v.key("partition")
            if topic or partition:
                if (v.domain, kind, v.attribute) != (*_FETCH, "records-lag"):
                    continue
                if not (topic and partition) or not self._filters.topic(topic):
                    continue
                labels = (target, client_id, topic, partition)
                out.add(cat.CLIENT_RECORDS_LAG, labels, v.value)
                continue
            metric = _PER_CLIENT.get((v.domain, kind, v.attribute))
            if metric is not None:
                out.add(metric, (target, client_id), v.value)
