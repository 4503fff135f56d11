"""Metric families built from the Kafka Admin API (metadata, groups, offsets).

Names follow kafka_exporter where the same thing is exposed, so existing dashboards and rules keep
working. Differences on purpose: no `-1` or negative lag (partitions without a committed offset have
no lag series and are counted in `kafka_consumergroup_uncommitted_partitions`; a committed offset
past the log end is served in `kafka_consumergroup_offset_past_log_end`), Empty groups stay
visible, and deleted groups and topics vanish in the next snapshot.
"""

from __future__ import annotations

from exporter.catalog.model import Metric

_TP = ("topic", "partition")
_GTP = ("consumergroup", "topic", "partition")
_GT = ("consumergroup", "topic")
_G = ("consumergroup",)

# --- brokers -------------------------------------------------------------------------------
BROKERS = Metric(
    "kafka_brokers", "gauge", "Number of brokers in the cluster metadata.", (), "admin"
)
BROKER_INFO = Metric(
    "kafka_broker_info",
    "info",
    "Broker facts from the cluster metadata (value is always 1).",
    ("id", "address", "rack"),
    "admin",
)

# --- topics and partitions -----------------------------------------------------------------
TOPIC_PARTITIONS = Metric(
    "kafka_topic_partitions", "gauge", "Number of partitions of the topic.", ("topic",), "admin"
)
PARTITION_CURRENT_OFFSET = Metric(
    "kafka_topic_partition_current_offset",
    "gauge",
    "Log-end offset of the partition (the offset the next produced message gets).",
    _TP,
    "admin",
)
PARTITION_OLDEST_OFFSET = Metric(
    "kafka_topic_partition_oldest_offset",
    "gauge",
    "Log-start offset of the partition (the oldest offset still retained).",
    _TP,
    "admin",
)
PARTITION_LEADER = Metric(
    "kafka_topic_partition_leader",
    "gauge",
    "Broker id of the partition's leader; -1 when the partition has no leader (offline).",
    _TP,
    "admin",
)
PARTITION_LEADER_IS_PREFERRED = Metric(
    "kafka_topic_partition_leader_is_preferred",
    "gauge",
    "1 if the partition's leader is its preferred (first) replica, else 0.",
    _TP,
    "admin",
)
PARTITION_REPLICAS = Metric(
    "kafka_topic_partition_replicas",
    "gauge",
    "Number of replicas assigned to the partition.",
    _TP,
    "admin",
)
PARTITION_IN_SYNC_REPLICA = Metric(
    "kafka_topic_partition_in_sync_replica",
    "gauge",
    "Number of in-sync replicas of the partition.",
    _TP,
    "admin",
)
PARTITION_UNDER_REPLICATED = Metric(
    "kafka_topic_partition_under_replicated_partition",
    "gauge",
    "1 if the partition has fewer in-sync replicas than replicas, else 0.",
    _TP,
    "admin",
)
PARTITION_OFFLINE = Metric(
    "kafka_topic_partition_offline",
    "gauge",
    "1 if the partition has no leader (no replica can serve it), else 0.",
    _TP,
    "admin",
)
PARTITION_UNDER_MIN_ISR = Metric(
    "kafka_topic_partition_under_min_isr",
    "gauge",
    "1 if the partition has fewer in-sync replicas than the topic's min.insync.replicas "
    "(producers with acks=all are refused), else 0.",
    _TP,
    "admin",
)
TOPIC_MIN_INSYNC_REPLICAS = Metric(
    "kafka_topic_min_insync_replicas",
    "gauge",
    "The topic's effective min.insync.replicas setting.",
    ("topic",),
    "admin",
)

# --- consumer groups: offsets and lag -------------------------------------------------------
GROUP_CURRENT_OFFSET = Metric(
    "kafka_consumergroup_current_offset",
    "gauge",
    "Committed offset of the group on the partition. No series where the group has no committed "
    "offset.",
    _GTP,
    "admin",
)
GROUP_LAG = Metric(
    "kafka_consumergroup_lag",
    "gauge",
    "Messages the group is behind on the partition: max(0, log-end offset - committed offset); "
    "kafka-consumer-groups --describe shows the same except for a committed offset past the log "
    "end, which is 0 here and served in kafka_consumergroup_offset_past_log_end. No series where "
    "the group has no committed offset.",
    _GTP,
    "admin",
    unit="short",
)
GROUP_LAST_COMMIT = Metric(
    "kafka_consumergroup_last_commit_timestamp_seconds",
    "gauge",
    "Unix time at which the group committed its current offset on the partition, from the "
    "commit record in __consumer_offsets (committed_offsets.source log, or auto reading the log); "
    "time() minus it is the time since the group last committed there. No series with the Admin "
    "API source, which does not give commit times.",
    _GTP,
    "admin",
    unit="dateTimeAsIso",
)
GROUP_CURRENT_OFFSET_SUM = Metric(
    "kafka_consumergroup_current_offset_sum",
    "gauge",
    "Sum of the group's committed offsets over the topic's partitions.",
    _GT,
    "admin",
)
GROUP_LAG_SUM = Metric(
    "kafka_consumergroup_lag_sum",
    "gauge",
    "Sum of the group's lag over the topic's partitions that have a committed offset.",
    _GT,
    "admin",
    unit="short",
)
GROUP_LAG_MAX = Metric(
    "kafka_consumergroup_lag_max",
    "gauge",
    "Largest partition lag of the group over all its topics.",
    _G,
    "admin",
    unit="short",
)
GROUP_LAG_SECONDS = Metric(
    "kafka_consumergroup_lag_seconds",
    "gauge",
    "How long ago the partition's log end was at the group's committed offset (about how long "
    "the oldest unconsumed message has waited); 0 when caught up. Interpolated between the "
    "log-end offsets recorded at each poll (a bounded history per partition); an offset older "
    "than the history is extrapolated at the rate seen while the log end moved, capped; an idle "
    "stretch keeps its "
    "start, so on an idle topic a lagging group's value grows with time. History reset when an "
    "offset goes backwards; absent when a lagging partition has been seen only once.",
    _GTP,
    "admin",
    unit="s",
)
GROUP_LAG_SECONDS_MAX = Metric(
    "kafka_consumergroup_lag_seconds_max",
    "gauge",
    "Largest partition lag in seconds of the group over all its topics.",
    _G,
    "admin",
    unit="s",
)
GROUP_UNCOMMITTED_PARTITIONS = Metric(
    "kafka_consumergroup_uncommitted_partitions",
    "gauge",
    "Partitions of a topic the group consumes (assigned, or committed on another partition of the "
    "topic) that have no committed offset; they have no lag series.",
    _GT,
    "admin",
)

GROUP_OFFSET_PAST_LOG_END = Metric(
    "kafka_consumergroup_offset_past_log_end",
    "gauge",
    "How many offsets the group's committed offset lies past the partition's log end "
    "(committed - log end; kafka-consumer-groups --describe shows it as negative lag). Left by a "
    "topic recreated under the group, an unclean leader election or a restore: the group's next "
    "fetch resets by auto.offset.reset. Series only where the offset is past the log end.",
    _GTP,
    "admin",
    unit="short",
)
GROUP_PARTITIONS_PAST_LOG_END = Metric(
    "kafka_consumergroup_partitions_past_log_end",
    "gauge",
    "Partitions of the topic on which the group's committed offset lies past the log end (0 "
    "normally); served for every topic the group has committed offsets on.",
    _GT,
    "admin",
)
GROUP_LOG_END_UNREAD_PARTITIONS = Metric(
    "kafka_consumergroup_log_end_unread_partitions",
    "gauge",
    "Partitions with a committed offset of the group whose log-end offset could not be read this "
    "cycle (no leader, or no answer): their lag uses the log end read last, which stays exact for "
    "a partition without a leader (nothing can be produced to it). A partition never read has no "
    "lag series.",
    _G,
    "admin",
)

# --- consumer groups: membership and state --------------------------------------------------
GROUP_MEMBERS = Metric(
    "kafka_consumergroup_members",
    "gauge",
    "Number of members in the group.",
    _G,
    "admin",
)
GROUP_STATE = Metric(
    "kafka_consumergroup_state",
    "gauge",
    "The group's current state as a label (Stable, PreparingRebalance, CompletingRebalance, "
    "Empty, Dead, Assigning, Reconciling, Unknown); value is always 1.",
    ("consumergroup", "state"),
    "admin",
)
GROUP_INFO = Metric(
    "kafka_consumergroup_info",
    "info",
    "Group facts: type (classic or consumer), partition assignor, coordinator broker id, and "
    "whether it is a simple (member-less, offsets-only) group. Value is always 1.",
    ("consumergroup", "type", "assignor", "coordinator", "simple"),
    "admin",
)
GROUP_REBALANCES = Metric(
    "kafka_consumergroup_rebalances_total",
    "counter",
    "Rebalances observed between polls: the group was seen rebalancing, or its member set or "
    "assignment changed. A lower bound: rebalances that start and end between two polls with "
    "the same members are not seen.",
    _G,
    "admin",
)

ALL: tuple[Metric, ...] = tuple(v for v in globals().values() if isinstance(v, Metric))
