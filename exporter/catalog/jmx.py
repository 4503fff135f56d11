"""Metric families read over JMX from brokers and from Java clients.

Names follow the conventions of jmx_exporter's Kafka example configuration, so dashboards and rules
written for it keep working. Every family carries a `target` label naming the JMX target it came
from (one kafka-vitals can read several JVMs). Counters come from the MBean's `Count`, never from
its moving-average rates; use rate() on them.

NaN on purpose: Kafka's client metrics report NaN for an average or maximum whose window holds no
samples (and -1 for `last-rebalance-seconds-ago` before the first rebalance). kafka-vitals writes
no sample for such a value: the series is absent until the client has data, so an alert like
`records_lag_max > 10000` neither fires nor resolves on a NaN, and `absent()` tells a silent client.
"""

from __future__ import annotations

from exporter.catalog.model import Metric

_T = ("target",)
_TC = ("target", "client_id")
_ABSENT = " Series absent while the client reports NaN (no samples in its window)."

# --- broker: replication and controller ------------------------------------------------------
UNDER_REPLICATED = Metric(
    "kafka_server_replicamanager_underreplicatedpartitions",
    "gauge",
    "Partitions led by this broker whose ISR is smaller than their replica set.",
    _T,
    "jmx_broker",
)
UNDER_MIN_ISR = Metric(
    "kafka_server_replicamanager_underminisrpartitioncount",
    "gauge",
    "Partitions led by this broker with fewer in-sync replicas than min.insync.replicas.",
    _T,
    "jmx_broker",
)
OFFLINE_PARTITIONS = Metric(
    "kafka_controller_kafkacontroller_offlinepartitionscount",
    "gauge",
    "Partitions without a leader, as seen by the controller (only the active controller reports "
    "the real count; take max over brokers).",
    _T,
    "jmx_broker",
)
ACTIVE_CONTROLLER = Metric(
    "kafka_controller_kafkacontroller_activecontrollercount",
    "gauge",
    "1 on the broker that is the active controller, else 0; the cluster sum must be exactly 1.",
    _T,
    "jmx_broker",
)
ISR_SHRINKS = Metric(
    "kafka_server_replicamanager_isrshrinks_total",
    "counter",
    "Times this broker, as leader, removed a follower from a partition's ISR.",
    _T,
    "jmx_broker",
)
ISR_EXPANDS = Metric(
    "kafka_server_replicamanager_isrexpands_total",
    "counter",
    "Times this broker, as leader, added a follower back to a partition's ISR.",
    _T,
    "jmx_broker",
)

# --- broker: request latency -------------------------------------------------------------------
REQUEST_TOTAL_TIME = Metric(
    "kafka_network_requestmetrics_totaltimems",
    "summary",
    "Total time of requests on this broker in milliseconds, from its Yammer histogram: quantiles "
    "over a recent, exponentially decaying window; _sum is mean x count. Per broker: take max, "
    "never average or sum quantiles.",
    ("target", "request"),
    "jmx_broker",
    unit="ms",
)

# --- broker: throughput -----------------------------------------------------------------------
MESSAGES_IN = Metric(
    "kafka_server_brokertopicmetrics_messagesin_total",
    "counter",
    "Messages appended to this broker's logs. topic is empty on the broker-wide series: aggregate "
    'with topic!="" or topic="", never both.',
    ("target", "topic"),
    "jmx_broker",
)
BYTES_IN = Metric(
    "kafka_server_brokertopicmetrics_bytesin_total",
    "counter",
    "Bytes received from producers. topic is empty on the broker-wide series.",
    ("target", "topic"),
    "jmx_broker",
    unit="bytes",
)
BYTES_OUT = Metric(
    "kafka_server_brokertopicmetrics_bytesout_total",
    "counter",
    "Bytes sent to consumers (and followers). topic is empty on the broker-wide series.",
    ("target", "topic"),
    "jmx_broker",
    unit="bytes",
)

# --- broker: thread pools -----------------------------------------------------------------------
REQUEST_HANDLER_IDLE = Metric(
    "kafka_server_kafkarequesthandlerpool_requesthandleravgidle_percent",
    "gauge",
    "Fraction of time the request handler threads were idle (one-minute rate, 0 to 1; named as "
    "Strimzi names it). On a "
    "combined broker+controller node Kafka marks it from both handler pools, so it ranges 0 to 2.",
    _T,
    "jmx_broker",
    unit="percentunit",
)
NETWORK_PROCESSOR_IDLE = Metric(
    "kafka_network_socketserver_networkprocessoravgidle_percent",
    "gauge",
    "Fraction of time the network processor threads were idle (0 to 1).",
    _T,
    "jmx_broker",
    unit="percentunit",
)

# --- broker: Kafka 4.x group coordinator (kafka.server:type=group-coordinator-metrics) ------------
GROUP_COUNT = Metric(
    "kafka_server_group_coordinator_metrics_groups",
    "gauge",
    "Groups this broker coordinates, by protocol (classic, consumer, share, streams). Sum over "
    "brokers for the cluster.",
    ("target", "protocol"),
    "jmx_broker",
)
CONSUMER_GROUP_COUNT = Metric(
    "kafka_server_group_coordinator_metrics_consumer_groups",
    "gauge",
    "Consumer-protocol (KIP-848) groups this broker coordinates, by state (Empty, Assigning, "
    "Reconciling, Stable, Dead).",
    ("target", "state"),
    "jmx_broker",
)
CONSUMER_GROUP_REBALANCES = Metric(
    "kafka_server_group_coordinator_metrics_consumer_group_rebalance_count_total",
    "counter",
    "Rebalances of consumer-protocol groups coordinated by this broker (from the cumulative "
    "count; use rate()).",
    _T,
    "jmx_broker",
)
CONSUMER_GROUP_REBALANCE_RATE = Metric(
    "kafka_server_group_coordinator_metrics_consumer_group_rebalance_rate",
    "gauge",
    "Rebalances per second of consumer-protocol groups on this broker, Kafka's windowed rate.",
    _T,
    "jmx_broker",
)
CLASSIC_GROUP_REBALANCES = Metric(
    "kafka_server_group_coordinator_metrics_group_completed_rebalance_count_total",
    "counter",
    "Completed rebalances of classic-protocol groups coordinated by this broker (from the "
    "cumulative count; use rate()).",
    _T,
    "jmx_broker",
)
CLASSIC_GROUP_REBALANCE_RATE = Metric(
    "kafka_server_group_coordinator_metrics_group_completed_rebalance_rate",
    "gauge",
    "Completed rebalances per second of classic-protocol groups on this broker, Kafka's windowed "
    "rate.",
    _T,
    "jmx_broker",
)

# --- Java consumer clients ----------------------------------------------------------------------
CLIENT_RECORDS_LAG_MAX = Metric(
    "kafka_consumer_consumer_fetch_manager_metrics_records_lag_max",
    "gauge",
    "Largest lag in records over the consumer's assigned partitions in its recent window."
    + _ABSENT,
    _TC,
    "jmx_client",
    unit="short",
)
CLIENT_RECORDS_LAG = Metric(
    "kafka_consumer_consumer_fetch_manager_metrics_records_lag",
    "gauge",
    "Latest lag in records of the consumer on one assigned partition.",
    ("target", "client_id", "topic", "partition"),
    "jmx_client",
    unit="short",
)
CLIENT_REBALANCE_LATENCY_AVG = Metric(
    "kafka_consumer_consumer_coordinator_metrics_rebalance_latency_avg",
    "gauge",
    "Average time of the consumer's rebalances in its recent window, in milliseconds." + _ABSENT,
    _TC,
    "jmx_client",
    unit="ms",
)
CLIENT_REBALANCE_LATENCY_MAX = Metric(
    "kafka_consumer_consumer_coordinator_metrics_rebalance_latency_max",
    "gauge",
    "Longest rebalance of the consumer in its recent window, in milliseconds." + _ABSENT,
    _TC,
    "jmx_client",
    unit="ms",
)
CLIENT_REBALANCE_LATENCY_TOTAL = Metric(
    "kafka_consumer_consumer_coordinator_metrics_rebalance_latency_total",
    "counter",
    "Total time the consumer spent in rebalances, in milliseconds.",
    _TC,
    "jmx_client",
    unit="ms",
)
CLIENT_REBALANCES = Metric(
    "kafka_consumer_consumer_coordinator_metrics_rebalance_total",
    "counter",
    "Rebalances the consumer took part in.",
    _TC,
    "jmx_client",
)
CLIENT_REBALANCE_RATE = Metric(
    "kafka_consumer_consumer_coordinator_metrics_rebalance_rate_per_hour",
    "gauge",
    "Rebalances per hour, as the client computes it.",
    _TC,
    "jmx_client",
)
CLIENT_FAILED_REBALANCES = Metric(
    "kafka_consumer_consumer_coordinator_metrics_failed_rebalance_total",
    "counter",
    "Rebalances of the consumer that failed.",
    _TC,
    "jmx_client",
)
CLIENT_LAST_REBALANCE_AGO = Metric(
    "kafka_consumer_consumer_coordinator_metrics_last_rebalance_seconds_ago",
    "gauge",
    "Seconds since the consumer's last rebalance. Series absent before the first rebalance "
    "(the client reports -1).",
    _TC,
    "jmx_client",
    unit="s",
)
CLIENT_COMMIT_LATENCY_AVG = Metric(
    "kafka_consumer_consumer_coordinator_metrics_commit_latency_avg",
    "gauge",
    "Average time of the consumer's offset commits in its recent window, in milliseconds."
    + _ABSENT,
    _TC,
    "jmx_client",
    unit="ms",
)

# --- Java producer clients ----------------------------------------------------------------------
PRODUCER_REQUEST_LATENCY_AVG = Metric(
    "kafka_producer_producer_metrics_request_latency_avg",
    "gauge",
    "Average time of the producer's requests in its recent window, in milliseconds." + _ABSENT,
    _TC,
    "jmx_client",
    unit="ms",
)
PRODUCER_RECORD_ERROR_RATE = Metric(
    "kafka_producer_producer_metrics_record_error_rate",
    "gauge",
    "Records per second whose send failed, over the producer's recent window." + _ABSENT,
    _TC,
    "jmx_client",
)

ALL: tuple[Metric, ...] = tuple(v for v in globals().values() if isinstance(v, Metric))
