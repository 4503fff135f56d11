"""The overview's cluster panels: the health stats (the broker count against the most seen, the
active controller, offline and under-min-ISR partitions) and the under-replicated partitions
vital, from the metadata and from the brokers, against its alert's bar.
"""

from __future__ import annotations

from bundle.cluster import signals
from bundle.cluster.panels import Placed
from bundle.config import why
from bundle.dashboards.common import Scope, colors
from bundle.dashboards.panels import Q, stat, timeseries
from exporter.catalog import admin, jmx


def health(sc: Scope) -> Placed:
    offline_admin = f"sum({signals.flagged_partitions(sc, admin.PARTITION_OFFLINE)})"
    min_isr = f"sum({signals.flagged_partitions(sc, admin.PARTITION_UNDER_MIN_ISR)})"
    ac = sc.bar("KafkaNoActiveController", 1, op="<")
    return [
        (
            stat(
                "Brokers",
                "Brokers in the cluster metadata (Admin API), and the most seen in the last "
                f"{sc.config.broker_count.window}: KafkaBrokerCountDropped fires when the "
                "first is below the second.",
                "short",
                [
                    Q(f"max({sc.sel(admin.BROKERS)})", "now"),
                    Q(
                        f"max(max_over_time({sc.sel(admin.BROKERS)}"
                        f"[{sc.config.broker_count.window}]))",
                        f"max {sc.config.broker_count.window}",
                    ),
                ],
                links=[sc.runbook("KafkaBrokerCountDropped")],
            ),
            4,
        ),
        (
            stat(
                "Active controller",
                "Brokers reporting themselves the active controller (JMX ActiveControllerCount); "
                "must be exactly 1. 0: no controller elected, or its JMX is unreachable; 2: a "
                "split brain. KafkaNoActiveController fires at != 1.",
                "short",
                [Q(f"sum({signals.per_broker(sc, jmx.ACTIVE_CONTROLLER)})")],
                colors((None, ac.color), (1, "green"), (2, ac.color)),
                links=[sc.runbook("KafkaNoActiveController")],
            ),
            4,
        ),
        (
            stat(
                "Offline partitions",
                "Partitions without a leader: nobody can produce to or consume from them. As the "
                "active controller reports it (JMX) and as the metadata shows it (Admin API). "
                "KafkaOfflinePartitions / KafkaTopicOfflinePartitions fire at > 0.",
                "short",
                [
                    Q(f"max({sc.sel(jmx.OFFLINE_PARTITIONS)})", "controller"),
                    Q(offline_admin, "metadata"),
                ],
                sc.bar("KafkaOfflinePartitions", 0, step=1).steps(),
                links=[sc.runbook("KafkaOfflinePartitions")],
            ),
            4,
        ),
        (
            stat(
                "Under min ISR",
                "Partitions with fewer in-sync replicas than min.insync.replicas: producers with "
                "acks=all are refused on them right now. KafkaTopicUnderMinIsrPartitions fires "
                "at > 0.",
                "short",
                [Q(min_isr)],
                sc.bar("KafkaTopicUnderMinIsrPartitions", 0, step=1).steps(),
                links=[sc.runbook("KafkaTopicUnderMinIsrPartitions")],
            ),
            4,
        ),
    ]


def under_replicated_vital(sc: Scope) -> Placed:
    bar = sc.bar("KafkaBrokerUnderReplicatedPartitions", 0, step=1)
    jmx_per = signals.per_broker(sc, jmx.UNDER_REPLICATED)
    meta = f"sum({signals.flagged_partitions(sc, admin.PARTITION_UNDER_REPLICATED)})"
    leaderless = f"(sum({signals.flagged_partitions(sc, admin.PARTITION_OFFLINE)}) or vector(0))"
    desc = (
        "Partitions whose ISR is smaller than their replica set: a broker is struggling and the "
        "next failure can lose acknowledged data. From the cluster metadata (Admin API, internal "
        "topics always included) and from the brokers, like with like: a broker's JMX counts "
        "only the partitions it leads, so the partitions without a leader are added to the JMX "
        "sum. The two agree when no topic filter is set and every broker is a JMX target. "
        f"{why(sc.config.under_replicated, 'for_')}"
    )
    links = [
        sc.runbook("KafkaBrokerUnderReplicatedPartitions"),
        sc.runbook("KafkaTopicUnderReplicatedPartitions"),
    ]
    return [
        (
            stat(
                "Under-replicated partitions",
                desc,
                "short",
                [Q(meta, "metadata"), Q(f"sum({jmx_per}) + {leaderless}", "brokers + leaderless")],
                bar.steps(),
                links=links,
            ),
            4,
        ),
        (
            timeseries(
                "Under-replicated partitions by broker",
                desc,
                "short",
                [Q(jmx_per, "led by {{target}}"), Q(meta, "all (metadata)")],
                bar,
                links=links,
            ),
            8,
        ),
    ]
