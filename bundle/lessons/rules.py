"""Alerts on the lessons families: dead letters, idle consumers, headroom, hygiene, lag status.

None of these needs a lag threshold. Per-entity gauges are aggregated with `max by` (two exporter
replicas under one job must not double a value); counters appear only inside increase()/rate().
The whole-group stall is `KafkaConsumerGroupStalled` (`bundle.consumers`); this module adds the
partial stall that a topic-level sum cannot see: some partitions stuck while the others flow.
"""

from __future__ import annotations

from bundle.config import BundleConfig
from bundle.core.model import Alert, Group
from bundle.core.promql import by, label, num, on, sel
from exporter.catalog import admin
from exporter.catalog import lessons as cat

_DLT = 'kind="dlt"'
_EAGER = 'protocol="eager"'


def _is(name: str) -> str:
    return f'status="{name}"'


def _dead_letters(t: BundleConfig) -> tuple[Alert, ...]:
    s, c = t.common.selector, t.common.cluster_label
    dm, di = t.dead_letter_messages, t.dead_letter_inflow
    keys = by(c, "topic", "source_topic")
    messages = Alert(
        name="KafkaDeadLetterMessages",
        expr=(
            f"max {keys} (increase({sel(cat.DEADLETTER_MESSAGES, s, _DLT, range_=dm.window)}))"
            "\n  > 0"
        ),
        for_=dm.for_,
        keep_firing_for=dm.keep_firing_for,
        severity=dm.severity,
        summary=f"A dead-letter topic received messages in the last {dm.window}.",
        description=(
            f"Dead-letter topic {label('topic')} (source topic {label('source_topic')}) received "
            f"about {{{{ $value | humanize }}}} messages in the last {dm.window}: their "
            "processing failed for good."
        ),
        section="dead_letter_messages",
        source="Admin API",
    )
    inflow = Alert(
        name="KafkaDeadLetterInflowSustained",
        expr=(
            f"max {keys} (rate({sel(cat.DEADLETTER_MESSAGES, s, _DLT, range_=di.window)}))"
            f"\n  > {num(di.rate)}"
        ),
        for_=di.for_,
        keep_firing_for=di.keep_firing_for,
        severity=di.severity,
        summary=f"A dead-letter topic has received messages without pause for {di.for_}.",
        description=(
            f"Dead-letter topic {label('topic')} (source topic {label('source_topic')}) receives "
            "{{ $value | humanize }} messages/s and has for every "
            f"{di.window} of the last {di.for_}: the consumer fails on a stream of messages."
        ),
        section="dead_letter_inflow",
        source="Admin API",
    )
    return messages, inflow


def _headroom(t: BundleConfig) -> tuple[Alert, ...]:
    s, c = t.common.selector, t.common.cluster_label
    ic, ph = t.idle_consumers, t.partition_headroom
    idle = Alert(
        name="KafkaConsumerGroupIdleMembers",
        expr=f"max {by(c, 'consumergroup')} ({sel(cat.GROUP_IDLE_MEMBERS, s)}) > 0",
        for_=ic.for_,
        keep_firing_for=ic.keep_firing_for,
        severity=ic.severity,
        summary=f"Consumer group members have had no partition for {ic.for_}.",
        description=(
            f"Consumer group {label('consumergroup')} has {{{{ $value }}}} members without any "
            "partition: it has more members than its topics have partitions."
        ),
        section="idle_consumers",
        source="Admin API",
    )
    keys = by(c, "consumergroup", "topic")
    low = Alert(
        name="KafkaConsumerGroupPartitionHeadroomLow",
        expr=(
            f"min {keys} ({sel(cat.GROUP_PARTITION_HEADROOM, s)}) < {num(ph.min_ratio)}\n"
            f"and {on(c, 'consumergroup', 'topic')} "
            f"max {keys} ({sel(cat.GROUP_PLANNED_MEMBERS, s)}) > 0"
        ),
        for_=ph.for_,
        keep_firing_for=ph.keep_firing_for,
        severity=ph.severity,
        summary=(
            f"A topic has fewer than {num(ph.min_ratio)} partitions per planned consumer "
            "of a group."
        ),
        description=(
            f"Topic {label('topic')} has {{{{ $value }}}} partitions per consumer that "
            f"group {label('consumergroup')} is planned to run; it needs {num(ph.min_ratio)} "
            "to scale to its plan with room to spare."
        ),
        section="partition_headroom",
        source="Admin API",
    )
    return idle, low


def _hygiene(t: BundleConfig) -> Alert:
    s, c, h = t.common.selector, t.common.cluster_label, t.rebalance_hygiene
    g = by(c, "consumergroup")
    return Alert(
        name="KafkaConsumerGroupRebalanceHygiene",
        expr=(
            f"max {g} (increase({sel(admin.GROUP_REBALANCES, s, range_=h.window)}))"
            f" > {num(h.rebalances)}\n"
            f"and {on(c, 'consumergroup')} max {g} ({sel(cat.GROUP_DYNAMIC_MEMBERS, s)}) > 0\n"
            f"and {on(c, 'consumergroup')} "
            f"max {g} ({sel(cat.GROUP_REBALANCE_PROTOCOL, s, _EAGER)})"
        ),
        for_=h.for_,
        keep_firing_for=h.keep_firing_for,
        severity=h.severity,
        summary=(
            f"A group with an eager assignor and dynamic members rebalanced more than "
            f"{num(h.rebalances)} times in {h.window}."
        ),
        description=(
            f"Consumer group {label('consumergroup')} rebalanced about {{{{ $value | humanize }}}} "
            f"times in {h.window}, uses an eager assignor (every rebalance stops every member) and "
            "has members without group.instance.id (every restart rebalances). Fix: set "
            "group.instance.id per consumer instance (static membership) and use "
            "partition.assignment.strategy=cooperative-sticky, or group.protocol=consumer on "
            "Kafka 4."
        ),
        section="rebalance_hygiene",
        source="Admin API",
    )


def _status(t: BundleConfig) -> tuple[Alert, ...]:
    s, c = t.common.selector, t.common.cluster_label
    cs, fb, ps = t.consumer_stopped, t.consumer_falling_behind, t.partitions_stalled
    g = by(c, "consumergroup")
    stopped = Alert(
        name="KafkaConsumerGroupStopped",
        expr=f"max {g} ({sel(cat.GROUP_STATUS, s, _is('STOP'))}) == 1",
        for_=cs.for_,
        keep_firing_for=cs.keep_firing_for,
        severity=cs.severity,
        summary=f"A consumer group with lag has had no consumer for {cs.for_} (status STOP).",
        description=(
            f"Consumer group {label('consumergroup')} has lag on partitions no member owns, and "
            "their committed offsets do not move: its consumers are gone."
        ),
        section="consumer_stopped",
        source="Admin API",
    )
    behind = Alert(
        name="KafkaConsumerGroupFallingBehind",
        expr=f"max {g} ({sel(cat.GROUP_STATUS, s, _is('WARN'))}) == 1",
        for_=fb.for_,
        keep_firing_for=fb.keep_firing_for,
        severity=fb.severity,
        summary=f"A consumer group commits but its lag has grown at every poll for {fb.for_}.",
        description=(
            f"Consumer group {label('consumergroup')} keeps committing, yet its lag grew at every "
            "poll of the status window: it consumes slower than its topics are produced to."
        ),
        section="consumer_falling_behind",
        source="Admin API",
    )
    gtp = by(c, "consumergroup", "topic", "partition")
    gt = by(c, "consumergroup", "topic")
    stalled_parts = f"max {gtp} ({sel(cat.PARTITION_STATUS, s, _is('STALL'))})"
    all_parts = f"max {gtp} ({sel(cat.PARTITION_STATUS, s)})"
    partial = Alert(
        name="KafkaConsumerPartitionsStalled",
        expr=f"count {gt} ({stalled_parts})\n  < count {gt} ({all_parts})",
        for_=ps.for_,
        keep_firing_for=ps.keep_firing_for,
        severity=ps.severity,
        summary="Some partitions of a topic stall in a consumer group while the others progress.",
        description=(
            f"{{{{ $value }}}} partitions of topic {label('topic')} in consumer group "
            f"{label('consumergroup')} have lag and an owner but no commit for a whole status "
            "window, while the other partitions progress: a record the consumer cannot get past."
        ),
        section="partitions_stalled",
        source="Admin API",
    )
    return stopped, behind, partial


def groups(t: BundleConfig) -> tuple[Group, ...]:
    return (
        Group("dead-letters", _dead_letters(t)),
        Group("consumer-hygiene", (*_headroom(t), _hygiene(t), *_status(t))),
    )
