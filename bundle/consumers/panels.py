"""Consumer-group panels about activity rather than lag: state and members (idle consumers,
partition headroom), committed against produced offsets, rebalances (Admin API and client JMX),
and dead-letter topics. Part of the consumer groups dashboard (`bundle.dashboards.consumer_groups`).
"""

from __future__ import annotations

from grafanalib import core as g

from bundle.config import seconds, why
from bundle.consumers import signals
from bundle.core.promql import num
from bundle.dashboards.common import Scope, coded
from bundle.dashboards.panels import Q, table, timeline, timeseries, value_names
from exporter.catalog import admin, jmx, lessons

G = 'consumergroup=~"$consumergroup"'
T = 'topic=~"$topic"'
Placed = list[tuple[g.Panel, int]]

GROUP_STATES: dict[str, tuple[int, str]] = {
    "Stable": (0, "green"),
    "Empty": (1, "blue"),
    "PreparingRebalance": (2, "orange"),
    "CompletingRebalance": (3, "orange"),
    "Assigning": (4, "orange"),
    "Reconciling": (5, "orange"),
    "Dead": (6, "red"),
    "Unknown": (7, "gray"),
}
"""Group states (kafka_consumergroup_state) as codes for the state timeline."""


def membership(sc: Scope) -> tuple[Placed, Placed]:
    gt = sc.by("consumergroup", "topic")
    members = f"max {gt} ({sc.sel(lessons.GROUP_TOPIC_MEMBERS, G, T)})"
    on_topic = "on (" + ", ".join(x for x in (sc.cluster_label, "topic") if x) + ")"
    partitions = (
        f"{members} * 0\n  + {on_topic} group_left "
        f"max {sc.by('topic')} ({sc.sel(admin.TOPIC_PARTITIONS, T)})"
    )
    return [
        (
            timeline(
                "Group state",
                "Each group's state over time (Admin API). Rebalancing states in orange: the group "
                "consumes nothing then. KafkaConsumerGroupRebalanceStuck fires on a group seen "
                f"rebalancing at every evaluation for {sc.config.rebalance_stuck.for_}.",
                [
                    Q(
                        coded(sc, admin.GROUP_STATE, "state", GROUP_STATES, ["consumergroup"], G),
                        "{{consumergroup}}",
                    )
                ],
                value_names(GROUP_STATES),
            ),
            12,
        ),
        (
            timeseries(
                "Members by group",
                "Members of each group (Admin API). Empty groups with committed offsets stay "
                "visible with 0 members.",
                "short",
                [
                    Q(
                        f"max {sc.by('consumergroup')} ({sc.sel(admin.GROUP_MEMBERS, G)})",
                        "{{consumergroup}}",
                    )
                ],
            ),
            12,
        ),
    ], [
        (
            table(
                "Members vs partitions",
                "Per group and topic: members with a partition of the topic, the topic's "
                "partitions, the planned consumers (where configured) and the headroom (partitions "
                "/ planned or current consumers). Below 1 consumers sit idle; below "
                f"{num(sc.config.partition_headroom.min_ratio)} the group cannot grow to its "
                "plan with room to spare (KafkaConsumerGroupPartitionHeadroomLow, where a plan is "
                "configured).",
                "short",
                [
                    Q(members),
                    Q(partitions),
                    Q(f"max {gt} ({sc.sel(lessons.GROUP_PLANNED_MEMBERS, G, T)})"),
                    Q(f"max {gt} ({sc.sel(lessons.GROUP_PARTITION_HEADROOM, G, T)})"),
                ],
                rename={
                    "Value #A": "members",
                    "Value #B": "partitions",
                    "Value #C": "planned",
                    "Value #D": "headroom",
                },
                overrides=[
                    {
                        "matcher": {"id": "byName", "options": "headroom"},
                        "properties": [{"id": "unit", "value": "percentunit"}],
                    }
                ],
                links=[sc.runbook("KafkaConsumerGroupPartitionHeadroomLow")],
            ),
            12,
        ),
        (
            timeseries(
                "Idle members",
                "Members of a Stable group with no partition assigned: more consumers than "
                "partitions to share. They cost a rebalance each time they join and do nothing.",
                "short",
                [
                    Q(
                        f"max {sc.by('consumergroup')} ({sc.sel(lessons.GROUP_IDLE_MEMBERS, G)})",
                        "{{consumergroup}}",
                    )
                ],
                sc.bar("KafkaConsumerGroupIdleMembers", 0, step=1),
                links=[sc.runbook("KafkaConsumerGroupIdleMembers")],
            ),
            12,
        ),
    ]


def offsets(sc: Scope) -> Placed:
    gt = sc.by("consumergroup", "topic")
    return [
        (
            timeseries(
                "Committed vs log-end offset rate",
                "Messages committed per second by each group on each topic against messages "
                "produced to the topic (log-end offsets advancing). A group below its topic's line "
                "is falling behind; flat at zero with lag, it is stalled. Offsets are gauges that "
                "only grow, so rate() applies; a reset shows as a gap.",
                "mps",
                [
                    Q(
                        f"max {gt} ({sc.offset_rate(admin.GROUP_CURRENT_OFFSET_SUM, G, T)})",
                        "committed {{consumergroup}} / {{topic}}",
                    ),
                    Q(
                        f"sum {sc.by('topic')} (max {sc.by('topic', 'partition')} "
                        f"({sc.offset_rate(admin.PARTITION_CURRENT_OFFSET, T)}))",
                        "log end {{topic}}",
                    ),
                ],
            ),
            16,
        ),
        (
            timeseries(
                "Partitions without a committed offset",
                "Partitions of a topic the group consumes that have no committed offset: they have "
                "no lag series (kafka_exporter wrote -1 there; we write nothing).",
                "short",
                [
                    Q(
                        f"max {gt} ({sc.sel(admin.GROUP_UNCOMMITTED_PARTITIONS, G, T)})",
                        "{{consumergroup}} / {{topic}}",
                    )
                ],
            ),
            8,
        ),
    ]


def rebalances(sc: Scope) -> tuple[Placed, Placed]:
    rr, rl = sc.config.rebalance_rate, sc.config.rebalance_latency
    storm = rr.per_hour * seconds(rr.window) / 3600
    tc = sc.by("target", "client_id")
    return [
        (
            timeseries(
                f"Rebalances in {rr.window} by group",
                "Rebalances seen by the exporter's polls (a lower bound). " + why(rr, "per_hour"),
                "short",
                [Q(signals.group_rebalances(sc, rr.window, G), "{{consumergroup}}")],
                sc.bar("KafkaConsumerGroupRebalanceStorm", storm),
                links=[sc.runbook("KafkaConsumerGroupRebalanceStorm")],
            ),
            8,
        ),
        (
            timeseries(
                "Time spent rebalancing",
                "Fraction of time each group was seen in a rebalancing state (PreparingRebalance, "
                "CompletingRebalance, Assigning, Reconciling): the share of time it consumed "
                "nothing. Estimated from the state at each poll.",
                "percentunit",
                [
                    Q(
                        f"max {sc.by('consumergroup')} "
                        f"({sc.rate(lessons.GROUP_REBALANCING_SECONDS, G)})",
                        "{{consumergroup}}",
                    )
                ],
                max_value=1,
            ),
            8,
        ),
        (
            table(
                "Rebalance hygiene",
                "How each group rebalances: eager assignors stop every member on every rebalance; "
                "members without group.instance.id (dynamic) rebalance the group on each restart. "
                "Eager plus dynamic plus frequent rebalances is the deploy-storm recipe.",
                "short",
                [
                    Q(
                        f"max {sc.by('consumergroup', 'protocol', 'assignor')} "
                        f"({sc.sel(lessons.GROUP_REBALANCE_PROTOCOL, G)})"
                    ),
                    Q(f"max {sc.by('consumergroup')} ({sc.sel(lessons.GROUP_DYNAMIC_MEMBERS, G)})"),
                ],
                rename={"Value #B": "dynamic members"},
                hide=["Value #A"],
                links=[sc.runbook("KafkaConsumerGroupRebalanceHygiene")],
            ),
            8,
        ),
    ], [
        (
            timeseries(
                "Client rebalance latency",
                "Average and longest rebalance of each Java consumer in its recent window (client "
                "JMX; absent while the client reports NaN). " + why(rl, "ms"),
                "ms",
                [
                    Q(
                        f"max {tc} ({sc.sel(jmx.CLIENT_REBALANCE_LATENCY_AVG)})",
                        "avg {{client_id}} @ {{target}}",
                    ),
                    Q(
                        f"max {tc} ({sc.sel(jmx.CLIENT_REBALANCE_LATENCY_MAX)})",
                        "max {{client_id}} @ {{target}}",
                    ),
                ],
                sc.bar("KafkaConsumerRebalanceSlow", rl.ms),
                links=[sc.runbook("KafkaConsumerRebalanceSlow")],
            ),
            8,
        ),
        (
            timeseries(
                "Client rebalances per hour",
                "Rebalances per hour as each Java consumer computes it (client JMX "
                "rebalance-rate-per-hour). KafkaConsumerRebalanceRateHigh fires above "
                f"{num(rr.per_hour)}.",
                "short",
                [
                    Q(
                        f"max {tc} ({sc.sel(jmx.CLIENT_REBALANCE_RATE)})",
                        "{{client_id}} @ {{target}}",
                    )
                ],
                sc.bar("KafkaConsumerRebalanceRateHigh", rr.per_hour),
                links=[sc.runbook("KafkaConsumerRebalanceRateHigh")],
            ),
            8,
        ),
        (
            timeseries(
                "Client rebalances and failures",
                f"Rebalances each Java consumer took part in, and failed ones, over {rr.window} "
                "(client JMX counters).",
                "short",
                [
                    Q(
                        f"max {tc} ({sc.increase(jmx.CLIENT_REBALANCES, rr.window)})",
                        "rebalances {{client_id}}",
                    ),
                    Q(
                        f"max {tc} ({sc.increase(jmx.CLIENT_FAILED_REBALANCES, rr.window)})",
                        "failed {{client_id}}",
                    ),
                ],
            ),
            8,
        ),
    ]


def dead_letters(sc: Scope) -> Placed:
    st = sc.by("topic", "source_topic", "kind")
    inflow = f"max {st} ({sc.rate(lessons.DEADLETTER_MESSAGES)})"
    return [
        (
            timeseries(
                "Dead-letter inflow",
                "Messages per second arriving in dead-letter (kind=dlt) and retry (kind=retry) "
                "topics (<topic>.DLT, <topic>.RETRY-N and configured patterns). Any steady inflow "
                "means messages are failing processing somewhere.",
                "mps",
                [Q(inflow, "{{topic}} ({{kind}})")],
                links=sc.runbooks_if_shipped("KafkaDeadLetterInflowSustained"),
            ),
            8,
        ),
        (
            timeseries(
                "Dead-letter depth",
                "Messages waiting in each dead-letter or retry topic: log end minus the replay "
                "group's committed offset, or minus the log start without a replay group.",
                "short",
                [
                    Q(
                        f"max {sc.by('topic', 'kind', 'replay_group')} "
                        f"({sc.sel(lessons.DEADLETTER_DEPTH)})",
                        "{{topic}}",
                    )
                ],
                links=sc.runbooks_if_shipped("KafkaDeadLetterMessages"),
            ),
            8,
        ),
        (
            timeseries(
                "Newest dead letter age",
                "Time since the exporter first saw each dead-letter topic's log end move (the "
                "newest message arrived within one poll before). Absent until a move was seen.",
                "s",
                [
                    Q(
                        f"time() - max {sc.by('topic')} "
                        f"({sc.sel(lessons.DEADLETTER_NEWEST_TIMESTAMP)})",
                        "{{topic}}",
                    )
                ],
            ),
            8,
        ),
    ]
