"""The end-to-end probe's row of the brokers dashboard: what a message takes from producer to
consumer, per leader broker, and the messages lost or late (`probe.enabled`; empty without it).

Quantiles come from the probe's histograms, their buckets summed over instances before
`histogram_quantile` (two replicas probing add samples). The broker label is the leader's id, not
a JMX target, so the dashboard's `$broker` selection does not apply to this row.
"""

from __future__ import annotations

from grafanalib import core as g

from bundle.config import why
from bundle.core.promql import num
from bundle.dashboards.common import Scope
from bundle.dashboards.panels import Q, timeseries
from bundle.probe import signals
from exporter.catalog import Metric, probe

QUANTILES = ("0.5", "0.99")


def _quantiles(sc: Scope, metric: Metric) -> list[Q]:
    return [
        Q(
            signals.latency_quantile(sc, metric, q),
            f"p{num(float(q) * 100)} broker {{{{broker}}}}",
        )
        for q in QUANTILES
    ]


def panels(sc: Scope) -> list[tuple[g.Panel, int]]:
    pl, ml = sc.config.probe_latency, sc.config.probe_messages_lost
    bar = sc.bar("KafkaProbeEndToEndLatencyHigh", pl.seconds)
    lost = f"sum {sc.by('broker')} ({sc.increase(probe.MESSAGES_LOST, ml.window)})"
    late = f"sum {sc.by('broker')} ({sc.increase(probe.MESSAGES_LATE, ml.window)})"
    return [
        (
            timeseries(
                "End-to-end latency (probe)",
                "Produced to consumed, per leader broker of the probe's partitions: produce, "
                "replication to the in-sync replicas, fetch. " + why(pl, "seconds"),
                "s",
                _quantiles(sc, probe.END_TO_END_LATENCY),
                bar,
                links=[sc.runbook(bar.alert)],
            ),
            8,
        ),
        (
            timeseries(
                "Produce acknowledgement (probe)",
                "Time from produce to the broker's acknowledgement (probe.acks), per leader "
                "broker: with acks=all a slow follower shows here on the partitions it "
                "replicates, not on the others.",
                "s",
                _quantiles(sc, probe.PRODUCE_LATENCY),
            ),
            8,
        ),
        (
            timeseries(
                "Messages lost and late (probe)",
                f"Probe messages not consumed within the probe's deadline, and those of them "
                f"that arrived later, per leader broker, over {ml.window}.",
                "short",
                [Q(lost, "lost broker {{broker}}"), Q(late, "late broker {{broker}}")],
                links=[sc.runbook("KafkaProbeMessagesLost")],
            ),
            8,
        ),
    ]
