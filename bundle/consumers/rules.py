"""Consumer alerts: lag in messages and seconds, stalled groups, and rebalance behaviour.

Per-entity gauges are aggregated with `max by` (never `sum`), so two exporter replicas scraped
under the same job do not double a value; counters only ever appear inside `increase()`.
"""

from __future__ import annotations

from bundle.config import BundleConfig, seconds
from bundle.consumers.signals import consumer_lag, group_rebalances
from bundle.core.model import Alert, Group
from bundle.core.promql import by, label, num, on, sel
from bundle.core.query import RuleQuery
from exporter.catalog import admin, jmx
from exporter.domain.groups import REBALANCING_STATES

"""Group states in which the group consumes nothing while partitions are (re)assigned."""


def _lag(t: BundleConfig) -> tuple[Alert, ...]:
    s, c, lag = t.common.selector, t.common.cluster_label, t.consumer_lag
    committed = Alert(
        name="KafkaConsumerGroupLagHigh",
        expr=(f"{consumer_lag(RuleQuery(s, c))}\n  > {num(lag.messages)}"),
        for_=lag.for_,
        keep_firing_for=lag.keep_firing_for,
        severity=lag.severity,
        summary=f"Consumer group lag above {num(lag.messages)} messages for {lag.for_}.",
        description=(
            f"Consumer group {label('consumergroup')} is {{{{ $value | humanize }}}} messages "
            f"behind on topic {label('topic')} (committed offsets, Admin API)."
        ),
        section="consumer_lag",
        source="Admin API",
    )
    client = Alert(
        name="KafkaConsumerRecordsLagHigh",
        expr=(
            f"max {by(c, 'target', 'client_id')} ({sel(jmx.CLIENT_RECORDS_LAG_MAX, s)})\n"
            f"  > {num(lag.messages)}"
        ),
        for_=lag.for_,
        keep_firing_for=lag.keep_firing_for,
        severity=lag.severity,
        summary=f"Consumer records-lag-max above {num(lag.messages)} messages for {lag.for_}.",
        description=(
            f"Consumer client {label('client_id')} on {label('target')} reports records-lag-max "
            "{{ $value | humanize }} (client JMX)."
        ),
        section="consumer_lag",
        source="client JMX",
    )
    seconds = Alert(
        name="KafkaConsumerGroupLagSecondsHigh",
        expr=(
            f"max {by(c, 'consumergroup')} ({sel(admin.GROUP_LAG_SECONDS_MAX, s)})\n"
            f"  > {num(t.lag_seconds.seconds)}"
        ),
        for_=t.lag_seconds.for_,
        keep_firing_for=t.lag_seconds.keep_firing_for,
        severity=t.lag_seconds.severity,
        summary=(
            f"Consumer group lag above {num(t.lag_seconds.seconds)} seconds for "
            f"{t.lag_seconds.for_}."
        ),
        description=(
            f"Consumer group {label('consumergroup')} is {{{{ $value | humanizeDuration }}}} "
            "behind the log end on its slowest partition."
        ),
        section="lag_seconds",
        source="Admin API",
    )
    st = t.stalled
    stalled = Alert(
        name="KafkaConsumerGroupStalled",
        expr=(
            f"{consumer_lag(RuleQuery(s, c))} > 0\n"
            f"and max {by(c, 'consumergroup', 'topic')} "
            f"(changes({sel(admin.GROUP_CURRENT_OFFSET_SUM, s, range_=st.window)})) == 0\n"
            f"and {on(c, 'consumergroup')} "
            f"max {by(c, 'consumergroup')} ({sel(admin.GROUP_MEMBERS, s)}) > 0"
        ),
        for_=st.for_,
        keep_firing_for=st.keep_firing_for,
        severity=st.severity,
        summary=(
            f"Consumer group has members and lag but committed nothing for {st.window} "
            f"(+{st.for_})."
        ),
        description=(
            f"Consumer group {label('consumergroup')} has members and {{{{ $value | humanize }}}} "
            f"messages of lag on topic {label('topic')}, but its committed offset has not moved "
            f"for {st.window}."
        ),
        section="stalled",
        source="Admin API",
    )
    pe = t.offset_past_log_end
    past_end = Alert(
        name="KafkaConsumerGroupOffsetPastLogEnd",
        expr=(
            f"max {by(c, 'consumergroup', 'topic')} "
            f"({sel(admin.GROUP_PARTITIONS_PAST_LOG_END, s)}) > 0"
        ),
        for_=pe.for_,
        keep_firing_for=pe.keep_firing_for,
        severity=pe.severity,
        summary=f"Consumer group committed offset past the log end for {pe.for_}.",
        description=(
            f"Consumer group {label('consumergroup')} has a committed offset past the log end on "
            f"{{{{ $value }}}} partitions of topic {label('topic')}: its next fetch resets by "
            "auto.offset.reset (messages skipped or read twice)."
        ),
        section="offset_past_log_end",
        source="Admin API",
    )
    return committed, client, seconds, stalled, past_end


def _rebalances(t: BundleConfig) -> tuple[Alert, ...]:
    s, c = t.common.selector, t.common.cluster_label
    rr, rl, rs = t.rebalance_rate, t.rebalance_latency, t.rebalance_stuck
    storm = Alert(
        name="KafkaConsumerGroupRebalanceStorm",
        expr=(
            f"{group_rebalances(RuleQuery.of(t), rr.window)}\n"
            f"  > {num(rr.per_hour * seconds(rr.window) / 3600)}"
        ),
        for_=rr.for_,
        keep_firing_for=rr.keep_firing_for,
        severity=rr.severity,
        summary=f"Consumer group rebalanced more than {num(rr.per_hour)} times an hour.",
        description=(
            f"Consumer group {label('consumergroup')} rebalanced about {{{{ $value | humanize }}}} "
            f"times in the last {rr.window} (seen by the exporter's polls; a lower bound)."
        ),
        section="rebalance_rate",
        source="Admin API",
    )
    client_rate = Alert(
        name="KafkaConsumerRebalanceRateHigh",
        expr=(
            f"max {by(c, 'target', 'client_id')} ({sel(jmx.CLIENT_REBALANCE_RATE, s)})\n"
            f"  > {num(rr.per_hour)}"
        ),
        for_=rr.for_,
        keep_firing_for=rr.keep_firing_for,
        severity=rr.severity,
        summary=f"Consumer client rebalances more than {num(rr.per_hour)} times an hour.",
        description=(
            f"Consumer client {label('client_id')} on {label('target')} reports "
            "{{ $value | humanize }} rebalances per hour (client JMX)."
        ),
        section="rebalance_rate",
        source="client JMX",
    )
    slow = Alert(
        name="KafkaConsumerRebalanceSlow",
        expr=(
            f"max {by(c, 'target', 'client_id')} ({sel(jmx.CLIENT_REBALANCE_LATENCY_AVG, s)})\n"
            f"  > {num(rl.ms)}"
        ),
        for_=rl.for_,
        keep_firing_for=rl.keep_firing_for,
        severity=rl.severity,
        summary=f"Consumer rebalances take longer than {num(rl.ms)} ms on average.",
        description=(
            f"Consumer client {label('client_id')} on {label('target')} averages "
            "{{ $value | humanize }} ms per rebalance (client JMX rebalance-latency-avg)."
        ),
        section="rebalance_latency",
        source="client JMX",
    )
    rebalancing = 'state=~"' + "|".join(REBALANCING_STATES) + '"'
    stuck = Alert(
        name="KafkaConsumerGroupRebalanceStuck",
        expr=(f"max {by(c, 'consumergroup')} ({sel(admin.GROUP_STATE, s, rebalancing)}) > 0"),
        for_=rs.for_,
        keep_firing_for=rs.keep_firing_for,
        severity=rs.severity,
        summary=f"Consumer group seen rebalancing at every poll for {rs.for_}.",
        description=(
            f"Consumer group {label('consumergroup')} has been in a rebalancing state "
            f"({', '.join(REBALANCING_STATES)}) at every evaluation for {rs.for_}."
        ),
        section="rebalance_stuck",
        source="Admin API",
    )
    return storm, client_rate, slow, stuck


def groups(t: BundleConfig) -> tuple[Group, ...]:
    return Group("consumers", _lag(t)), Group("rebalances", _rebalances(t))
