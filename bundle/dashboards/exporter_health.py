"""The exporter's own health: are its sources answering, how long polls take, how old the data is,
how many series it serves, and whether Prometheus can scrape it.

A dead or blind exporter looks exactly like a quiet, healthy cluster; this dashboard is where that
difference shows.
"""

from __future__ import annotations

from grafanalib import core as g

from bundle.dashboards.common import Scope
from bundle.dashboards.panels import dashboard
from bundle.exporter import panels

UID = "kafka-vitals-exporter"


def build(sc: Scope) -> g.Dashboard:
    return dashboard(
        UID,
        "Kafka vitals / Exporter",
        "Health of kafka-vitals itself: sources, poll timing, data age, errors and series.",
        sc,
        [
            "Health",
            (4, panels.stats(sc)),
            "Polls",
            (8, panels.polls(sc)),
            (8, panels.errors(sc)),
            (8, panels.collectors(sc)),
            "Sources and series",
            (6, panels.sources(sc)),
            (8, panels.series(sc)),
        ],
    )
