"""Metric families that turn operational lessons into signals.

Dead-letter and retry topics receiving messages, consumer groups with idle members or too few
partitions for their planned size, rebalance hygiene (eager assignors, dynamic membership, time
spent rebalancing), and a Burrow-style lag status judged from a bounded window of recent polls.
All are derived from the Admin API data of each poll; none needs a lag threshold.
"""

from __future__ import annotations

from exporter.catalog.model import Metric

_DLT = ("topic", "source_topic", "kind")
_G = ("consumergroup",)
_GT = ("consumergroup", "topic")

# --- dead-letter and retry topics -----------------------------------------------------------
DEADLETTER_MESSAGES = Metric(
    "kafka_deadletter_messages_total",
    "counter",
    "Messages ever written to the dead-letter (kind=dlt) or retry (kind=retry) topic: the sum of "
    "its partitions' log-end offsets (transaction markers included). Only rises, and resets when "
    "the topic is recreated, so rate() and increase() give the inflow. source_topic is empty when "
    "the topic it names does not exist. No series in a poll that lacks any partition's offset.",
    _DLT,
    "lessons",
)
DEADLETTER_DEPTH = Metric(
    "kafka_deadletter_depth",
    "gauge",
    "Messages waiting in the dead-letter or retry topic: log-end offset minus the committed offset "
    "of the configured replay group (replay_group), or minus the log-start offset where no replay "
    "group is configured or it has not committed on the partition; summed over partitions.",
    (*_DLT, "replay_group"),
    "lessons",
    unit="short",
)
DEADLETTER_NEWEST_TIMESTAMP = Metric(
    "kafka_deadletter_newest_message_timestamp_seconds",
    "gauge",
    "Unix time of the poll that first saw the topic's log end move: the newest message arrived "
    "within one poll interval before it. Absent until a move has been seen since the exporter "
    "started. Age: time() - this.",
    _DLT,
    "lessons",
    unit="dateTimeAsIso",
)

# --- partition headroom ---------------------------------------------------------------------
GROUP_IDLE_MEMBERS = Metric(
    "kafka_consumergroup_idle_members",
    "gauge",
    "Members of a Stable group that have no partition assigned (more consumers than partitions "
    "to share). No series while the group rebalances, when assignments are briefly empty.",
    _G,
    "lessons",
)
GROUP_TOPIC_MEMBERS = Metric(
    "kafka_consumergroup_topic_members",
    "gauge",
    "Members of the group with at least one partition of the topic assigned.",
    _GT,
    "lessons",
)
GROUP_PLANNED_MEMBERS = Metric(
    "kafka_consumergroup_planned_members",
    "gauge",
    "Consumers the group is planned to scale to on the topic, from the lessons config (a plan "
    "for the group wins over a plan for the topic). Only where a plan is configured.",
    _GT,
    "lessons",
)
GROUP_PARTITION_HEADROOM = Metric(
    "kafka_consumergroup_partition_headroom_ratio",
    "gauge",
    "The topic's partitions divided by the group's planned consumers (or, with no plan, its "
    "current members). Below 1, consumers sit idle; below the target (1.2 by default) the group "
    "cannot grow to its plan plus 20 %.",
    _GT,
    "lessons",
    unit="percentunit",
)

# --- rebalance hygiene ----------------------------------------------------------------------
GROUP_REBALANCING_SECONDS = Metric(
    "kafka_consumergroup_rebalancing_seconds_total",
    "counter",
    "Seconds the group was observed not Stable but rebalancing (PreparingRebalance, "
    "CompletingRebalance, Assigning or Reconciling; Empty, Dead and Unknown do not count): each "
    "poll interval counts in full when both "
    "its ends saw the group rebalancing, half when one did (interval capped at twice the poll "
    "interval). Rebalances shorter than a poll interval and seen by no poll are missed.",
    _G,
    "lessons",
    unit="s",
)
GROUP_DYNAMIC_MEMBERS = Metric(
    "kafka_consumergroup_dynamic_members",
    "gauge",
    "Members without a group.instance.id (dynamic membership): each restart of one leaves and "
    "rejoins the group, which rebalances it.",
    _G,
    "lessons",
)
GROUP_REBALANCE_PROTOCOL = Metric(
    "kafka_consumergroup_rebalance_protocol_info",
    "info",
    "How the group rebalances: eager (range, roundrobin, sticky: every member gives up every "
    "partition), cooperative (cooperative-sticky: only moved partitions stop), consumer "
    "(KIP-848 server-side assignment, group.protocol=consumer), or unknown (no members, or a "
    "custom assignor). Value is always 1.",
    (*_G, "protocol", "assignor"),
    "lessons",
)

# --- lag status -----------------------------------------------------------------------------
PARTITION_STATUS = Metric(
    "kafka_consumergroup_partition_status",
    "gauge",
    "Lag status of the group on the partition, judged over a bounded window of recent polls "
    "(value 1 for the current status): OK, WARN (committing but lag grew every poll), STALL "
    "(committed offset not moving while lag > 0 and a member owns the partition), STOP (not "
    "moving, lag > 0, no member owns it), REWIND (committed offset went back), PAST_END (committed "
    "offset past the log end: the group will reset by auto.offset.reset), UNKNOWN (too few polls "
    "yet). No series where the group has no committed offset.",
    ("consumergroup", "topic", "partition", "status"),
    "lessons",
)
GROUP_STATUS = Metric(
    "kafka_consumergroup_status",
    "gauge",
    "Lag status of the group: the worst of its partitions' statuses, in the order PAST_END, "
    "STALL, STOP, WARN, REWIND, UNKNOWN, OK (value 1 for the current status).",
    ("consumergroup", "status"),
    "lessons",
)

ALL: tuple[Metric, ...] = tuple(v for v in globals().values() if isinstance(v, Metric))
