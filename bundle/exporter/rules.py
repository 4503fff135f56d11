"""Alerts on the exporter itself: not scraped, a source failing, polling stopped, a family missing.

Without these, a dead or blind exporter looks exactly like a healthy, quiet cluster.
"""

from __future__ import annotations

from bundle.config import BundleConfig
from bundle.core.model import Alert, Group
from bundle.core.promql import by, label, num, on, sel
from exporter.catalog import BY_NAME, own

PROMETHEUS_UP = "up"
"""Prometheus' own per-target series (1 if the last scrape worked); not a kafka-vitals family."""

NOT_REGISTRY = 'source!="schema_registry"'
"""The Schema Registry has its own alert (KafkaSchemaRegistryUnreachable, in `bundle.registry`)."""


def _alerts(t: BundleConfig) -> tuple[Alert, ...]:
    s, c = t.common.selector, t.common.cluster_label
    ed, sd, ds, fa = t.exporter_down, t.source_down, t.data_stale, t.family_absent
    ea = t.exporter_absent
    up_selector = f"{PROMETHEUS_UP}{{{s}}}" if s.strip() else PROMETHEUS_UP
    admin_up = sel(own.UP, s, 'source="admin"')
    missing = "\n  or ".join(
        f'label_replace(max {by(c, "instance")} ({admin_up}) == 1, "family", "{name}", "", "")\n'
        f"    unless {on(c, 'instance')} max {by(c, 'instance')} ({sel(BY_NAME[name], s)})"
        for name in fa.families
    )
    return (
        Alert(
            name="KafkaVitalsExporterDown",
            expr=f"{up_selector} == 0",
            for_=ed.for_,
            keep_firing_for=ed.keep_firing_for,
            severity=ed.severity,
            summary="Prometheus cannot scrape kafka-vitals.",
            description=(
                f"Scrapes of kafka-vitals at {label('instance')} fail: Kafka is not watched "
                "and no other Kafka alert can fire meanwhile."
            ),
            section="exporter_down",
            source="Prometheus",
        ),
        Alert(
            name="KafkaVitalsExporterAbsent",
            expr=f"absent({up_selector})",
            for_=ea.for_,
            keep_firing_for=ea.keep_firing_for,
            severity=ea.severity,
            summary="Prometheus has no kafka-vitals target at all.",
            description=(
                f"No target of {label('job')} exists in Prometheus: kafka-vitals was never "
                "discovered (a ServiceMonitor or PodMonitor without the label the Prometheus "
                "selects, e.g. `release`) or was removed, and nothing about Kafka is watched."
            ),
            section="exporter_absent",
            source="Prometheus",
        ),
        Alert(
            name="KafkaVitalsSourceDown",
            expr=f"{sel(own.UP, s, NOT_REGISTRY)} == 0",
            for_=sd.for_,
            keep_firing_for=sd.keep_firing_for,
            severity=sd.severity,
            summary="A source of kafka-vitals (Admin API or a JMX target) is failing.",
            description=(
                f"kafka-vitals at {label('instance')} cannot read source {label('source')} "
                f"{label('target')}; its series are missing meanwhile."
            ),
            section="source_down",
            source="exporter",
        ),
        Alert(
            name="KafkaVitalsDataStale",
            expr=(
                f"time() - {sel(own.LAST_POLL, s)}\n"
                f"  > {num(ds.intervals)} * {sel(own.POLL_INTERVAL, s)}"
            ),
            for_=ds.for_,
            keep_firing_for=ds.keep_firing_for,
            severity=ds.severity,
            summary=(
                f"kafka-vitals has served no new snapshot for {num(ds.intervals)} poll intervals."
            ),
            description=(
                f"The snapshot kafka-vitals at {label('instance')} serves was taken "
                "{{ $value | humanizeDuration }} ago: polling has stopped or a cycle hangs, and "
                "every alert sees old data."
            ),
            section="data_stale",
            source="exporter",
        ),
        Alert(
            name="KafkaVitalsMetricAbsent",
            expr=missing,
            for_=fa.for_,
            keep_firing_for=fa.keep_firing_for,
            severity=fa.severity,
            summary="A key metric family is missing although the Admin API answers.",
            description=(
                f"kafka-vitals at {label('instance')} reports the Admin API up but serves no "
                f"{label('family')} series; alerts built on it cannot fire."
            ),
            section="family_absent",
            source="exporter",
        ),
    )


def groups(t: BundleConfig) -> tuple[Group, ...]:
    return (Group("exporter", _alerts(t)),)
