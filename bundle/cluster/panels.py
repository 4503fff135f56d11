"""The rows of the brokers dashboard that read the jmx_exporter-parity families: the thread pools'
idle time, disk, errors, the request-time breakdown and each broker's JVM.

As in `bundle.dashboards.brokers`, every per-broker value is taken with `max by (target)` first, so
two exporter replicas reading one broker never double it. The request-time parts are drawn as means
(rate of `_sum` over rate of `_count`): means add up to the total time, quantiles do not. The JVM
panels select `target!=""` (the series without a target are the exporter's own process) and keep
the targets that are brokers (clients' JVMs write the same families).
"""

from __future__ import annotations

from grafanalib import core as g

from bundle.cluster import signals
from bundle.dashboards.common import Scope
from bundle.dashboards.panels import Q, timeseries
from exporter.catalog import Metric, jmx, jmx_broker, jvm

B = 'target=~"$broker"'
JVM = 'target!=""'
T = 'topic=~"$topic"'
BROKER_WIDE = 'topic=""'
NOT_NONE = 'error!="NONE"'
REQUEST_TYPES = ("Produce", "FetchConsumer", "FetchFollower")
PARTS: tuple[tuple[str, Metric], ...] = (
    ("request queue", jmx_broker.REQUEST_QUEUE_TIME),
    ("local", jmx_broker.LOCAL_TIME),
    ("remote", jmx_broker.REMOTE_TIME),
    ("response queue", jmx_broker.RESPONSE_QUEUE_TIME),
    ("response send", jmx_broker.RESPONSE_SEND_TIME),
)

Placed = list[tuple[g.Panel, int]]


def disk(sc: Scope) -> Placed:
    per_topic = sc.by("topic")
    size = f"max {sc.by('target', 'topic')} ({sc.sel(jmx_broker.TOPIC_LOG_SIZE, B, T)})"
    return [
        (
            timeseries(
                "Partition size on disk by topic",
                "Bytes of each topic's partition logs on disk, summed over the brokers holding "
                "a replica (each replica takes its own space).",
                "bytes",
                [Q(f"sum {per_topic} ({size})", "{{topic}}")],
            ),
            12,
        ),
        (
            timeseries(
                "Offline log directories",
                "Log directories each broker took offline after a disk error; the replicas on "
                "them are offline until the broker restarts with a working disk.",
                "short",
                [
                    Q(
                        f"max {sc.by('target')} ({sc.sel(jmx_broker.OFFLINE_LOG_DIRS, B)})",
                        "{{target}}",
                    )
                ],
                links=sc.runbooks_if_shipped("KafkaBrokerLogDirectoryOffline"),
            ),
            12,
        ),
    ]


def errors(sc: Scope) -> Placed:
    per = sc.by("target")

    def failed(metric: Metric) -> str:
        return f"sum {per} ({sc.rate(metric, B, BROKER_WIDE)})"

    by_error = sc.by("request", "error")
    api_errors = (
        f"sum {by_error} (max {sc.by('target', 'request', 'error')} "
        f"({sc.rate(jmx_broker.ERRORS, B, NOT_NONE)}))"
    )
    return [
        (
            timeseries(
                "Failed produce and fetch requests",
                "Produce and fetch requests per second that failed on each broker (broker-wide "
                'series, topic=""): invalid records, missing topics, leadership moves.',
                "reqps",
                [
                    Q(failed(jmx_broker.FAILED_PRODUCE_REQUESTS), "produce {{target}}"),
                    Q(failed(jmx_broker.FAILED_FETCH_REQUESTS), "fetch {{target}}"),
                ],
            ),
            12,
        ),
        (
            timeseries(
                "Errors per API",
                "Responses per second with an error code, per request type and error, summed "
                "over the brokers (error NONE left out).",
                "reqps",
                [Q(api_errors, "{{request}} {{error}}")],
            ),
            12,
        ),
    ]


def request_time(sc: Scope) -> Placed:
    per = sc.by("target")

    def mean(metric: Metric, request: str) -> str:
        is_ = f'request="{request}"'
        total = f"max {per} ({sc.rate(metric, B, is_, sample='_sum')})"
        count = f"max {per} ({sc.rate(metric, B, is_, sample='_count')})"
        return f"{total} / {count}"

    return [
        (
            timeseries(
                f"{request} time breakdown",
                f"Mean time of a {request} request in each of its five parts, per broker, "
                "stacked: they add up to the total time. Request queue or response queue "
                "growing: the broker's threads are short; remote: waiting for followers "
                "(acks=all) or for data (fetch.min.bytes); local: the disk.",
                "ms",
                [Q(mean(metric, request), f"{part} {{{{target}}}}") for part, metric in PARTS],
                stack=True,
            ),
            8,
        )
        for request in REQUEST_TYPES
    ]


def _brokers_only(sc: Scope, expr: str) -> str:
    """`expr` kept for the targets that are brokers (they have the broker-only
    UnderReplicatedPartitions): the JVM families are written for Java clients too."""
    on = ", ".join(x for x in (sc.cluster_label, "target") if x)
    return f"{expr} and on ({on}) {signals.per_broker(sc, jmx.UNDER_REPLICATED, B)}"


def jvm_row(sc: Scope) -> Placed:
    per = sc.by("target")
    by_area = sc.by("target", "area")
    return [
        (
            timeseries(
                "JVM heap and non-heap used",
                "Bytes of JVM memory in use per broker, heap and non-heap (java.lang Memory).",
                "bytes",
                [
                    Q(
                        _brokers_only(sc, f"max {by_area} ({sc.sel(jvm.MEMORY_USED, B, JVM)})"),
                        "{{area}} {{target}}",
                    )
                ],
            ),
            6,
        ),
        (
            timeseries(
                "GC time per collector",
                "Seconds per second each garbage collector ran, per broker (rate of its "
                "collection time).",
                "percentunit",
                [
                    Q(
                        _brokers_only(
                            sc,
                            f"max {sc.by('target', 'gc')} "
                            f"({sc.rate(jvm.GC, B, JVM, sample='_sum')})",
                        ),
                        "{{gc}} {{target}}",
                    )
                ],
            ),
            6,
        ),
        (
            timeseries(
                "Threads and open file descriptors",
                "Live JVM threads and open file descriptors per broker (a descriptor leak or "
                "too many connections shows here before the broker fails).",
                "short",
                [
                    Q(
                        _brokers_only(sc, f"max {per} ({sc.sel(jvm.THREADS, B, JVM)})"),
                        "threads {{target}}",
                    ),
                    Q(
                        _brokers_only(sc, f"max {per} ({sc.sel(jvm.OPEN_FDS, B, JVM)})"),
                        "fds {{target}}",
                    ),
                ],
            ),
            6,
        ),
        (
            timeseries(
                "JVM process CPU",
                "CPU seconds per second the broker's JVM used (1 = one core).",
                "short",
                [
                    Q(
                        _brokers_only(sc, f"max {per} ({sc.rate(jvm.CPU_SECONDS, B, JVM)})"),
                        "{{target}}",
                    )
                ],
            ),
            6,
        ),
    ]


def threads(sc: Scope) -> Placed:
    per = sc.by("target")
    return [
        (
            timeseries(
                "Request handler idle",
                "Fraction of time the request handler threads were "
                "idle (one-minute rate). Below 0.3 the broker starts queueing requests. On a "
                "combined broker+controller node Kafka counts both handler pools, so it can "
                "reach 2.",
                "percentunit",
                [Q(f"max {per} ({sc.sel(jmx.REQUEST_HANDLER_IDLE, B)})", "{{target}}")],
            ),
            12,
        ),
        (
            timeseries(
                "Network processor idle",
                "Fraction of time the network processor threads "
                "were idle. Below 0.3 the broker cannot read requests fast enough.",
                "percentunit",
                [Q(f"max {per} ({sc.sel(jmx.NETWORK_PROCESSOR_IDLE, B)})", "{{target}}")],
                max_value=1,
            ),
            12,
        ),
    ]
