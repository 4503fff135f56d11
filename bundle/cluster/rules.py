"""Cluster alerts: replication health, controller, broker count.

Replication signals come twice: from broker JMX (one number per broker, `max by` broker) and from
the Admin API metadata (per partition, counted per topic after de-duplicating exporter replicas).
Yammer quantiles are taken with `max`, never averaged. The broker-wide MessagesIn series
(topic="") and the per-topic ones (topic!="") share a name and are never mixed.
"""

from __future__ import annotations

from bundle.cluster import signals
from bundle.config import BundleConfig
from bundle.core.model import Alert, Group
from bundle.core.promql import by, label, on, sel
from bundle.core.query import RuleQuery
from exporter.catalog import Metric, admin, jmx, own


def _per_topic(t: BundleConfig, metric: Metric) -> str:
    """Partitions flagged 1 in a per-partition 0/1 family, counted per topic."""
    q = RuleQuery.of(t)
    return f"sum {q.by('topic')} ({signals.flagged_partitions(q, metric)}) > 0"


def _per_broker(t: BundleConfig, metric: Metric) -> str:
    return f"{signals.per_broker(RuleQuery.of(t), metric)} > 0"


def _controllers(t: BundleConfig) -> str:
    """Active controllers summed over brokers, unless a broker's JMX target is not answering.

    A failing target drops its series, so its count would be missing from the sum and a healthy
    cluster would read 0. Roles are not labelled: a target is a broker if it served the controller
    gauge within the window; a down target that answered nothing within it may be one too. A target
    counts as down only when no exporter replica reads it.
    """
    s, c, w = t.common.selector, t.common.cluster_label, t.active_controller.window
    per_target = f"max {by(c, 'target')}"
    jmx_up = 'source="jmx"'
    return (
        f"sum {by(c)} ({per_target} ({sel(jmx.ACTIVE_CONTROLLER, s)})) != 1\n"
        f"unless {on(c)}\n"
        "  (\n"
        f"    {per_target} ({sel(own.UP, s, jmx_up)}) == 0\n"
        f"    and {on(c, 'target')}\n"
        "      (\n"
        f"        {per_target} (present_over_time({sel(jmx.ACTIVE_CONTROLLER, s, range_=w)}))\n"
        "        or\n"
        f"        {per_target} (max_over_time({sel(own.UP, s, jmx_up, range_=w)})) == 0\n"
        "      )\n"
        "  )"
    )


def _replication(t: BundleConfig) -> tuple[Alert, ...]:
    s, c = t.common.selector, t.common.cluster_label
    ur, mi, op = t.under_replicated, t.under_min_isr, t.offline_partitions
    ac, bc = t.active_controller, t.broker_count
    topic, broker = label("topic"), label("target")
    return (
        Alert(
            name="KafkaBrokerUnderReplicatedPartitions",
            expr=_per_broker(t, jmx.UNDER_REPLICATED),
            for_=ur.for_,
            keep_firing_for=ur.keep_firing_for,
            severity=ur.severity,
            summary="Broker leads under-replicated partitions.",
            description=(
                f"Broker {broker} leads {{{{ $value }}}} partitions whose ISR is smaller than "
                "their replica set (broker JMX UnderReplicatedPartitions)."
            ),
            section="under_replicated",
            source="broker JMX",
        ),
        Alert(
            name="KafkaTopicUnderReplicatedPartitions",
            expr=_per_topic(t, admin.PARTITION_UNDER_REPLICATED),
            for_=ur.for_,
            keep_firing_for=ur.keep_firing_for,
            severity=ur.severity,
            summary="Topic has under-replicated partitions.",
            description=(
                f"Topic {topic} has {{{{ $value }}}} partitions with fewer in-sync replicas than "
                "replicas (cluster metadata)."
            ),
            section="under_replicated",
            source="Admin API",
        ),
        Alert(
            name="KafkaBrokerUnderMinIsrPartitions",
            expr=_per_broker(t, jmx.UNDER_MIN_ISR),
            for_=mi.for_,
            keep_firing_for=mi.keep_firing_for,
            severity=mi.severity,
            summary="Broker leads partitions below min.insync.replicas.",
            description=(
                f"Broker {broker} leads {{{{ $value }}}} partitions with fewer in-sync replicas "
                "than min.insync.replicas; producers with acks=all are refused on them."
            ),
            section="under_min_isr",
            source="broker JMX",
        ),
        Alert(
            name="KafkaTopicUnderMinIsrPartitions",
            expr=_per_topic(t, admin.PARTITION_UNDER_MIN_ISR),
            for_=mi.for_,
            keep_firing_for=mi.keep_firing_for,
            severity=mi.severity,
            summary="Topic has partitions below min.insync.replicas.",
            description=(
                f"Topic {topic} has {{{{ $value }}}} partitions below its min.insync.replicas; "
                "producers with acks=all are refused on them."
            ),
            section="under_min_isr",
            source="Admin API",
        ),
        Alert(
            name="KafkaOfflinePartitions",
            expr=f"max {by(c)} ({sel(jmx.OFFLINE_PARTITIONS, s)}) > 0",
            for_=op.for_,
            keep_firing_for=op.keep_firing_for,
            severity=op.severity,
            summary="The controller reports partitions without a leader.",
            description=(
                "The active controller reports {{ $value }} offline partitions: nobody can "
                "produce to or consume from them (broker JMX OfflinePartitionsCount)."
            ),
            section="offline_partitions",
            source="broker JMX",
        ),
        Alert(
            name="KafkaTopicOfflinePartitions",
            expr=_per_topic(t, admin.PARTITION_OFFLINE),
            for_=op.for_,
            keep_firing_for=op.keep_firing_for,
            severity=op.severity,
            summary="Topic has partitions without a leader.",
            description=(
                f"Topic {topic} has {{{{ $value }}}} partitions without a leader "
                "(cluster metadata)."
            ),
            section="offline_partitions",
            source="Admin API",
        ),
        Alert(
            name="KafkaNoActiveController",
            expr=_controllers(t),
            for_=ac.for_,
            keep_firing_for=ac.keep_firing_for,
            severity=ac.severity,
            summary="The cluster does not have exactly one active controller.",
            description=(
                "The brokers report {{ $value }} active controllers while every broker's JMX "
                "answers (must be exactly 1; 0 means none is elected, 2 a split brain)."
            ),
            section="active_controller",
            source="broker JMX",
        ),
        Alert(
            name="KafkaBrokerCountDropped",
            expr=(
                f"max {by(c)} ({sel(admin.BROKERS, s)})\n"
                f"  < max {by(c)} (max_over_time({sel(admin.BROKERS, s, range_=bc.window)}))"
            ),
            for_=bc.for_,
            keep_firing_for=bc.keep_firing_for,
            severity=bc.severity,
            summary=f"Fewer brokers than at any time in the last {bc.window}.",
            description=(
                "The cluster metadata lists {{ $value }} brokers, fewer than the most seen in "
                f"the last {bc.window}: a broker is down or was removed."
            ),
            section="broker_count",
            source="Admin API",
        ),
    )


def groups(t: BundleConfig) -> tuple[Group, ...]:
    return (Group("replication", _replication(t)),)
