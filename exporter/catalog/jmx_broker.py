"""More broker families read over JMX: disk, request breakdown, errors, counts, KRaft health.

Names, types and labels are those that Strimzi's metrics configuration for jmx_exporter gives the
same MBeans (its generic rules: `kafka_<domain>_<type>_<name>` in lower case for a gauge's `Value`,
`..._total` for a meter's cumulative `Count`, the ObjectName's other keys as labels; summaries of
Yammer histograms with `quantile="0.$1"`); where Strimzi has no rule for an MBean, jmx_exporter's
Kafka example names it the same way. Every family also carries `target`, the JMX target it came
from. The per-topic log size sum is kafka-vitals' own (the broker has no such MBean).

Label names are snake_case where Strimzi copies the ObjectName's camelCase keys (`log_directory`,
`network_processor`; the follower lag's constant `clientId="Replica"` is dropped), so that
`promtool check metrics` finds nothing to flag; no Strimzi query or rule selects on those labels.
"""

from __future__ import annotations

from exporter.catalog.model import Metric, MetricType

_T = ("target",)


def _broker(
    name: str, kind: MetricType, help_: str, labels: tuple[str, ...] = _T, unit: str = ""
) -> Metric:
    return Metric(name, kind, help_, labels, "jmx_broker", unit=unit)


# --- disk ---------------------------------------------------------------------------------------
LOG_SIZE = _broker(
    "kafka_log_log_size",
    "gauge",
    "Bytes of one partition's log on this broker's disk (all its segments), per replica.",
    ("target", "topic", "partition"),
    "bytes",
)
TOPIC_LOG_SIZE = _broker(
    "kafka_vitals_topic_log_size_bytes",
    "gauge",
    "Bytes of one topic's partition logs on this broker's disk: kafka_log_log_size summed by topic "
    "in the exporter, one series per topic.",
    ("target", "topic"),
    "bytes",
)
OFFLINE_LOG_DIRS = _broker(
    "kafka_log_logmanager_offlinelogdirectorycount",
    "gauge",
    "Log directories of this broker that are offline after a disk error. Above 0: replicas on "
    "them are offline.",
)
LOG_DIR_OFFLINE = _broker(
    "kafka_log_logmanager_logdirectoryoffline",
    "gauge",
    "1 when the log directory is offline, 0 when online.",
    ("target", "log_directory"),
)
DISK_READ_BYTES = _broker(
    "kafka_server_kafkaserver_linux_disk_read_bytes",
    "gauge",
    "Bytes the broker process read from disk since it started (Linux /proc/self/io; a gauge by "
    "jmx_exporter's naming, use rate()).",
    unit="bytes",
)
DISK_WRITE_BYTES = _broker(
    "kafka_server_kafkaserver_linux_disk_write_bytes",
    "gauge",
    "Bytes the broker process wrote to disk since it started (use rate()).",
    unit="bytes",
)

# --- replication, partitions, controller --------------------------------------------------------
PARTITION_COUNT = _broker(
    "kafka_server_replicamanager_partitioncount", "gauge", "Partition replicas on this broker."
)
LEADER_COUNT = _broker(
    "kafka_server_replicamanager_leadercount", "gauge", "Partitions this broker leads."
)
AT_MIN_ISR = _broker(
    "kafka_server_replicamanager_atminisrpartitioncount",
    "gauge",
    "Partitions led by this broker whose ISR is exactly min.insync.replicas.",
)
OFFLINE_REPLICAS = _broker(
    "kafka_server_replicamanager_offlinereplicacount",
    "gauge",
    "Replicas on this broker that are offline (their log directory failed).",
)
REASSIGNING = _broker(
    "kafka_server_replicamanager_reassigningpartitions",
    "gauge",
    "Partitions led by this broker that are being reassigned.",
)
PARTITION_AT_MIN_ISR = _broker(
    "kafka_cluster_partition_atminisr",
    "gauge",
    "1 when the partition's ISR is exactly min.insync.replicas (reported by its leader).",
    ("target", "topic", "partition"),
)
PARTITION_UNDER_MIN_ISR = _broker(
    "kafka_cluster_partition_underminisr",
    "gauge",
    "1 when the partition has fewer in-sync replicas than min.insync.replicas (by its leader).",
    ("target", "topic", "partition"),
)
PARTITION_REPLICAS = _broker(
    "kafka_cluster_partition_replicascount",
    "gauge",
    "Replicas of the partition (reported by its leader, 0 elsewhere).",
    ("target", "topic", "partition"),
)
FOLLOWER_MAX_LAG = _broker(
    "kafka_server_replicafetchermanager_maxlag",
    "gauge",
    "Largest lag in messages of this broker's replicas behind their leaders.",
)
UNCLEAN_ELECTIONS = _broker(
    "kafka_controller_controllerstats_uncleanleaderelections_total",
    "counter",
    "Unclean leader elections: an out-of-sync replica became leader and acknowledged records were "
    "lost. Counted on the active controller.",
)
ACTIVE_BROKERS = _broker(
    "kafka_controller_kafkacontroller_activebrokercount",
    "gauge",
    "Brokers registered and unfenced, as the controller sees them (KRaft).",
)
FENCED_BROKERS = _broker(
    "kafka_controller_kafkacontroller_fencedbrokercount",
    "gauge",
    "Registered brokers that are fenced (KRaft): they lead nothing and take no traffic.",
)
METADATA_ERRORS = _broker(
    "kafka_controller_kafkacontroller_metadataerrorcount",
    "gauge",
    "Errors the controller met loading or applying metadata records (KRaft); above 0 needs a look.",
)
GLOBAL_PARTITIONS = _broker(
    "kafka_controller_kafkacontroller_globalpartitioncount",
    "gauge",
    "Partitions in the cluster, as the controller sees them.",
)
GLOBAL_TOPICS = _broker(
    "kafka_controller_kafkacontroller_globaltopiccount",
    "gauge",
    "Topics in the cluster, as the controller sees them.",
)
PREFERRED_IMBALANCE = _broker(
    "kafka_controller_kafkacontroller_preferredreplicaimbalancecount",
    "gauge",
    "Partitions whose leader is not their preferred replica.",
)
CONTROLLER_RECORD_LAG = _broker(
    "kafka_controller_kafkacontroller_lastappliedrecordlagms",
    "gauge",
    "Milliseconds between the newest applied metadata record's timestamp and now.",
    unit="ms",
)
RAFT_COMMIT_LATENCY_AVG = _broker(
    "kafka_server_raftmetrics_commit_latency_avg",
    "gauge",
    "Average time to commit a record in the KRaft metadata quorum, in milliseconds.",
    unit="ms",
)
RAFT_COMMIT_LATENCY_MAX = _broker(
    "kafka_server_raftmetrics_commit_latency_max",
    "gauge",
    "Longest commit in the KRaft metadata quorum in its recent window, in milliseconds.",
    unit="ms",
)
RAFT_LEADER = _broker(
    "kafka_server_raftmetrics_current_leader",
    "gauge",
    "Node id of the KRaft quorum's current leader as this node sees it (-1: none known).",
)
RAFT_EPOCH = _broker(
    "kafka_server_raftmetrics_current_epoch", "gauge", "Current epoch of the KRaft quorum."
)
RAFT_HIGH_WATERMARK = _broker(
    "kafka_server_raftmetrics_high_watermark",
    "gauge",
    "High watermark of the metadata log as this node knows it.",
)
RAFT_UNKNOWN_VOTERS = _broker(
    "kafka_server_raftmetrics_number_unknown_voter_connections",
    "gauge",
    "Voters this quorum leader has no connection to.",
)
# --- requests -----------------------------------------------------------------------------------
_TOPIC = ' topic is empty on the broker-wide series: aggregate with topic!="" or topic="".'
TOTAL_PRODUCE_REQUESTS = _broker(
    "kafka_server_brokertopicmetrics_totalproducerequests_total",
    "counter",
    "Produce requests this broker handled." + _TOPIC,
    ("target", "topic"),
)
TOTAL_FETCH_REQUESTS = _broker(
    "kafka_server_brokertopicmetrics_totalfetchrequests_total",
    "counter",
    "Fetch requests this broker handled." + _TOPIC,
    ("target", "topic"),
)
FAILED_PRODUCE_REQUESTS = _broker(
    "kafka_server_brokertopicmetrics_failedproducerequests_total",
    "counter",
    "Produce requests that failed on this broker." + _TOPIC,
    ("target", "topic"),
)
FAILED_FETCH_REQUESTS = _broker(
    "kafka_server_brokertopicmetrics_failedfetchrequests_total",
    "counter",
    "Fetch requests that failed on this broker." + _TOPIC,
    ("target", "topic"),
)
REQUESTS = _broker(
    "kafka_network_requestmetrics_requests_total",
    "counter",
    "Requests this broker received, per API and API version.",
    ("target", "request", "version"),
)
ERRORS = _broker(
    "kafka_network_requestmetrics_errors_total",
    "counter",
    "Responses this broker sent, per API and error code name (error=NONE: no error).",
    ("target", "request", "error"),
)
_PART = (
    " in milliseconds, from its Yammer histogram (quantiles over a recent, decaying window; "
    "_sum is mean x count). Per broker: take max, never average or sum quantiles."
)
REQUEST_QUEUE_TIME = _broker(
    "kafka_network_requestmetrics_requestqueuetimems",
    "summary",
    "Time requests waited in the request queue" + _PART,
    ("target", "request"),
    "ms",
)
LOCAL_TIME = _broker(
    "kafka_network_requestmetrics_localtimems",
    "summary",
    "Time requests were processed by the leader" + _PART,
    ("target", "request"),
    "ms",
)
REMOTE_TIME = _broker(
    "kafka_network_requestmetrics_remotetimems",
    "summary",
    "Time requests waited for followers (acks=all) or for data (fetch.min.bytes)" + _PART,
    ("target", "request"),
    "ms",
)
RESPONSE_QUEUE_TIME = _broker(
    "kafka_network_requestmetrics_responsequeuetimems",
    "summary",
    "Time responses waited in the response queue" + _PART,
    ("target", "request"),
    "ms",
)
RESPONSE_SEND_TIME = _broker(
    "kafka_network_requestmetrics_responsesendtimems",
    "summary",
    "Time spent sending responses" + _PART,
    ("target", "request"),
    "ms",
)
REQUEST_QUEUE_SIZE = _broker(
    "kafka_network_requestchannel_requestqueuesize",
    "gauge",
    "Requests waiting in this broker's request queue.",
)
RESPONSE_QUEUE_SIZE = _broker(
    "kafka_network_requestchannel_responsequeuesize",
    "gauge",
    "Responses waiting in this broker's response queues.",
)
CONNECTIONS = _broker(
    "kafka_server_socket_server_metrics_connections",
    "gauge",
    "Open connections per listener and network processor thread (Strimzi: ..._connection_count; "
    "promtool flags a gauge ending in _count).",
    ("target", "listener", "network_processor"),
)

ALL: tuple[Metric, ...] = tuple(v for v in globals().values() if isinstance(v, Metric))
