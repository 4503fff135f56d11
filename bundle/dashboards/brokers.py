"""Brokers and partitions, laid out from the themes' panels: replication health
(`bundle.cluster.replication_panels`); request latency and throughput (`bundle.throughput.panels`);
thread pools, disk, errors, the request-time breakdown and the JVM (`bundle.cluster.panels`); and
the end-to-end probe's row (`bundle.probe.panels`).

Per-broker JMX values are taken with `max by (target)`: Yammer percentiles cannot be summed or
averaged, and two exporter replicas must not double a count.
"""

from __future__ import annotations

from grafanalib import core as g

from bundle.cluster import panels as broker_vitals
from bundle.cluster import replication_panels as replication
from bundle.dashboards.common import Scope
from bundle.dashboards.panels import dashboard
from bundle.probe import panels as probe_panels
from bundle.throughput import panels as throughput

UID = "kafka-vitals-brokers"


def build(sc: Scope) -> g.Dashboard:
    return dashboard(
        UID,
        "Kafka vitals / Brokers and partitions",
        "Replication, partitions, request latency, throughput, thread pools, disk, errors, the "
        "request-time breakdown, the JVM and the end-to-end probe per broker.",
        sc,
        [
            "Replication health",
            (4, replication.health(sc)),
            (8, replication.replication(sc)),
            (8, replication.partitions(sc)),
            "Request latency",
            (8, throughput.latency(sc)),
            "Throughput",
            (8, throughput.throughput(sc)),
            "Thread pools",
            (7, broker_vitals.threads(sc)),
            "Disk",
            (8, broker_vitals.disk(sc)),
            "Errors",
            (8, broker_vitals.errors(sc)),
            "Request time breakdown",
            (8, broker_vitals.request_time(sc)),
            "JVM",
            (7, broker_vitals.jvm_row(sc)),
            "End-to-end probe",
            (8, probe_panels.panels(sc)),
        ],
        extra_variables=replication.variables(sc),
    )
