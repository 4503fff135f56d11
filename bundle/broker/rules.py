"""Broker and client vitals alerts read over JMX: offline log directories, unclean leader
elections, and Java consumers whose time between polls nears max.poll.interval.ms.

Each expression takes `max by` the JMX target first, so a second exporter replica reading the same
broker or client never doubles a count. The unclean-election count takes the max over the brokers
too: in KRaft every controller counts each election (it lives in the controller's metadata
metrics, updated by every controller as it applies the partition change), so a sum would count
one election once per controller.
"""

from __future__ import annotations

from bundle.config import BundleConfig
from bundle.core.model import Alert, Group
from bundle.core.promql import by, label, num, sel
from exporter.catalog import jmx_broker, jmx_client


def _alerts(t: BundleConfig) -> tuple[Alert, ...]:
    s, c = t.common.selector, t.common.cluster_label
    ld, ue, pi = t.offline_log_directory, t.unclean_election, t.poll_interval
    broker = label("target")
    poll_max = jmx_client.BY_ATTRIBUTE[
        ("kafka.consumer", "consumer-metrics", "time-between-poll-max")
    ]
    limit = pi.max_poll_interval_ms * pi.ratio
    return (
        Alert(
            name="KafkaBrokerLogDirectoryOffline",
            expr=f"max {by(c, 'target')} ({sel(jmx_broker.OFFLINE_LOG_DIRS, s)}) > 0",
            for_=ld.for_,
            keep_firing_for=ld.keep_firing_for,
            severity=ld.severity,
            summary="A broker log directory is offline.",
            description=(
                f"Broker {broker} has {{{{ $value }}}} offline log directories (a disk error); "
                "the replicas on them are offline (broker JMX OfflineLogDirectoryCount)."
            ),
            section="offline_log_directory",
            source="broker JMX",
        ),
        Alert(
            name="KafkaUncleanLeaderElection",
            # every KRaft controller counts each election as it applies the metadata record, so
            # the count of the cluster is the highest of any target's, never their sum
            expr=(
                f"max {by(c)} "
                f"(increase({sel(jmx_broker.UNCLEAN_ELECTIONS, s, range_=ue.window)})) > 0"
            ),
            for_=ue.for_,
            keep_firing_for=ue.keep_firing_for,
            severity=ue.severity,
            summary=f"An unclean leader election happened in the last {ue.window}.",
            description=(
                "{{ $value }} unclean leader elections: an out-of-sync replica became leader and "
                "records acknowledged to producers were lost (controller UncleanLeaderElections)."
            ),
            section="unclean_election",
            source="broker JMX",
        ),
        Alert(
            name="KafkaConsumerPollIntervalNearMax",
            expr=(f"max {by(c, 'target', 'client_id')} ({sel(poll_max, s)})\n  > {num(limit)}"),
            for_=pi.for_,
            keep_firing_for=pi.keep_firing_for,
            severity=pi.severity,
            summary=(
                f"A consumer's time between polls is above {pi.ratio:.0%} of "
                f"max.poll.interval.ms ({num(pi.max_poll_interval_ms)} ms)."
            ),
            description=(
                f"Consumer {label('client_id')} on {broker} went {{{{ $value }}}} ms between two "
                f"poll() calls; at {num(pi.max_poll_interval_ms)} ms it leaves its group and the "
                "group rebalances (client JMX time-between-poll-max)."
            ),
            section="poll_interval",
            source="client JMX",
        ),
    )


def groups(t: BundleConfig) -> tuple[Group, ...]:
    return (Group("broker-vitals", _alerts(t)),)
