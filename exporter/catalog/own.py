"""The exporter's own health: is each source answering, how long polls take, how old the data is.

kafka-vitals polls Kafka and JMX in the background on a fixed interval and serves the last complete
snapshot: lag in seconds needs a history of polls, each JMX query starts a JVM, and two Prometheus
replicas must not double the load on the cluster. These families say how fresh that snapshot is.
"""

from __future__ import annotations

from exporter.catalog.model import Metric

UP = Metric(
    "kafka_vitals_up",
    "gauge",
    "1 if the source answered in the last poll, else 0. source is admin, jmx or schema_registry; "
    "target names the JMX target (empty for the others).",
    ("source", "target"),
    "own",
)
POLL_DURATION = Metric(
    "kafka_vitals_poll_duration_seconds",
    "gauge",
    "Wall time of each stage of the last poll cycle (stage=cycle for the whole cycle). Polling "
    "runs in the background; a scrape never waits on Kafka or JMX.",
    ("stage",),
    "own",
    unit="s",
)
POLL_ERRORS = Metric(
    "kafka_vitals_poll_errors_total",
    "counter",
    "Failed poll stages. A failed stage drops its own series from the snapshot; the rest is kept.",
    ("stage",),
    "own",
)
LAST_POLL_SUCCESS = Metric(
    "kafka_vitals_last_poll_success_timestamp_seconds",
    "gauge",
    "Unix time at which the last poll cycle finished with every stage successful.",
    (),
    "own",
    unit="dateTimeAsIso",
)
LAST_POLL = Metric(
    "kafka_vitals_last_poll_timestamp_seconds",
    "gauge",
    "Unix time at which the snapshot being served was taken.",
    (),
    "own",
    unit="dateTimeAsIso",
)
POLL_INTERVAL = Metric(
    "kafka_vitals_poll_interval_seconds",
    "gauge",
    "Configured time between poll cycles.",
    (),
    "own",
    unit="s",
)
SERIES = Metric(
    "kafka_vitals_series",
    "gauge",
    "Series in the snapshot being served, per metric family.",
    ("family",),
    "own",
)
SERIES_DROPPED = Metric(
    "kafka_vitals_series_dropped_total",
    "counter",
    "Series left out because a family exceeded the configured series cap.",
    ("family",),
    "own",
)
SERIES_DUPLICATE = Metric(
    "kafka_vitals_series_duplicate_total",
    "counter",
    "Series left out when rendering because an earlier series of the family had the same labels "
    "(a bug in a collector; the first one is served so the scrape stays valid).",
    ("family",),
    "own",
)
LAG_CLAMPED = Metric(
    "kafka_vitals_lag_clamped_total",
    "counter",
    "Partition readings whose committed offset was above the log-end offset read after it (lag "
    "served as 0; the offset past the end is in kafka_consumergroup_offset_past_log_end).",
    (),
    "own",
)
MESSAGE_READS = Metric(
    "kafka_vitals_message_reads_total",
    "counter",
    "Partition reads of the message at a lagging group's committed offset (exact lag in seconds, "
    "poll.lag_seconds_mode exact or auto), by outcome: found, end (nothing left to consume), "
    "out_of_range (deleted by retention), denied (no Read ACL on the topic: lag in seconds falls "
    "back to interpolation), error, timeout.",
    ("outcome",),
    "own",
)
LAG_SECONDS_METHOD = Metric(
    "kafka_vitals_lag_seconds_partitions",
    "gauge",
    "Lagging partitions (per group) whose lag in seconds this cycle came from the message's own "
    "timestamp (method exact) or from the log-end history (method interpolated).",
    ("method",),
    "own",
)
JMX_DURATION = Metric(
    "kafka_vitals_jmx_query_duration_seconds",
    "gauge",
    "Wall time of the last JMX query of the target, including the JVM start.",
    ("target",),
    "own",
    unit="s",
)
JMX_ERRORS = Metric(
    "kafka_vitals_jmx_errors_total",
    "counter",
    "Failed JMX queries of the target (refused, timed out, or unreadable answer).",
    ("target", "reason"),
    "own",
)
COLLECTOR_SUCCESS = Metric(
    "kafka_vitals_collector_success",
    "gauge",
    "1 if the collector ran without error in the last poll cycle, else 0 (its series are then "
    "absent). Every collector but own, which writes these.",
    ("collector",),
    "own",
)
COLLECTOR_DURATION = Metric(
    "kafka_vitals_collector_duration_seconds",
    "gauge",
    "Wall time the collector took in the last poll cycle (translation only: collectors do no I/O).",
    ("collector",),
    "own",
    unit="s",
)
CLIENT_RESTARTS = Metric(
    "kafka_vitals_client_restarts_total",
    "counter",
    "Kafka client processes replaced because the one before died (abort, crash) or hung past "
    "its deadline. Each replacement costs the cycle it happened in: kafka_vitals_up and "
    "kafka_vitals_poll_errors_total say which.",
    ("source",),
    "own",
)
BUILD_INFO = Metric(
    "kafka_vitals_build_info",
    "info",
    "Version of kafka-vitals and of the libraries it talks through. Value is always 1.",
    ("version", "python_version", "librdkafka_version"),
    "own",
)

COMMITTED_SOURCE = Metric(
    "kafka_vitals_committed_offsets_source",
    "gauge",
    "1 for the source the committed offsets of the last poll came from: admin (one Admin API "
    "request per group) or log (the __consumer_offsets log). With committed_offsets.source auto "
    "it says which one was chosen.",
    ("source",),
    "own",
)
OFFSETS_LOG_READY = Metric(
    "kafka_vitals_offsets_log_ready",
    "gauge",
    "1 once the __consumer_offsets log was read up to its end as of start; until then no "
    "committed offsets (and no lag) are served from it.",
    (),
    "own",
)
OFFSETS_LOG_RECORDS = Metric(
    "kafka_vitals_offsets_log_records_total",
    "counter",
    "Records read from the __consumer_offsets log since start (skipped ones included).",
    (),
    "own",
)
OFFSETS_LOG_SKIPPED = Metric(
    "kafka_vitals_offsets_log_skipped_records_total",
    "counter",
    "Records of the __consumer_offsets log skipped: reason is unknown_key_version, "
    "unknown_value_version or corrupt.",
    ("reason",),
    "own",
)
OFFSETS_LOG_BEHIND = Metric(
    "kafka_vitals_offsets_log_behind_records",
    "gauge",
    "Records of the __consumer_offsets log between the reader and the end it had to reach (its "
    "end as of start while starting, else as of the last poll's committed stage).",
    (),
    "own",
)
OFFSETS_LOG_LOAD_SECONDS = Metric(
    "kafka_vitals_offsets_log_load_seconds",
    "gauge",
    "Seconds the exporter took at start to read the __consumer_offsets log up to its end.",
    (),
    "own",
    unit="s",
)
ALL: tuple[Metric, ...] = tuple(v for v in globals().values() if isinstance(v, Metric))
