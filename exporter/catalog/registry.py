"""Metric families of the Schema Registry: the contract between producers and consumers.

A registry with compatibility enforced is the contract layer of an event-driven system. These
families say whether the registry answers, how each subject is protected (its compatibility level
and where it comes from), how it changes (versions, registrations seen), and which topics have no
registered value schema at all. Read through the Confluent API (`schema_registry.url`).
"""

from __future__ import annotations

from exporter.catalog.model import Metric

REGISTRY_LATENCY = Metric(
    "kafka_schema_registry_request_duration_seconds",
    "gauge",
    "Duration of the health read of the last poll (GET /config, the global compatibility level). "
    'Absent when the registry did not answer; kafka_vitals_up{source="schema_registry"} says so.',
    (),
    "registry",
    unit="s",
)
REGISTRY_POLL_REQUESTS = Metric(
    "kafka_schema_registry_poll_requests",
    "gauge",
    "HTTP requests the last registry poll made: the listing and the reads of new and changed "
    "subjects (the subjects never read and those read longest ago are read between polls, "
    "not counted here).",
    (),
    "registry",
)
REGISTRY_ERRORS = Metric(
    "kafka_schema_registry_errors_total",
    "counter",
    "Failed registry polls by kind: unreachable, timeout, tls, redirect, bad_answer (not JSON, "
    "or not the shape the Confluent API documents), http_<status> (401, 403, 500...).",
    ("kind",),
    "registry",
)
REGISTRY_SUBJECTS = Metric(
    "kafka_schema_registry_subjects",
    "gauge",
    "Subjects in the registry as the last poll listed them, read or not yet (soft-deleted ones "
    "are not counted).",
    (),
    "registry",
)
REGISTRY_SUBJECTS_UNREAD = Metric(
    "kafka_schema_registry_subjects_unread",
    "gauge",
    "Subjects listed whose details (compatibility, versions, latest version) were not read yet. "
    "After a start the subjects are read between polls (schema_registry.cold_read_concurrency "
    "connections; with 0, within each poll's refresh_budget_seconds): the cold read. A "
    "subject's series appear, all at once, when it is read. 0 once every subject was read.",
    (),
    "registry",
)
REGISTRY_GLOBAL_COMPATIBILITY = Metric(
    "kafka_schema_registry_global_compatibility_info",
    "info",
    "The registry's global compatibility level (BACKWARD, FORWARD, FULL, their _TRANSITIVE forms, "
    "or NONE), which every subject without its own level inherits.",
    ("compatibility",),
    "registry",
)
SUBJECT_COMPATIBILITY = Metric(
    "kafka_schema_registry_subject_compatibility_info",
    "info",
    "The compatibility level a subject's new versions are checked against. source: subject (its "
    "own level), global (inherited), unknown (the registry answers a subject without a level with "
    "the global one, as Apicurio does, and the two are equal).",
    ("subject", "compatibility", "source"),
    "registry",
)
SUBJECT_VERSIONS = Metric(
    "kafka_schema_registry_subject_versions",
    "gauge",
    "Live versions of the subject.",
    ("subject",),
    "registry",
)
SUBJECT_LATEST_VERSION = Metric(
    "kafka_schema_registry_subject_latest_version",
    "gauge",
    "Number of the subject's latest version; schema_type is AVRO, JSON or PROTOBUF.",
    ("subject", "schema_type"),
    "registry",
)
SUBJECT_LATEST_ID = Metric(
    "kafka_schema_registry_subject_latest_schema_id",
    "gauge",
    "Schema id of the subject's latest version (the id producers write into each message).",
    ("subject",),
    "registry",
)
SUBJECT_REGISTRATIONS = Metric(
    "kafka_schema_registry_subject_registrations_total",
    "counter",
    "New versions of the subject seen since the exporter started (the versions a subject of the "
    "first listing has when its details are first read count 0, so the cold read after a start "
    "is no burst; a subject created later counts all of its versions). increase() over a window "
    "shows registrations outside a deployment.",
    ("subject",),
    "registry",
)
TOPIC_VALUE_SUBJECT = Metric(
    "kafka_topic_value_subject_registered",
    "gauge",
    "1 if the topic's value subject (schema_registry.subject_strategy, or record_subjects) exists "
    "in the registry, else 0. Internal and tool topics and schema_registry.exclude_topic_patterns "
    "have no series; nor does any topic when the registry or the metadata was not read.",
    ("topic", "subject"),
    "registry",
)
_SAMPLED = (
    "Gauges, not counters: a cycle re-reads the newest messages, so on a quiet topic the same "
    "messages are sampled again and a counter would grow with the poll rate, not with traffic."
)
PAYLOAD_SAMPLED = Metric(
    "kafka_topic_payload_sampled_messages",
    "gauge",
    "Messages of the topic checked this cycle: the newest schema_registry.payload_sample_messages "
    "of each partition (schema_registry.payload_sampling; tombstones are not checked). Absent for "
    "topics without Read permission and when sampling is off. " + _SAMPLED,
    ("topic",),
    "registry",
)
PAYLOAD_WITHOUT_WIRE_FORMAT = Metric(
    "kafka_topic_payload_without_wire_format_messages",
    "gauge",
    "Of the messages sampled this cycle, those whose value does not start with the registry wire "
    "format (magic byte 0 and a 4-byte schema id): raw JSON, strings, anything serialized without "
    "the registry. " + _SAMPLED,
    ("topic",),
    "registry",
)
PAYLOAD_UNKNOWN_SCHEMA_ID = Metric(
    "kafka_topic_payload_unknown_schema_id_messages",
    "gauge",
    "Of the messages sampled this cycle, those in the wire format whose schema id the registry "
    "does not know (GET /schemas/ids/<id> answers 404): another registry, a deleted schema, or "
    "bytes that only look like the format. " + _SAMPLED,
    ("topic",),
    "registry",
)
PAYLOAD_SAMPLE_READS = Metric(
    "kafka_vitals_payload_sample_reads_total",
    "counter",
    "Partition samples of the payload check (schema_registry.payload_sampling) since start, by "
    "outcome: found, end (only aborted or control records), out_of_range, denied (no Read ACL on "
    "the topic: it is skipped, the cycle goes on), error, timeout.",
    ("outcome",),
    "registry",
)

ALL: tuple[Metric, ...] = (
    REGISTRY_LATENCY,
    REGISTRY_POLL_REQUESTS,
    REGISTRY_ERRORS,
    REGISTRY_SUBJECTS,
    REGISTRY_SUBJECTS_UNREAD,
    REGISTRY_GLOBAL_COMPATIBILITY,
    SUBJECT_COMPATIBILITY,
    SUBJECT_VERSIONS,
    SUBJECT_LATEST_VERSION,
    SUBJECT_LATEST_ID,
    SUBJECT_REGISTRATIONS,
    TOPIC_VALUE_SUBJECT,
    PAYLOAD_SAMPLED,
    PAYLOAD_WITHOUT_WIRE_FORMAT,
    PAYLOAD_UNKNOWN_SCHEMA_ID,
    PAYLOAD_SAMPLE_READS,
)
