"""Metric families of the end-to-end probe (`probe.enabled`): the latency users feel.

Each poll cycle the probe produces messages to every partition of its topic, consumes them with
a group of its own and commits (`exporter.sources.probe`). Every family is per `broker`: the
leader of the partitions measured, so a slow or stopped broker shows in its own series. The
histograms count every message since the exporter started; the quantiles come from
`histogram_quantile` over a rate of their buckets.
"""

from __future__ import annotations

from exporter.catalog.model import Metric

LATENCY_BUCKETS: tuple[float, ...] = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip
"""From one millisecond (a produce acknowledged by a leader on the same host) to ten seconds
(beyond the probe's default deadline of five), about 2.5 x apart: a p99 read from them is off
by at most that step, and a stall shows in the top buckets."""

UP = Metric(
    "kafka_probe_up",
    "gauge",
    "1 if the last probe cycle ran (topic checked, metadata read, messages produced), else 0 "
    '(the reason is in the log and kafka_vitals_poll_errors_total{stage="probe"}). Messages '
    "lost in a cycle that ran do not make it 0.",
    (),
    "probe",
)
PRODUCE_LATENCY = Metric(
    "kafka_probe_produce_latency_seconds",
    "histogram",
    "Time from handing a probe message to the producer to its acknowledgement (probe.acks: all "
    "in-sync replicas, or the leader), per leader broker of the partition.",
    ("broker",),
    "probe",
    unit="s",
    buckets=LATENCY_BUCKETS,
)
END_TO_END_LATENCY = Metric(
    "kafka_probe_end_to_end_latency_seconds",
    "histogram",
    "Time from producing a probe message to consuming it (produce, replicate to the in-sync "
    "replicas, fetch), per leader broker of the partition. Only messages consumed within "
    "probe.deadline_seconds are observed; the others are counted lost.",
    ("broker",),
    "probe",
    unit="s",
    buckets=LATENCY_BUCKETS,
)
COMMIT_LATENCY = Metric(
    "kafka_probe_commit_latency_seconds",
    "histogram",
    "Duration of the probe group's offset commit of the partitions one broker leads (the commit "
    "goes to the group's coordinator), per leader broker. Failed commits are counted in "
    "kafka_probe_commit_failures_total.",
    ("broker",),
    "probe",
    unit="s",
    buckets=LATENCY_BUCKETS,
)
MESSAGES_SENT = Metric(
    "kafka_probe_messages_sent_total",
    "counter",
    "Probe messages produced, per leader broker of the partition.",
    ("broker",),
    "probe",
)
MESSAGES_LOST = Metric(
    "kafka_probe_messages_lost_total",
    "counter",
    "Probe messages not consumed within probe.deadline_seconds of being produced (not "
    "acknowledged, not replicated, or not fetched in time), per leader broker of the partition.",
    ("broker",),
    "probe",
)
MESSAGES_LATE = Metric(
    "kafka_probe_messages_late_total",
    "counter",
    "Probe messages consumed after their deadline (each already counted lost), per leader broker "
    "of the partition: lost minus late never arrived.",
    ("broker",),
    "probe",
)
COMMIT_FAILURES = Metric(
    "kafka_probe_commit_failures_total",
    "counter",
    "Probe commits that failed or did not answer within the deadline, per leader broker of the "
    "partitions committed.",
    ("broker",),
    "probe",
)

ALL: tuple[Metric, ...] = (
    UP,
    PRODUCE_LATENCY,
    END_TO_END_LATENCY,
    COMMIT_LATENCY,
    MESSAGES_SENT,
    MESSAGES_LOST,
    MESSAGES_LATE,
    COMMIT_FAILURES,
)
