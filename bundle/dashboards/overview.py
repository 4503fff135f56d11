"""The Kafka vitals overview: is the cluster healthy, and are the five vitals inside their bars?

Top row: brokers, controller, offline and under-min-ISR partitions, the exporter's own health and
the firing Kafka alerts. Then the five vitals of the design (consumer lag, under-replicated
partitions, produce p99, messages in, rebalances), each as a Stat coloured by its alert's threshold
beside a TimeSeries that draws the same threshold, and a table of the firing alerts linked to their
runbooks. Every number here is the quantity the alert compares, aggregated the same way.
"""

from __future__ import annotations

from grafanalib import core as g

from bundle.cluster import vital_panels as cluster
from bundle.consumers import lag_panels as consumers
from bundle.dashboards.common import Scope
from bundle.dashboards.panels import alerts_firing, alerts_table, dashboard
from bundle.exporter import panels as exporter
from bundle.throughput import panels as throughput

UID = "kafka-vitals-overview"


def build(sc: Scope) -> g.Dashboard:
    return dashboard(
        UID,
        "Kafka vitals / Overview",
        "The five Kafka vitals against their alert thresholds, cluster health and firing alerts.",
        sc,
        [
            "Cluster health",
            (4, [*cluster.health(sc), *exporter.sources_up(sc), (alerts_firing(sc), 4)]),
            "Vitals: consumers and replication",
            (8, [*consumers.lag_vital(sc), *cluster.under_replicated_vital(sc)]),
            "Vitals: producers",
            (8, [*throughput.produce_vital(sc), *throughput.messages_in_vital(sc)]),
            "Vitals: rebalances, and what is firing",
            (8, [*consumers.rebalance_vital(sc), (alerts_table(sc), 12)]),
        ],
    )
