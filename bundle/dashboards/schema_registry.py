"""The Schema Registry contract: is the registry answering, which subjects have no compatibility
check, which topics carry messages without a value schema, and when schemas were registered.

One row of stats (registry up and latency, subjects listed and not read yet, subjects with NONE,
topics without a value subject), then subjects by compatibility level and registrations over
time, the unregistered payload ratio per topic and the sampled messages outside the contract
(payload sampling), and two tables (topics without a value subject, subjects with NONE) linked to
their alerts' runbooks.
"""

from __future__ import annotations

from grafanalib import core as g

from bundle.dashboards.common import Scope
from bundle.dashboards.panels import dashboard
from bundle.registry import panels

UID = "kafka-vitals-schema-registry"


def build(sc: Scope) -> g.Dashboard:
    return dashboard(
        UID,
        "Kafka vitals / Schema contract",
        "The Schema Registry contract: compatibility, topics without schema, registrations.",
        sc,
        [
            "Schema Registry",
            (4, panels.stats(sc)),
            (8, panels.history(sc)),
            (8, panels.payloads(sc)),
            (8, panels.tables(sc)),
        ],
    )
