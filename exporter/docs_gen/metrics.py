"""`docs/metrics.md`: every metric family of the catalog by source, with the notes on the JMX,
payload and lag families, and the collectors (each with the first sentence of its module
docstring, what it reads, its switch)."""

from __future__ import annotations

import inspect
import sys

from exporter import catalog, collectors
from exporter.catalog import Metric
from exporter.collectors.base import INPUTS

SOURCES = {
    "admin": "Kafka Admin API (cluster metadata, consumer groups, offsets)",
    "jmx_broker": "Broker JMX (names as Strimzi's and jmx_exporter's Kafka configurations)",
    "jmx_client": "Client JMX (Java consumers and producers)",
    "jmx_jvm": "JVM of each JMX target (names as jmx_exporter's built-in JVM collectors)",
    "lessons": "Signals derived from production lessons (dead letters, headroom, rebalances, "
    "lag status)",
    "registry": "Schema Registry (the contract: compatibility, versions, topics without schema)",
    "probe": "End-to-end probe (`probe.enabled`: produce, replicate, consume, commit)",
    "own": "The exporter's own health",
}


JMX_NOTES = [
    "## JMX names and where they differ",
    "",
    "Broker families are named, typed and labelled as Strimzi's metrics configuration for",
    "jmx_exporter names them, and as jmx_exporter's Kafka example does where Strimzi has no rule",
    "(Strimzi leaves out `kafka.network:type=RequestMetrics`; the request histograms, counts and",
    "errors here follow the example's generic rules). Client families follow Confluent's client",
    "configuration (`kafka_<consumer|producer>_<type>_<attribute>`, label `client_id`); JVM",
    "families follow jmx_exporter's built-in JVM collectors. `tests/test_jmx_naming.py` checks",
    "every kind of MBean against those rules. Where kafka-vitals differs, on purpose:",
    "",
    "- Every JMX family has a `target` label (the JVM it came from); summaries add `_sum`",
    "  (mean x count), which jmx_exporter does not write.",
    "- `..._requesthandleravgidle_percent` is the meter's one-minute rate; Strimzi reads its",
    "  lifetime `MeanRate`, which barely moves after the first hour.",
    "- Label names are snake_case where Strimzi copies an ObjectName key in camelCase",
    "  (`log_directory`, `network_processor`), so that `promtool check metrics` finds nothing;",
    "  the follower lag's constant `clientId=\"Replica\"` is dropped; a log directory's value is",
    "  the path without the ObjectName's quotes. No Strimzi query or rule selects on them.",
    "- Names promtool flags are not used: Strimzi's",
    "  `kafka_server_socket_server_metrics_connection_count` is",
    "  `kafka_server_socket_server_metrics_connections` here (a gauge must not end in `_count`);",
    "  the clients' `connection-count` and broker-metadata-metrics (`-count`, `-ms`) are not",
    "  read (`kafka_controller_kafkacontroller_metadataerrorcount` and `...lastappliedrecordlagms`",
    "  give the same figures).",
    "- `kafka_server_raftmetrics_commit_latency_max` is a gauge (Strimzi types every `-max` of",
    "  raft-metrics as a counter, but it is a windowed maximum).",
    "- Client attributes ending in `-total` are counters (Confluent types all as gauges); the",
    "  constant `client_type` label is not written (the name says consumer or producer); names",
    "  with an abbreviated unit (`io-wait-time-ns-avg`, `io-time-ns-avg`)",
    "  are not read, as promtool flags them: `io_ratio` and `io_wait_ratio` say the same.",
    "- Text attributes are read only from the clients' `app-info` MBean: `kafka_consumer_app_info`",
    "  and `kafka_producer_app_info` are one series per client (value 1, the library's `version`",
    "  and `commit_id` as labels); the raft `current_state` label does not exist.",
    "",
    "**The exporter's own process and the JVMs'.** `process_*` and `jvm_*` series with a",
    '`target` label describe a JMX target\'s JVM; select them with `{target!=""}` (or one',
    '`target`), as `sum(process_open_fds{target!=""}) by (target)`. kafka-vitals\'s own',
    "process writes `process_*` and `python_*` as prometheus-client names them, read at every",
    'scrape (not once per poll cycle), without a `target`: `{target=""}` selects them, as',
    '`rate(process_cpu_seconds_total{job="kafka-vitals",target=""}[5m])`. Where both write a',
    "name (`process_cpu_seconds_total`, `process_open_fds`, `process_max_fds`,",
    "`process_start_time_seconds`), it is one family on /metrics: a query without a `target`",
    "matcher sums or compares the JVMs and the exporter together.",
    "",
    "**Established queries that return no data from kafka-vitals**, run by a real Prometheus",
    "against kafka-vitals reading a live broker, producer and consumer",
    "(`tests/test_jmx_parity_live.py`): of Strimzi's",
    "Kafka dashboard (38 queries), `container_memory_working_set_bytes` (cAdvisor),",
    "`kubelet_volume_stats_available_bytes` (kubelet), the connection count per listener (named",
    "`..._connections` here, see above) and the failed fetch rate per topic (Kafka 4 registers a",
    "topic's failed-fetch meter at its first failed fetch; the broker-wide series exists); of",
    "Strimzi's broker rules, the three that",
    "read kubelet and cAdvisor series; of the client dashboards, windowed client values that",
    "are NaN until the event happens (failed rebalances, throttling, errors and retries of a",
    "healthy client).",
    "",
]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _labels(metric: Metric) -> str:
    extra = {"summary": ["quantile"], "histogram": ["le"]}.get(metric.type, [])
    labels = [*metric.labels, *extra]
    return ", ".join(f"`{label}`" for label in labels) or "—"


def metrics_markdown() -> str:
    lines = [
        "# Metrics",
        "",
        "<!-- Generated from exporter/catalog by `python -m exporter.docs_gen`; do not edit. -->",
        "",
        "Every family kafka-vitals can expose, from the one catalog that the exporter, the",
        "dashboards, the alert rules and the tests import. Notes on the exposition:",
        "",
        "- A label whose value is empty is left out of the series (Prometheus treats both alike):",
        '  `kafka_vitals_up{source="admin"}` is the series with `target=""`.',
        "- A summary adds `quantile` to its labels and has `_sum` and `_count` samples; a",
        "  histogram has `_bucket` samples (label `le`: an upper bound, `+Inf` the last) and",
        "  `_sum` and `_count` samples.",
        "- In OpenMetrics a counter's family name has no `_total` (its samples keep it), and",
        "  `info` families are exposed as gauges with the value 1 in both formats.",
        "- Series are those of the last complete poll; `kafka_vitals_last_poll_timestamp_seconds`",
        "  says when it was taken.",
        "- `promtool check metrics` on a live scrape reports one kind of finding only: the",
        "  gauges `kafka_consumergroup_lag_sum` and `kafka_consumergroup_current_offset_sum`,",
        "  whose `_sum` suffix it reserves for summaries and histograms. They keep",
        "  kafka_exporter's names on purpose, so its users' dashboards and rules keep working;",
        "  each is a family of its own (its own TYPE line, no summary beside it), so no parser",
        "  confuses them. Every",
        "  other family, kafka-vitals' own included, passes the linter.",
        "",
    ]
    for source, title in SOURCES.items():
        metrics = [m for m in catalog.ALL if m.source == source]
        if not metrics:
            continue
        lines += [f"## {title}", "", "| Metric | Type | Labels | Unit | Meaning |"]
        lines.append("|---|---|---|---|---|")
        for m in metrics:
            unit = f"`{m.unit}`" if m.unit else ""
            lines.append(f"| `{m.name}` | {m.type} | {_labels(m)} | {unit} | {_cell(m.help)} |")
        lines.append("")
    lines += JMX_NOTES
    unknown = sorted({m.source for m in catalog.ALL} - set(SOURCES))
    if unknown:  # pragma: no cover - a new source needs a title above
        raise RuntimeError(f"docs_gen: no title for metric sources {unknown}")
    lines += collectors_markdown()
    return "\n".join([*lines, *LAG_NOTES, *PAYLOAD_NOTES])


PAYLOAD_NOTES = (
    "## Payload samples: gauges, not counters",
    "",
    "`kafka_topic_payload_*_messages` describe the last cycle's sample of each topic's newest",
    "messages (`schema_registry.payload_sampling`). The samples overlap: a quiet topic's newest",
    "messages are read again every cycle, so a counter would grow with the poll rate, not the",
    "traffic; counting only new messages would hide a quiet topic whose head, the messages a",
    "consumer starting now meets, still bypasses the contract. The share outside the contract,",
    "`(without_wire_format + unknown_schema_id) / sampled`, is drawn by the contract dashboard and",
    "read by `KafkaTopicWithoutValueSchema`; nothing sampled gives no ratio (NaN). Reads and",
    "denied reads: `kafka_vitals_payload_sample_reads_total{outcome}`.",
    "",
)


LAG_NOTES = (
    "## Lag: what the numbers mean where they are unusual",
    "",
    "**A committed offset past the log end is a separate signal, not a negative lag.**",
    "`kafka-consumer-groups --describe` prints `log end - committed`, negative when the committed",
    "offset lies past the log end. kafka-vitals keeps `kafka_consumergroup_lag` at",
    "`max(0, log end - committed)` and serves the distance past the end in",
    "`kafka_consumergroup_offset_past_log_end` (per partition, only where it happens), the count",
    "per topic in `kafka_consumergroup_partitions_past_log_end`, the lag status `PAST_END`, and",
    "the alert `KafkaConsumerGroupOffsetPastLogEnd`. Why not a negative lag:",
    "",
    "- Lag is summed (`kafka_consumergroup_lag_sum`, `sum by (consumergroup)` in every dashboard",
    "  built for kafka_exporter): one partition at -100 would hide 100 messages of real lag on",
    "  another, so the sum would fall exactly when things got worse.",
    "- Every rule written for kafka_exporter compares lag with a positive threshold; a negative",
    "  value passes them silently, and a panel with a log scale drops it. kafka_exporter's",
    "  `kafka_consumergroup_lag` is read as messages waiting; a non-negative value keeps that",
    "  meaning.",
    "- The condition is not a race: log-end offsets are read after the committed ones and a log",
    "  end never goes down. It is left by a topic recreated under the group, an unclean leader",
    "  election, a restore, or an offset committed by hand, and the group's next fetch resets by",
    "  `auto.offset.reset`: messages skipped (`latest`) or read twice (`earliest`). That needs its",
    "  own alert, which a negative number inside a sum cannot give.",
    "",
    "`kafka_vitals_lag_clamped_total` still counts every such reading.",
    "",
    "**A partition whose log end cannot be read keeps the last one read.** Nothing can be",
    "produced to a partition without a leader, so its last log-end offset is still exact: its lag",
    "stays in `lag`, `lag_sum` and `lag_max` (which would otherwise fall when things got worse),",
    "and the group counts such partitions in `kafka_consumergroup_log_end_unread_partitions`. A",
    "partition never read since the exporter started has no lag series.",
    "",
    "**Lag in seconds** (`kafka_consumergroup_lag_seconds`), by `poll.lag_seconds_mode`:",
    "",
    "- `interpolated` (the default; no message is read): the time at which the log end was at",
    "  the committed offset, from the log-end offsets recorded at each poll. Its bounds:",
    "  - committed offset inside the history: the message was written between the two polls",
    "    around it, so the error is at most one poll interval;",
    "  - older than the history with traffic before it: extrapolated back from its first point at",
    "    the producers' rate while the log end moved (idle stretches left out), capped at",
    "    `poll.lag_max_extrapolation_seconds`. A steady rate: right within the points' timing",
    "    (measured: hundredths of a second). Else off in proportion to the extrapolated stretch,",
    "    by the rate's change before the history, the idle share of the interval in which traffic",
    "    stopped, or a broker's delivery delay when the history began (each worked out in",
    "    [polling.md](polling.md#lag-in-seconds)); constant while the topic is idle;",
    "  - messages older than the history on a topic idle since: never above the truth (the time",
    "    since the exporter first read the partition; a lower bound), absent at the first poll.",
    "  Every exporter restart puts every stopped group in the last two cases.",
    "- `exact`: for every lagging partition, the age of the message at the committed offset, from",
    "  its own timestamp (CreateTime or LogAppendTime, whichever the topic uses), read with an",
    "  assign-only consumer: one read per partition per cycle, batched per broker, within the",
    "  stage deadline, and reused while the committed offset does not move. Offsets that lagged",
    "  at the last cycle's log ends are read beside the log-end offsets stage, the rest after it.",
    "  Needs Read on the topics; without it, interpolation, counted in",
    "  `kafka_vitals_message_reads_total`.",
    "- `auto`: `exact` only where interpolation would extrapolate (the committed offset is below",
    "  the first log end the exporter saw of the partition), interpolation elsewhere.",
    "",
    "Where no message is at the committed offset, the exact answer is defined:",
    "",
    "| at the committed offset | lag in seconds |",
    "|---|---|",
    "| a control record (transaction marker), aborted records, or records removed by compaction | the age of the next message a consumer gets |",  # noqa: E501
    "| nothing to consume up to the log end (only markers or aborted records left) | 0 |",
    "| deleted by retention (out of range), read denied, no answer in time | interpolated |",
    "",
    "`kafka_vitals_lag_seconds_partitions{method}` counts the lagging partitions served each way.",
    "",
)


def collectors_markdown() -> list[str]:
    """The collectors section: every registered collector, its switch, and its summary (the first
    sentence of its module's docstring, after `Collector `name`:`)."""
    lines = [
        "## Collectors",
        "",
        "Each collector is switched by `collectors.<name>` (on unless set false) and reports its",
        "own `kafka_vitals_collector_success{collector}` and",
        "`kafka_vitals_collector_duration_seconds{collector}` (all but `own`, which writes them).",
        "",
        "| Collector | Reads | What it exports |",
        "|---|---|---|",
    ]
    for name, factory in sorted(collectors.REGISTRY.items()):
        doc = inspect.getdoc(sys.modules[factory.__module__]) or ""
        summary = " ".join(doc.split("\n\n", 1)[0].split())
        summary = summary.removeprefix(f"Collector `{name}`:").strip()
        reads = ", ".join(INPUTS[i] for i in factory.reads)  # type: ignore[attr-defined]
        lines.append(f"| `{name}` | {reads} | {_cell(summary)} |")
    lines.append("")
    return lines
