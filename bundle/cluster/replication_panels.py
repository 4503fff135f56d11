"""The brokers dashboard's replication rows: the health stats (under-replicated, under min ISR,
offline, the active controller, the broker count, leaders not preferred), under-replicated and
under-min-ISR partitions and ISR changes per broker, the unhealthy partitions; with the dashboard's
`broker` and `topic` variables. The other cluster rows are in `bundle.cluster.panels`.

As there, every per-broker JMX value is taken with `max by (target)` (`signals.per_broker`), and
every per-partition flag once per partition (`signals.flagged_partitions`).
"""

from __future__ import annotations

from grafanalib import core as g

from bundle.cluster import signals
from bundle.cluster.panels import B, Placed, T
from bundle.config import why
from bundle.dashboards.common import Bar, Scope, colors, query_variable
from bundle.dashboards.panels import Q, stat, table, timeseries
from exporter.catalog import Metric, admin, jmx


def variables(sc: Scope) -> list[g.Template]:
    scope = ", ".join(sc.matchers)
    return [
        query_variable(
            "broker",
            "Broker (JMX target)",
            f"label_values({jmx.UNDER_REPLICATED.name}{{{scope}}}, target)",
        ),
        query_variable(
            "topic", "Topic", f"label_values({admin.TOPIC_PARTITIONS.name}{{{scope}}}, topic)"
        ),
    ]


def _flagged(sc: Scope, metric: Metric) -> str:
    """Partitions flagged 1 by a per-partition 0/1 family, de-duplicated over exporter replicas."""
    return f"sum({signals.flagged_partitions(sc, metric, T)}) or vector(0)"


def _like_with_like(
    sc: Scope, title: str, description: str, metrics: tuple[Metric, Metric], bar: Bar
) -> tuple[g.Panel, int]:
    """A stat of partitions counted twice: the leaders' JMX sum plus the partitions without a
    leader (metadata), beside the metadata's own per-partition flag."""
    from_jmx, from_metadata = metrics
    leaderless = f"({_flagged(sc, admin.PARTITION_OFFLINE)})"
    return (
        stat(
            title,
            description,
            "short",
            [
                Q(f"sum({signals.per_broker(sc, from_jmx, B)}) + {leaderless}", "JMX + leaderless"),
                Q(_flagged(sc, from_metadata), "metadata"),
            ],
            bar.steps(),
            links=[sc.runbook(bar.alert)],
        ),
        4,
    )


def health(sc: Scope) -> Placed:
    urp = sc.bar("KafkaBrokerUnderReplicatedPartitions", 0, step=1)
    mi = sc.bar("KafkaBrokerUnderMinIsrPartitions", 0, step=1)
    off = sc.bar("KafkaOfflinePartitions", 0, step=1)
    ac = sc.bar("KafkaNoActiveController", 1, op="<")
    return [
        _like_with_like(
            sc,
            "Under-replicated",
            "Partitions with ISR < replicas, from the metadata and from the brokers. Like "
            "with like: a broker's JMX counts only the partitions it leads, so the partitions "
            "without a leader (metadata) are added to the JMX sum; the metadata counts the "
            "internal topics whatever the topic filters say. The two agree when no topic "
            "filter is set and every broker is a JMX target.",
            (jmx.UNDER_REPLICATED, admin.PARTITION_UNDER_REPLICATED),
            urp,
        ),
        _like_with_like(
            sc,
            "Under min ISR",
            "Partitions with ISR < min.insync.replicas: acks=all producers are refused. Like "
            "with like, as for under-replicated: the partitions without a leader (metadata) "
            "are added to the leaders' JMX sum.",
            (jmx.UNDER_MIN_ISR, admin.PARTITION_UNDER_MIN_ISR),
            mi,
        ),
        (
            stat(
                "Offline partitions",
                "Partitions without a leader: the active controller's count (JMX, hence max) "
                "and the metadata's, both with the internal topics; they agree when no topic "
                "filter is set.",
                "short",
                [
                    Q(f"max({sc.sel(jmx.OFFLINE_PARTITIONS)})", "controller"),
                    Q(_flagged(sc, admin.PARTITION_OFFLINE), "metadata"),
                ],
                off.steps(),
                links=[sc.runbook(off.alert)],
            ),
            4,
        ),
        (
            stat(
                "Active controllers",
                "Brokers reporting themselves the active controller; exactly 1 is healthy.",
                "short",
                [Q(f"sum({signals.per_broker(sc, jmx.ACTIVE_CONTROLLER)})")],
                colors((None, ac.color), (1, "green"), (2, ac.color)),
                links=[sc.runbook(ac.alert)],
            ),
            4,
        ),
        (
            stat(
                "Brokers",
                "Brokers in the cluster metadata (Admin API).",
                "short",
                [Q(f"max({sc.sel(admin.BROKERS)})")],
                links=[sc.runbook("KafkaBrokerCountDropped")],
            ),
            4,
        ),
        (
            stat(
                "Leaders not preferred",
                "Partitions whose leader is not their preferred replica: "
                "load is skewed until a preferred-leader election runs.",
                "short",
                [
                    Q(
                        f"count(max {sc.by('topic', 'partition')} "
                        f"({sc.sel(admin.PARTITION_LEADER_IS_PREFERRED, T)}) == 0) or vector(0)"
                    )
                ],
                colors((None, "green"), (1, "orange")),
            ),
            4,
        ),
    ]


def replication(sc: Scope) -> Placed:
    per = sc.by("target")
    urp = sc.bar("KafkaBrokerUnderReplicatedPartitions", 0, step=1)
    mi = sc.bar("KafkaBrokerUnderMinIsrPartitions", 0, step=1)
    return [
        (
            timeseries(
                "Under-replicated partitions by broker",
                "Partitions this broker leads whose ISR is smaller than their replica set "
                "(JMX). A struggling or stopped follower shows on the other brokers. "
                + why(sc.config.under_replicated, "keep_firing_for"),
                "short",
                [Q(f"{signals.per_broker(sc, jmx.UNDER_REPLICATED, B)}", "{{target}}")],
                urp,
                links=[sc.runbook(urp.alert)],
            ),
            8,
        ),
        (
            timeseries(
                "Under-min-ISR partitions by broker",
                "Partitions this broker leads with fewer in-sync replicas than "
                "min.insync.replicas (JMX).",
                "short",
                [Q(f"{signals.per_broker(sc, jmx.UNDER_MIN_ISR, B)}", "{{target}}")],
                mi,
                links=[sc.runbook(mi.alert)],
            ),
            8,
        ),
        (
            timeseries(
                "ISR shrinks and expands",
                "Followers removed from (shrink) and added back to (expand) the ISR by this "
                "broker as leader, per second. Shrinks without expands: a follower is gone; "
                "both, repeatedly: a follower flapping (network, GC, disk).",
                "ops",
                [
                    Q(f"max {per} ({sc.rate(jmx.ISR_SHRINKS, B)})", "shrinks {{target}}"),
                    Q(f"max {per} ({sc.rate(jmx.ISR_EXPANDS, B)})", "expands {{target}}"),
                ],
            ),
            8,
        ),
    ]


def partitions(sc: Scope) -> Placed:
    tp = sc.by("topic", "partition")
    on_tp = "on (" + ", ".join(x for x in (sc.cluster_label, "topic", "partition") if x) + ")"
    unhealthy = " or ".join(
        f"{signals.flagged_partitions(sc, m, T)} == 1"
        for m in (
            admin.PARTITION_UNDER_REPLICATED,
            admin.PARTITION_UNDER_MIN_ISR,
            admin.PARTITION_OFFLINE,
        )
    )

    def only_unhealthy(metric: Metric) -> str:
        return f"max {tp} ({sc.sel(metric, T)}) and {on_tp} ({unhealthy})"

    per_topic = sc.bar("KafkaTopicUnderReplicatedPartitions", 0, step=1)
    urp = signals.flagged_partitions(sc, admin.PARTITION_UNDER_REPLICATED, T)
    return [
        (
            table(
                "Unhealthy partitions",
                "Partitions that are under-replicated, under min ISR or offline, from the "
                "cluster metadata: replicas, in-sync replicas and leader (-1: none). Empty while "
                "every partition is healthy.",
                "short",
                [
                    Q(only_unhealthy(admin.PARTITION_REPLICAS)),
                    Q(only_unhealthy(admin.PARTITION_IN_SYNC_REPLICA)),
                    Q(only_unhealthy(admin.PARTITION_LEADER)),
                ],
                rename={"Value #A": "replicas", "Value #B": "in sync", "Value #C": "leader"},
                links=[sc.runbook("KafkaTopicUnderReplicatedPartitions")],
            ),
            12,
        ),
        (
            timeseries(
                "Under-replicated partitions by topic",
                "Partitions of each topic with fewer in-sync replicas than replicas "
                "(metadata), as KafkaTopicUnderReplicatedPartitions counts them.",
                "short",
                [
                    Q(
                        f"sum {sc.by('topic')} ({urp})",
                        "{{topic}}",
                    )
                ],
                per_topic,
                links=[sc.runbook(per_topic.alert)],
            ),
            12,
        ),
    ]
