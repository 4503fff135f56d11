"""Collector `client_jmx`: Java consumer and producer vitals read over JMX.

Reads the `TargetResult`s of client targets from `CycleData.jmx` and writes the consumer's lag
(`records-lag-max`, and `records-lag` per assigned partition), its poll, fetch, rebalance, commit
and network metrics, the producer's send, error, latency, batch and buffer metrics, and each
client's library version (`..._app_info`, value 1, the version and commit id as labels), named as
jmx_exporter names them (see `exporter.catalog.jmx_client`); plus each target's health. One
target (one JVM) may hold several clients: `client_id` tells them apart.

NaN on purpose: Kafka reports NaN for a windowed average or maximum without samples, and -1 for
`last-rebalance-seconds-ago` before the first rebalance. Such values are not written, so the series
is absent until the client has data (see the catalog's HELP texts and docs).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from exporter.catalog import jmx as cat
from exporter.catalog import jmx_client as ccat
from exporter.collectors.base import CycleData, Input, register
from exporter.collectors.broker_jmx import emit_health, jmx_results
from exporter.snapshot import SnapshotBuilder
from exporter.sources.filters import Filters
from exporter.sources.jmx_model import JmxValue, TargetResult, finite

if TYPE_CHECKING:
    from exporter.config import Config

_FETCH = ("kafka.consumer", "consumer-fetch-manager-metrics")


def usable(v: JmxValue) -> bool:
    """A value worth a sample: finite, and not Kafka's -1 for "no rebalance yet"."""
    if not finite(v.value):
        return False
    # Kafka's -1 for "never": no rebalance, no poll or no heartbeat yet
    return not (v.attribute.endswith("-seconds-ago") and v.value < 0)


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
        info: dict[tuple[str, str], dict[str, str]] = {}
        for v in result.values:
            if v.text:
                info.setdefault((v.domain, v.key("client-id")), {})[v.attribute] = v.text
                continue
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
            metric = ccat.BY_ATTRIBUTE.get((v.domain, kind, v.attribute))
            if metric is not None:
                out.add(metric, (target, client_id), v.value)
        for (domain, client_id), texts in sorted(info.items()):
            family = ccat.APP_INFO.get(domain)
            if family is not None:
                labels = (target, client_id, texts.get("version", ""), texts.get("commit-id", ""))
                out.add(family, labels, 1.0)
