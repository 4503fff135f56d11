"""Brokers and partitions: replication health, request latency, throughput, thread pools; disk,
errors, the request-time breakdown and the JVM (`dashboards.broker_vitals`); and the end-to-end
probe's row (`dashboards.probe_panels`).

Per-broker JMX values are taken with `max by (target)`: Yammer percentiles cannot be summed or
averaged, and two exporter replicas must not double a count. The broker-wide throughput series
(topic="") and the per-topic ones (topic!="") share a name and are never mixed in one query.
"""

from __future__ import annotations

from grafanalib import core as g

from alerts.promql import num
from alerts.thresholds import why
from dashboards import broker_vitals, probe_panels
from dashboards.common import Scope, colors, query_variable
from dashboards.panels import Q, dashboard, stat, table, timeseries
from exporter.catalog import Metric, admin, jmx

UID = "kafka-vitals-brokers"
B = 'target=~"$broker"'
T = 'topic=~"$topic"'
BROKER_WIDE = 'topic=""'
PER_TOPIC = 'topic!=""'
QUANTILES = ("0.50", "0.99", "0.999")  # the exporter also has 0.75, 0.95 and 0.98


def _variables(sc: Scope) -> list[g.Template]:
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
    return f"sum(max {sc.by('topic', 'partition')} ({sc.sel(metric, T)})) or vector(0)"


def _health(sc: Scope) -> list[tuple[g.Panel, int]]:
    per = sc.by("target")
    urp = sc.bar("KafkaBrokerUnderReplicatedPartitions", 0, step=1)
    mi = sc.bar("KafkaBrokerUnderMinIsrPartitions", 0, step=1)
    off = sc.bar("KafkaOfflinePartitions", 0, step=1)
    ac = sc.bar("KafkaNoActiveController", 1, op="<")
    leaderless = f"({_flagged(sc, admin.PARTITION_OFFLINE)})"
    return [
        (
            stat(
                "Under-replicated",
                "Partitions with ISR < replicas, from the metadata and from the brokers. Like "
                "with like: a broker's JMX counts only the partitions it leads, so the partitions "
                "without a leader (metadata) are added to the JMX sum; the metadata counts the "
                "internal topics whatever the topic filters say. The two agree when no topic "
                "filter is set and every broker is a JMX target.",
                "short",
                [
                    Q(
                        f"sum(max {per} ({sc.sel(jmx.UNDER_REPLICATED, B)})) + {leaderless}",
                        "JMX + leaderless",
                    ),
                    Q(_flagged(sc, admin.PARTITION_UNDER_REPLICATED), "metadata"),
                ],
                urp.steps(),
                links=[sc.runbook(urp.alert)],
            ),
            4,
        ),
        (
            stat(
                "Under min ISR",
                "Partitions with ISR < min.insync.replicas: acks=all producers are refused. Like "
                "with like, as for under-replicated: the partitions without a leader (metadata) "
                "are added to the leaders' JMX sum.",
                "short",
                [
                    Q(
                        f"sum(max {per} ({sc.sel(jmx.UNDER_MIN_ISR, B)})) + {leaderless}",
                        "JMX + leaderless",
                    ),
                    Q(_flagged(sc, admin.PARTITION_UNDER_MIN_ISR), "metadata"),
                ],
                mi.steps(),
                links=[sc.runbook(mi.alert)],
            ),
            4,
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
                [Q(f"sum(max {per} ({sc.sel(jmx.ACTIVE_CONTROLLER)}))")],
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


def _replication(sc: Scope) -> list[tuple[g.Panel, int]]:
    per = sc.by("target")
    urp = sc.bar("KafkaBrokerUnderReplicatedPartitions", 0, step=1)
    mi = sc.bar("KafkaBrokerUnderMinIsrPartitions", 0, step=1)
    return [
        (
            timeseries(
                "Under-replicated partitions by broker",
                "Partitions this broker leads whose ISR is smaller than their replica set "
                "(JMX). A struggling or stopped follower shows on the other brokers. "
                + why(sc.thresholds.under_replicated, "keep_firing_for"),
                "short",
                [Q(f"max {per} ({sc.sel(jmx.UNDER_REPLICATED, B)})", "{{target}}")],
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
                [Q(f"max {per} ({sc.sel(jmx.UNDER_MIN_ISR, B)})", "{{target}}")],
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


def _partitions(sc: Scope) -> list[tuple[g.Panel, int]]:
    tp = sc.by("topic", "partition")
    on_tp = "on (" + ", ".join(x for x in (sc.cluster_label, "topic", "partition") if x) + ")"
    unhealthy = " or ".join(
        f"max {tp} ({sc.sel(m, T)}) == 1"
        for m in (
            admin.PARTITION_UNDER_REPLICATED,
            admin.PARTITION_UNDER_MIN_ISR,
            admin.PARTITION_OFFLINE,
        )
    )

    def only_unhealthy(metric: Metric) -> str:
        return f"max {tp} ({sc.sel(metric, T)}) and {on_tp} ({unhealthy})"

    per_topic = sc.bar("KafkaTopicUnderReplicatedPartitions", 0, step=1)
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
                        f"sum {sc.by('topic')} (max {tp} "
                        f"({sc.sel(admin.PARTITION_UNDER_REPLICATED, T)}))",
                        "{{topic}}",
                    )
                ],
                per_topic,
                links=[sc.runbook(per_topic.alert)],
            ),
            12,
        ),
    ]


def _latency(sc: Scope) -> list[tuple[g.Panel, int]]:
    pl = sc.thresholds.produce_latency
    q = 'quantile=~"' + "|".join(QUANTILES) + '"'
    by_q = sc.by("target", "quantile")

    def quantiles(request: str) -> str:
        request_is = 'request="' + request + '"'
        return f"max {by_q} ({sc.sel(jmx.REQUEST_TOTAL_TIME, B, request_is, q)})"

    floor = sc.bar("KafkaProduceLatencySpike", pl.floor_ms)
    note = (
        "Yammer histogram quantiles over a recent decaying window, per broker: max by "
        "broker, never averaged or summed."
    )
    return [
        (
            timeseries(
                "Produce total time",
                f"Produce request total time per broker. {note} "
                f"The line is the spike alert's floor; it also needs {num(pl.factor)}x the "
                f"broker's own {pl.baseline_window} baseline. " + why(pl, "quantile"),
                "ms",
                [Q(quantiles("Produce"), "p{{quantile}} {{target}}")],
                floor,
                links=[sc.runbook(floor.alert)],
            ),
            8,
        ),
        (
            timeseries(
                "Fetch (consumer) total time",
                f"Consumer fetch total time per broker "
                f"(includes fetch.max.wait.ms when there is nothing to read). {note}",
                "ms",
                [Q(quantiles("FetchConsumer"), "p{{quantile}} {{target}}")],
            ),
            8,
        ),
        (
            timeseries(
                "Requests per second",
                "Produce, consumer fetch and follower fetch "
                "requests per second per broker (count of the TotalTimeMs histogram).",
                "reqps",
                [
                    Q(
                        f"sum {sc.by('target', 'request')} "
                        f"({sc.rate(jmx.REQUEST_TOTAL_TIME, B, sample='_count')})",
                        "{{request}} {{target}}",
                    )
                ],
            ),
            8,
        ),
    ]


def _throughput(sc: Scope) -> list[tuple[g.Panel, int]]:
    per_broker = sc.by("target")
    per_topic = sc.by("topic")

    def broker(metric: Metric) -> str:
        return f"sum {per_broker} ({sc.rate(metric, B, BROKER_WIDE)})"

    def topic(metric: Metric) -> str:
        return f"sum {per_topic} ({sc.rate(metric, PER_TOPIC, T)})"

    return [
        (
            timeseries(
                "Messages in by broker",
                'Messages appended per second on each broker (broker-wide series, topic="").',
                "mps",
                [Q(broker(jmx.MESSAGES_IN), "{{target}}")],
                links=[sc.runbook("KafkaClusterMessagesInDropped")],
            ),
            6,
        ),
        (
            timeseries(
                "Messages in by topic",
                "Messages appended per second to each topic, "
                'summed over the brokers leading its partitions (topic!="").',
                "mps",
                [Q(topic(jmx.MESSAGES_IN), "{{topic}}")],
                links=[sc.runbook("KafkaTopicMessagesInDropped")],
            ),
            6,
        ),
        (
            timeseries(
                "Bytes in and out by broker",
                "Bytes per second from producers (in) and to "
                "consumers and followers (out), broker-wide series.",
                "Bps",
                [
                    Q(broker(jmx.BYTES_IN), "in {{target}}"),
                    Q(broker(jmx.BYTES_OUT), "out {{target}}"),
                ],
            ),
            6,
        ),
        (
            timeseries(
                "Bytes in and out by topic",
                'Bytes per second per topic (topic!=""), summed over brokers.',
                "Bps",
                [Q(topic(jmx.BYTES_IN), "in {{topic}}"), Q(topic(jmx.BYTES_OUT), "out {{topic}}")],
            ),
            6,
        ),
    ]


def _threads(sc: Scope) -> list[tuple[g.Panel, int]]:
    per = sc.by("target")
    return [
        (
            timeseries(
                "Request handler idle",
                "Fraction of time the request handler threads were "
                "idle (one-minute rate). Below 0.3 the broker starts queueing requests. On a "
                "combined broker+controller node Kafka counts both handler pools, so it can "
                "reach 2.",
                "percentunit",
                [Q(f"max {per} ({sc.sel(jmx.REQUEST_HANDLER_IDLE, B)})", "{{target}}")],
            ),
            12,
        ),
        (
            timeseries(
                "Network processor idle",
                "Fraction of time the network processor threads "
                "were idle. Below 0.3 the broker cannot read requests fast enough.",
                "percentunit",
                [Q(f"max {per} ({sc.sel(jmx.NETWORK_PROCESSOR_IDLE, B)})", "{{target}}")],
                max_value=1,
            ),
            12,
        ),
    ]


def build(sc: Scope) -> g.Dashboard:
    return dashboard(
        UID,
        "Kafka vitals / Brokers and partitions",
        "Replication, partitions, request latency, throughput, thread pools, disk, errors, the "
        "request-time breakdown, the JVM and the end-to-end probe per broker.",
        sc,
        [
            "Replication health",
            (4, _health(sc)),
            (8, _replication(sc)),
            (8, _partitions(sc)),
            "Request latency",
            (8, _latency(sc)),
            "Throughput",
            (8, _throughput(sc)),
            "Thread pools",
            (7, _threads(sc)),
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
        extra_variables=_variables(sc),
    )
