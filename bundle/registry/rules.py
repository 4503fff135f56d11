"""Alerts on the Schema Registry contract: registry unreachable, a subject without compatibility
checks, topics carrying messages without a registered schema (read from the sampled payloads where
`schema_registry.payload_sampling` is on, from the value subjects elsewhere), a burst of
registrations.

Per-entity gauges are aggregated with `max by` (two exporter replicas under one job must not
double a value); the registrations counter appears only inside increase(). The registry being
down is this module's alert, not the generic `KafkaVitalsSourceDown`, which leaves it out.
"""

from __future__ import annotations

from bundle.config import BundleConfig
from bundle.core.model import Alert, Group
from bundle.core.promql import by, label, num, on, sel
from bundle.core.query import RuleQuery
from bundle.registry.signals import unregistered_payload_ratio
from exporter.catalog import admin, own
from exporter.catalog import registry as cat

REGISTRY_SOURCE = 'source="schema_registry"'
SOURCE = "Schema Registry"


def _unreachable(t: BundleConfig) -> Alert:
    s, c, ru = t.common.selector, t.common.cluster_label, t.registry_unreachable
    return Alert(
        name="KafkaSchemaRegistryUnreachable",
        expr=f"max {by(c, 'instance')} ({sel(own.UP, s, REGISTRY_SOURCE)}) == 0",
        for_=ru.for_,
        keep_firing_for=ru.keep_firing_for,
        severity=ru.severity,
        summary=f"The Schema Registry has not answered kafka-vitals for {ru.for_}.",
        description=(
            f"kafka-vitals at {label('instance')} cannot read the Schema Registry (see "
            "kafka_schema_registry_errors_total for why): clients that start or meet a new "
            "schema id cannot serialize or deserialize."
        ),
        section="registry_unreachable",
        source=SOURCE,
    )


def _compatibility_none(t: BundleConfig) -> Alert:
    s, c, cn = t.common.selector, t.common.cluster_label, t.compatibility_none
    none = sel(cat.SUBJECT_COMPATIBILITY, s, 'compatibility="NONE"')
    return Alert(
        name="KafkaSchemaRegistrySubjectCompatibilityNone",
        expr=f"max {by(c, 'subject')} ({none}) == 1",
        for_=cn.for_,
        keep_firing_for=cn.keep_firing_for,
        severity=cn.severity,
        summary=f"A subject has had compatibility NONE for {cn.for_}.",
        description=(
            f"Subject {label('subject')} accepts any new version: nothing stops the next "
            "registration from breaking its consumers."
        ),
        section="compatibility_none",
        source=SOURCE,
    )


def _without_schema(t: BundleConfig) -> Alert:
    s, c, ws = t.common.selector, t.common.cluster_label, t.topic_without_schema
    keys = by(c, "topic")
    offsets = sel(admin.PARTITION_CURRENT_OFFSET, s, range_=ws.window)
    ratio = unregistered_payload_ratio(RuleQuery(s, c))
    no_subject = f"max {keys} ({sel(cat.TOPIC_VALUE_SUBJECT, s)}) == 0"
    sampled = f"max {keys} ({sel(cat.PAYLOAD_SAMPLED, s)})"
    return Alert(
        name="KafkaTopicWithoutValueSchema",
        expr=(
            f"(\n  {ratio} > {num(ws.ratio)}\n"
            f"  or\n  ({no_subject} unless {on(c, 'topic')} {sampled})\n)\n"
            f"and {on(c, 'topic')} max {keys} (rate({offsets})) > 0"
        ),
        for_=ws.for_,
        keep_firing_for=ws.keep_firing_for,
        severity=ws.severity,
        summary=(f"A topic has received messages for {ws.for_} outside the schema contract."),
        description=(
            f"Topic {label('topic')} receives messages that bypass the Schema Registry: "
            "its newest messages lack the wire format or carry a schema id the registry does "
            "not know (payload sampling), or, where payloads are not sampled, it has no value "
            "subject at all. Value: the share of sampled messages outside the contract (0 for a "
            "topic without subject and without samples)."
        ),
        section="topic_without_schema",
        source=SOURCE,
    )


def _burst(t: BundleConfig) -> Alert:
    s, c, rb = t.common.selector, t.common.cluster_label, t.registration_burst
    counted = sel(cat.SUBJECT_REGISTRATIONS, s, range_=rb.window)
    return Alert(
        name="KafkaSchemaRegistryRegistrationBurst",
        expr=f"max {by(c, 'subject')} (increase({counted})) > {num(rb.versions)}",
        for_=rb.for_,
        keep_firing_for=rb.keep_firing_for,
        severity=rb.severity,
        summary=(f"A subject got more than {num(rb.versions)} new versions within {rb.window}."),
        description=(
            f"Subject {label('subject')} got about {{{{ $value | humanize }}}} new versions in "
            f"the last {rb.window}: producers registering on their own, or a schema that changes "
            "on every build."
        ),
        section="registration_burst",
        source=SOURCE,
    )


def groups(t: BundleConfig) -> tuple[Group, ...]:
    return (
        Group(
            "schema-registry",
            (_unreachable(t), _compatibility_none(t), _without_schema(t), _burst(t)),
        ),
    )
