"""The Schema Registry contract's panels, for its dashboard (`bundle.dashboards.schema_registry`):
the registry's health, subjects by compatibility level and registrations over time, the
unregistered payload ratio per topic, and the tables linked to their alerts' runbooks.
"""

from __future__ import annotations

from grafanalib import core as g

from bundle.core.promql import num
from bundle.dashboards.common import Scope, colors
from bundle.dashboards.panels import Q, stat, table, timeseries
from bundle.registry.signals import unregistered_payload_ratio
from exporter.catalog import own
from exporter.catalog import registry as cat

NONE = 'compatibility="NONE"'


def stats(sc: Scope) -> list[tuple[g.Panel, int]]:
    up = sc.sel(own.UP, 'source="schema_registry"')
    none = f"count({sc.sel(cat.SUBJECT_COMPATIBILITY, NONE)} == 1) or vector(0)"
    missing = f"count({sc.sel(cat.TOPIC_VALUE_SUBJECT)} == 0) or vector(0)"
    red_at_zero = colors((None, "red"), (1, "green"))
    return [
        (stat("Registry answering", "1 when the last poll read the registry (kafka_vitals_up"
              '{source="schema_registry"}); no data when no registry is configured.', "short",
              [Q(f"min({up})")], red_at_zero,
              links=[sc.runbook("KafkaSchemaRegistryUnreachable")]), 4),
        (stat("Health read latency", "Duration of GET /config in the last poll.", "s",
              [Q(f"max({sc.sel(cat.REGISTRY_LATENCY)})")]), 4),
        (stat("Subjects", "Subjects in the registry, and those whose details were not read yet "
              "(after a start, the cold read spread over polls: their series appear as they are "
              "read; 0 once all are read).", "short",
              [Q(f"max({sc.sel(cat.REGISTRY_SUBJECTS)})", "listed"),
               Q(f"max({sc.sel(cat.REGISTRY_SUBJECTS_UNREAD)})", "not read yet")],
              decimals=0), 4),
        (stat("Subjects with NONE", "Subjects whose new versions are not checked at all.",
              "short", [Q(none)], colors((None, "green"), (1, "orange")), decimals=0,
              links=[sc.runbook("KafkaSchemaRegistrySubjectCompatibilityNone")]), 6),
        (stat("Topics without value schema", "Checked topics with no value subject under the "
              "configured naming strategy.", "short", [Q(missing)],
              colors((None, "green"), (1, "orange")), decimals=0,
              links=[sc.runbook("KafkaTopicWithoutValueSchema")]), 6),
    ]  # fmt: skip


def history(sc: Scope) -> list[tuple[g.Panel, int]]:
    rb = sc.config.registration_burst
    by_level = f"count {sc.by('compatibility')} ({sc.sel(cat.SUBJECT_COMPATIBILITY)} == 1)"
    regs = f"sum {sc.by('subject')} ({sc.increase(cat.SUBJECT_REGISTRATIONS, rb.window)}) > 0"
    bar = sc.bar("KafkaSchemaRegistryRegistrationBurst", rb.versions)
    return [
        (timeseries("Subjects by compatibility level", "How many subjects have each level.",
                    "short", [Q(by_level, "{{compatibility}}")], stack=True), 12),
        (timeseries(f"New versions in {rb.window} by subject",
                    "Versions registered while the exporter ran (subjects with any). "
                    f"KafkaSchemaRegistryRegistrationBurst fires above {num(rb.versions)}.",
                    "short", [Q(regs, "{{subject}}")], bar,
                    links=[sc.runbook("KafkaSchemaRegistryRegistrationBurst")]), 12),
    ]  # fmt: skip


def payloads(sc: Scope) -> list[tuple[g.Panel, int]]:
    ws = sc.config.topic_without_schema
    ratio = unregistered_payload_ratio(sc)
    # colour from the first message outside the contract when the threshold is 0
    bar = sc.bar("KafkaTopicWithoutValueSchema", ws.ratio, step=max(ws.ratio, 0.001))
    outside = (
        f"sum {sc.by('topic')} ({sc.sel(cat.PAYLOAD_WITHOUT_WIRE_FORMAT)}) > 0",
        f"sum {sc.by('topic')} ({sc.sel(cat.PAYLOAD_UNKNOWN_SCHEMA_ID)}) > 0",
    )
    return [
        (timeseries("Unregistered payload ratio per topic",
                    "Share of each topic's newest sampled messages without the registry wire "
                    "format or with a schema id the registry does not know (schema_registry."
                    f"payload_sampling). KafkaTopicWithoutValueSchema fires above {num(ws.ratio)} "
                    "on a topic with traffic. No data: sampling is off.", "percentunit",
                    [Q(ratio, "{{topic}}")], bar,
                    links=[sc.runbook("KafkaTopicWithoutValueSchema")]), 12),
        (timeseries("Sampled messages outside the contract",
                    "Of the newest messages sampled this cycle: without the wire format (raw), "
                    "and with a schema id unknown to the registry (unknown id); topics with any.",
                    "short",
                    [Q(outside[0], "{{topic}} raw"), Q(outside[1], "{{topic}} unknown id")],
                    links=[sc.runbook("KafkaTopicWithoutValueSchema")]), 12),
    ]  # fmt: skip


def tables(sc: Scope) -> list[tuple[g.Panel, int]]:
    missing = f"{sc.sel(cat.TOPIC_VALUE_SUBJECT)} == 0"
    none = f"{sc.sel(cat.SUBJECT_COMPATIBILITY, NONE)} == 1"
    return [
        (table("Topics without a value subject", "The subject each topic would need.", "short",
               [Q(missing)], hide=["Value"],
               links=[sc.runbook("KafkaTopicWithoutValueSchema")]), 12),
        (table("Subjects with compatibility NONE", "source: subject (own level), global "
               "(inherited), unknown (the registry does not tell).", "short", [Q(none)],
               hide=["Value", "compatibility"],
               links=[sc.runbook("KafkaSchemaRegistrySubjectCompatibilityNone")]), 12),
    ]  # fmt: skip
