"""The Kafka vitals overview: is the cluster healthy, and are the five vitals inside their bars?

Top row: brokers, controller, offline and under-min-ISR partitions, the exporter's own health and
the firing Kafka alerts. Then the five vitals of the design (consumer lag, under-replicated
partitions, produce p99, messages in, rebalances), each as a Stat coloured by its alert's threshold
beside a TimeSeries that draws the same threshold, and a table of the firing alerts linked to their
runbooks. Every number here is the quantity the alert compares, aggregated the same way.
"""

from __future__ import annotations

from grafanalib import core as g

from bundle.cluster import signals
from bundle.config import seconds, why
from bundle.consumers.signals import consumer_lag, group_rebalances
from bundle.core.promql import num
from bundle.dashboards.common import Scope, colors
from bundle.dashboards.panels import Q, dashboard, stat, table, timeseries
from bundle.throughput import panels as throughput
from exporter.catalog import admin, jmx, own

UID = "kafka-vitals-overview"


def _health(sc: Scope) -> list[tuple[g.Panel, int]]:
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
                [Q(f"sum(max {sc.by('target')} ({sc.sel(jmx.ACTIVE_CONTROLLER)}))")],
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
        (
            stat(
                "Exporter sources up",
                "Sources of kafka-vitals that answered in the last poll (kafka_vitals_up: the "
                "Admin API and each JMX target) out of all. A dead or blind exporter looks "
                "exactly like a quiet, healthy cluster. KafkaVitalsSourceDown fires when one is 0.",
                "percentunit",
                [Q(f"avg({sc.sel(own.UP)})")],
                colors((None, "red"), (0.999, "green")),
                links=[sc.runbook("KafkaVitalsSourceDown")],
            ),
            4,
        ),
        (
            stat(
                "Alerts firing",
                "Alerts of this bundle firing now (Prometheus ALERTS). See the table below for "
                "which, with links to their runbooks.",
                "short",
                [Q(f"count({sc.alerts()}) or vector(0)")],
                colors((None, "green"), (1, "red")),
            ),
            4,
        ),
    ]


def _lag(sc: Scope) -> list[tuple[g.Panel, int]]:
    t = sc.config.consumer_lag
    bar = sc.bar("KafkaConsumerGroupLagHigh", t.messages)
    per = consumer_lag(sc)
    desc = (
        "Messages the consumer groups are behind (committed offsets, Admin API), per group and "
        f"topic as the alert sees it. {why(t, 'messages')}"
    )
    links = [sc.runbook("KafkaConsumerGroupLagHigh")]
    return [
        (
            stat(
                "Consumer lag (worst)", desc, "short", [Q(f"max({per})")], bar.steps(), links=links
            ),
            4,
        ),
        (
            timeseries(
                "Consumer lag by group and topic",
                desc,
                "short",
                [Q(per, "{{consumergroup}} / {{topic}}")],
                bar,
                links=links,
            ),
            8,
        ),
    ]


def _urp(sc: Scope) -> list[tuple[g.Panel, int]]:
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


def _rebalances(sc: Scope) -> list[tuple[g.Panel, int]]:
    t = sc.config.rebalance_rate
    value = t.per_hour * seconds(t.window) / 3600
    bar = sc.bar("KafkaConsumerGroupRebalanceStorm", value)
    per = group_rebalances(sc, t.window)
    desc = (
        f"Rebalances per consumer group in the last {t.window}, as the exporter's polls see them "
        f"(a lower bound). KafkaConsumerGroupRebalanceStorm fires above {num(value)} for "
        f"{t.for_}. {why(t, 'per_hour')}"
    )
    links = [sc.runbook("KafkaConsumerGroupRebalanceStorm")]
    return [
        (
            stat(
                f"Rebalances in {t.window} (worst group)",
                desc,
                "short",
                [Q(f"max({per})")],
                bar.steps(),
                links=links,
                decimals=0,
            ),
            4,
        ),
        (
            timeseries(
                f"Rebalances in {t.window} by group",
                desc,
                "short",
                [Q(per, "{{consumergroup}}")],
                bar,
                links=links,
            ),
            8,
        ),
    ]


def _alerts_table(sc: Scope) -> g.Panel:
    base = sc.config.common.runbook_url_base.rstrip("/")
    link = {
        "matcher": {"id": "byName", "options": "alertname"},
        "properties": [
            {
                "id": "links",
                "value": [
                    {"targetBlank": True, "title": "Runbook", "url": base + "/${__value.raw}.md"}
                ],
            }
        ],
    }
    return table(
        "Firing Kafka alerts",
        "Every alert of the kafka-vitals bundle firing now (Prometheus ALERTS series, "
        'alertstate="firing"). Click an alert name for its runbook.',
        "short",
        [Q(sc.alerts())],
        hide=["alertstate", "Value"],
        overrides=[link],
    )


def build(sc: Scope) -> g.Dashboard:
    lag, urp = _lag(sc), _urp(sc)
    return dashboard(
        UID,
        "Kafka vitals / Overview",
        "The five Kafka vitals against their alert thresholds, cluster health and firing alerts.",
        sc,
        [
            "Cluster health",
            (4, _health(sc)),
            "Vitals: consumers and replication",
            (8, [*lag, *urp]),
            "Vitals: producers",
            (8, [*throughput.produce_vital(sc), *throughput.messages_in_vital(sc)]),
            "Vitals: rebalances, and what is firing",
            (8, [*_rebalances(sc), (_alerts_table(sc), 12)]),
        ],
    )
