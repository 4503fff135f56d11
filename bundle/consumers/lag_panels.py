"""Consumer-group panels about lag: the overview's consumer vitals (lag and rebalances against
their alerts' bars), and the consumer groups dashboard's summary, lag (messages, seconds, per
partition, the Java clients' records-lag-max), lag status and commits, with the dashboard's
`consumergroup` and `topic` variables. The rest of that dashboard is in `bundle.consumers.panels`.
"""

from __future__ import annotations

from grafanalib import core as g

from bundle.config import seconds, why
from bundle.consumers.panels import G, Placed, T
from bundle.consumers.signals import consumer_lag, group_rebalances
from bundle.core.promql import num
from bundle.dashboards.common import Scope, coded, colors, query_variable
from bundle.dashboards.panels import Q, stat, table, timeline, timeseries, value_names
from exporter.catalog import admin, jmx, lessons

NOT_OK = 'status!="OK"'
NOT_STABLE = 'state!="Stable"'

LAG_STATUSES: dict[str, tuple[int, str]] = {
    "OK": (0, "green"),
    "UNKNOWN": (1, "gray"),
    "WARN": (2, "yellow"),
    "REWIND": (3, "purple"),
    "STOP": (4, "orange"),
    "STALL": (5, "red"),
    "PAST_END": (6, "dark-red"),
}
"""Lag statuses (kafka_consumergroup_status), worse ones with higher codes."""


def variables(sc: Scope) -> list[g.Template]:
    scope = ", ".join(sc.matchers)
    return [
        query_variable(
            "consumergroup",
            "Consumer group",
            f"label_values({admin.GROUP_STATE.name}{{{scope}}}, consumergroup)",
        ),
        query_variable(
            "topic",
            "Topic",
            f"label_values({admin.GROUP_LAG_SUM.name}{{{scope}, {G}}}, topic)",
        ),
    ]


def summary(sc: Scope) -> Placed:
    per_group = sc.by("consumergroup")  # once per group, whichever instance serves it
    lag, secs = sc.config.consumer_lag, sc.config.lag_seconds
    idle = sc.sel(lessons.GROUP_IDLE_MEMBERS, G)
    return [
        (
            stat(
                "Groups",
                "Consumer groups selected, and how many of them are not Stable (rebalancing, Empty "
                "or Dead).",
                "short",
                [
                    Q(
                        f"count(max {per_group} ({sc.sel(admin.GROUP_STATE, G)}))",
                        "groups",
                    ),
                    Q(
                        f"count(max {per_group} ({sc.sel(admin.GROUP_STATE, G, NOT_STABLE)})) "
                        "or vector(0)",
                        "not Stable",
                    ),
                ],
                colors((None, "blue")),
            ),
            6,
        ),
        (
            stat(
                "Worst lag",
                "The largest lag of any selected group on any topic, in messages. "
                + why(lag, "for_"),
                "short",
                [Q(f"max({consumer_lag(sc, G, T)})")],
                sc.bar("KafkaConsumerGroupLagHigh", lag.messages).steps(),
                links=[sc.runbook("KafkaConsumerGroupLagHigh")],
            ),
            6,
        ),
        (
            stat(
                "Worst lag in seconds",
                "The oldest unconsumed message of any selected group, in seconds of log time.",
                "s",
                [Q(f"max({sc.sel(admin.GROUP_LAG_SECONDS_MAX, G)})")],
                sc.bar("KafkaConsumerGroupLagSecondsHigh", secs.seconds).steps(),
                links=[sc.runbook("KafkaConsumerGroupLagSecondsHigh")],
            ),
            6,
        ),
        (
            stat(
                "Idle members (all groups)",
                "Members with no partition, summed over the selected Stable groups: consumers "
                "beyond the partition count do nothing but take part in rebalances.",
                "short",
                [Q(f"sum(max {sc.by('consumergroup')} ({idle})) or vector(0)")],
                colors((None, "green"), (1, "orange")),
            ),
            6,
        ),
    ]


def lag_rows(sc: Scope) -> tuple[Placed, Placed]:
    lag, secs = sc.config.consumer_lag, sc.config.lag_seconds
    per = consumer_lag(sc, G, T)
    gtp = sc.by("consumergroup", "topic", "partition")
    return [
        (
            timeseries(
                "Lag by group and topic",
                "Messages behind, summed over the topic's partitions that have a committed offset "
                "(Admin API; like kafka-consumer-groups --describe, never -1 or negative). "
                + why(lag, "messages"),
                "short",
                [Q(per, "{{consumergroup}} / {{topic}}")],
                sc.bar("KafkaConsumerGroupLagHigh", lag.messages),
                links=[sc.runbook("KafkaConsumerGroupLagHigh")],
            ),
            12,
        ),
        (
            timeseries(
                "Lag in seconds by group",
                "How long ago the log end was at the committed offset, on the group's slowest "
                "partition: interpolated from the log-end offsets of recent polls, extrapolation "
                "capped. Means the same on busy and quiet topics. " + why(secs, "seconds"),
                "s",
                [
                    Q(
                        f"max {sc.by('consumergroup')} ({sc.sel(admin.GROUP_LAG_SECONDS_MAX, G)})",
                        "{{consumergroup}}",
                    )
                ],
                sc.bar("KafkaConsumerGroupLagSecondsHigh", secs.seconds),
                links=[sc.runbook("KafkaConsumerGroupLagSecondsHigh")],
            ),
            12,
        ),
    ], [
        (
            table(
                "Lag by partition",
                "Per partition with a committed offset: lag in messages and seconds, and the "
                "committed offset. Partitions without a committed offset have no row; see "
                "'Partitions without a committed offset'.",
                "short",
                [
                    Q(f"max {gtp} ({sc.sel(admin.GROUP_LAG, G, T)})"),
                    Q(f"max {gtp} ({sc.sel(admin.GROUP_LAG_SECONDS, G, T)})"),
                    Q(f"max {gtp} ({sc.sel(admin.GROUP_CURRENT_OFFSET, G, T)})"),
                ],
                rename={
                    "Value #A": "lag",
                    "Value #B": "lag seconds",
                    "Value #C": "committed offset",
                },
                overrides=[
                    {
                        "matcher": {"id": "byName", "options": "lag seconds"},
                        "properties": [{"id": "unit", "value": "s"}],
                    },
                    {
                        "matcher": {"id": "byName", "options": "committed offset"},
                        "properties": [{"id": "unit", "value": "none"}],
                    },
                ],
            ),
            12,
        ),
        (
            timeseries(
                "Client records-lag-max",
                "The Java consumer's own view (client JMX records-lag-max): the largest lag over "
                "its assigned partitions in its recent window. Absent while the client has no "
                "samples (it reports NaN). Keyed by client id: not filtered by the group variable. "
                + why(lag, "for_"),
                "short",
                [
                    Q(
                        f"max {sc.by('target', 'client_id')} "
                        f"({sc.sel(jmx.CLIENT_RECORDS_LAG_MAX)})",
                        "{{client_id}} @ {{target}}",
                    )
                ],
                sc.bar("KafkaConsumerRecordsLagHigh", lag.messages),
                links=[sc.runbook("KafkaConsumerRecordsLagHigh")],
            ),
            12,
        ),
    ]


def status(sc: Scope) -> Placed:
    st = sc.config.stalled
    return [
        (
            timeline(
                "Lag status by group",
                "Burrow-style lag status of each group, judged over a window of recent polls: OK, "
                "WARN (lag grew every poll while committing), STALL (committed offset stuck with "
                "lag and an owner), STOP (stuck, no owner), REWIND (offset went back), PAST_END "
                "(committed offset past the log end: the group will reset), UNKNOWN (too few "
                "polls). KafkaConsumerGroupStalled fires on a group with members and lag "
                f"that committed nothing for {st.window}. " + why(st, "window"),
                [
                    Q(
                        coded(
                            sc, lessons.GROUP_STATUS, "status", LAG_STATUSES, ["consumergroup"], G
                        ),
                        "{{consumergroup}}",
                    )
                ],
                value_names(LAG_STATUSES),
            ),
            12,
        ),
        (
            table(
                "Partitions not OK",
                "Partitions whose lag status is not OK, with the status.",
                "none",
                [
                    Q(
                        f"max {sc.by('consumergroup', 'topic', 'partition', 'status')} "
                        f"({sc.sel(lessons.PARTITION_STATUS, G, T, NOT_OK)})"
                    )
                ],
                rename={"Value": "flag"},
                links=[
                    sc.runbook("KafkaConsumerGroupStalled"),
                    sc.runbook("KafkaConsumerPartitionsStalled"),
                    sc.runbook("KafkaConsumerGroupStopped"),
                    sc.runbook("KafkaConsumerGroupFallingBehind"),
                ],
            ),
            12,
        ),
    ]


def commits(sc: Scope) -> Placed:
    stalest = f"min {sc.by('consumergroup', 'topic')} ({sc.sel(admin.GROUP_LAST_COMMIT, G, T)})"
    return [
        (
            timeseries(
                "Time since the last commit",
                "Per group and topic, the time since the group last committed on its stalest "
                "partition, from the commit records of __consumer_offsets (only with "
                "committed_offsets.source log, or auto reading the log). A group that stops "
                "committing while its lag still looks small shows here first; a group that "
                "commits only when it has read something commits rarely on a quiet topic.",
                "s",
                [Q(f"time() - {stalest}", "{{consumergroup}} / {{topic}}")],
            ),
            24,
        )
    ]


def lag_vital(sc: Scope) -> Placed:
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


def rebalance_vital(sc: Scope) -> Placed:
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
