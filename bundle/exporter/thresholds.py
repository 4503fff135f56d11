"""Thresholds of the alerts on kafka-vitals itself: not scraped, source down, stale, family absent.

Sections of `bundle.config.BundleConfig`; each field carries the reason for its default.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bundle.core.knobs import Severity, knob, reason


@dataclass(frozen=True, slots=True)
class ExporterDown:
    """Prometheus cannot scrape the exporter (its own `up` series)."""

    for_: str = knob("2m", "Four failed scrapes at 30 s: a restart of the sidecar takes less.")
    keep_firing_for: str = knob("0s", "Resolves with the first good scrape.")
    severity: Severity = field(
        default="warning", metadata=reason("Kafka is not watched while this fires.")
    )


@dataclass(frozen=True, slots=True)
class ExporterAbsent:
    """Prometheus has no kafka-vitals target at all (no `up` series for the job)."""

    for_: str = knob(
        "5m",
        "A rollout or a rescheduled pod leaves the job without a target for a minute or two "
        "while service discovery catches up; five minutes without any means it was never "
        "discovered (a ServiceMonitor the Prometheus does not select) or was removed.",
    )
    keep_firing_for: str = knob("0s", "Resolves with the first scraped target.")
    severity: Severity = field(
        default="warning",
        metadata=reason("Nothing about Kafka is watched, and KafkaVitalsExporterDown cannot fire."),
    )


@dataclass(frozen=True, slots=True)
class SourceDown:
    """A source of the exporter (Admin API, one JMX target) failed in the last poll."""

    for_: str = knob("2m", "Four polls at 30 s: a broker restart or one slow JVM start passes.")
    keep_firing_for: str = knob("0s", "Resolves with the first good poll.")
    severity: Severity = field(
        default="warning", metadata=reason("The series of that source are missing meanwhile.")
    )


@dataclass(frozen=True, slots=True)
class DataStale:
    """The snapshot being served is too old: poll cycles stopped or hang."""

    intervals: float = knob(
        5,
        "Five poll intervals without a new snapshot: one slow cycle is normal (a JMX target "
        "timing out), five in a row means polling stopped or hangs and the data on /metrics no "
        "longer tells the truth. A source failing at every cycle is KafkaVitalsSourceDown's.",
    )
    for_: str = knob("1m", "The age is already measured over five intervals.")
    keep_firing_for: str = knob("0s", "Resolves with the next snapshot.")
    severity: Severity = field(
        default="warning", metadata=reason("Alerts and dashboards see old data.")
    )


@dataclass(frozen=True, slots=True)
class FamilyAbsent:
    """A key metric family is missing although the exporter says the Admin API answers."""

    families: tuple[str, ...] = knob(
        ("kafka_brokers", "kafka_topic_partitions"),
        "Families every cluster has while the Admin API answers; missing means a filter, series "
        "cap or bug took them away and the alerts built on them are blind.",
    )
    for_: str = knob("5m", "Long enough to ride over a restart of the exporter.")
    keep_firing_for: str = knob("0s", "Resolves when the family is back.")
    severity: Severity = field(
        default="warning", metadata=reason("Alerts built on the family cannot fire.")
    )
