"""Names, labels and types of every JMX family checked against jmx_exporter's conventions.

The rules below restate, as regular expressions, what Strimzi's metrics configuration for
jmx_exporter (the Kafka example's generic rules, plus Strimzi's special cases) and Confluent's
client configuration do with an MBean: jmx_exporter matches
`domain<key=value, ...><>attribute: value` against each rule in turn (first match wins), fills the
name and labels from the groups, replaces characters outside `[a-zA-Z0-9_:]` by `_` and lowers the
name. One MBean per mapping of the collectors goes through both that engine and the real
collectors; the exposed names and labels must agree, except for the deviations docs/metrics.md
lists (kept in `DEVIATIONS` here, so a new one fails the test until it is written down).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator

from prometheus_client.parser import text_string_to_metric_families

from exporter import catalog
from exporter.collectors.base import CycleData
from exporter.collectors.broker_jmx import BrokerJmxCollector
from exporter.collectors.client_jmx import ClientJmxCollector
from exporter.collectors.jvm_jmx import JvmJmxCollector
from exporter.config import Config
from exporter.render import Renderer
from exporter.snapshot import SnapshotBuilder
from exporter.sources import jmx_queries as jq
from exporter.sources.jmx_model import JmxValue, TargetResult, parse_object_name

_KV2 = r"(.+)=(.+), (.+)=(.+)"
_BROKER_RULES: tuple[tuple[str, str, dict[str, str]], ...] = (
    (r"kafka.server<type=socket-server-metrics, listener=(.+), networkProcessor=(.+)>"
     r"<>connection-count", "kafka_server_socket_server_metrics_connection_count",
     {"listener": "$1", "networkProcessor": "$2"}),
    (r"kafka.(\w+)<type=(.+), name=(.+)Percent\w*><>MeanRate", "kafka_$1_$2_$3_percent", {}),
    (r"kafka.(\w+)<type=(.+), name=(.+)Percent\w*><>Value", "kafka_$1_$2_$3_percent", {}),
    (rf"kafka.(\w+)<type=(.+), name=(.+)PerSec\w*, {_KV2}><>Count", "kafka_$1_$2_$3_total",
     {"$4": "$5", "$6": "$7"}),
    (r"kafka.(\w+)<type=(.+), name=(.+)PerSec\w*, (.+)=(.+)><>Count", "kafka_$1_$2_$3_total",
     {"$4": "$5"}),
    (r"kafka.(\w+)<type=(.+), name=(.+)PerSec\w*><>Count", "kafka_$1_$2_$3_total", {}),
    (rf"kafka.(\w+)<type=(.+), name=(.+), {_KV2}><>Value", "kafka_$1_$2_$3",
     {"$4": "$5", "$6": "$7"}),
    (r"kafka.(\w+)<type=(.+), name=(.+), (.+)=(.+)><>Value", "kafka_$1_$2_$3", {"$4": "$5"}),
    (r"kafka.(\w+)<type=(.+), name=(.+)><>Value", "kafka_$1_$2_$3", {}),
    (r"kafka.(\w+)<type=(.+), name=(.+), (.+)=(.+)><>Count", "kafka_$1_$2_$3_count",
     {"$4": "$5"}),
    (r"kafka.(\w+)<type=(.+), name=(.+), (.+)=(.*)><>(\d+)thPercentile", "kafka_$1_$2_$3",
     {"$4": "$5", "quantile": "0.$6"}),
    (r"kafka.server<type=raft-metrics><>(.+):", "kafka_server_raftmetrics_$1", {}),
)  # fmt: skip
_CLIENT_RULES: tuple[tuple[str, str, dict[str, str]], ...] = (
    (r"kafka.(.+)<type=(.+), (.+)=(.+), (.+)=(.+), (.+)=(.+)><>(.+):", "kafka_$1_$2_$9",
     {"client_type": "$1", "$3": "$4", "$5": "$6", "$7": "$8"}),
    (r"kafka.(.+)<type=(.+), (.+)=(.+)><>(.+):", "kafka_$1_$2_$5",
     {"client_type": "$1", "$3": "$4"}),
)  # fmt: skip

JVM_NAMES = {
    ("Memory", "HeapMemoryUsage/used"): ("jvm_memory_bytes_used", {"area": "heap"}),
    ("Memory", "NonHeapMemoryUsage/max"): ("jvm_memory_bytes_max", {"area": "nonheap"}),
    ("Memory", "HeapMemoryUsage/committed"): ("jvm_memory_bytes_committed", {"area": "heap"}),
    ("MemoryPool", "Usage/used"): ("jvm_memory_pool_bytes_used", {"pool": "G1 Old Gen"}),
    ("GarbageCollector", "CollectionCount"): ("jvm_gc_collection_seconds_count",
                                              {"gc": "G1 Young Generation"}),
    ("GarbageCollector", "CollectionTime"): ("jvm_gc_collection_seconds_sum",
                                             {"gc": "G1 Young Generation"}),
    ("Threading", "ThreadCount"): ("jvm_threads_current", {}),
    ("Threading", "DaemonThreadCount"): ("jvm_threads_daemon", {}),
    ("Threading", "PeakThreadCount"): ("jvm_threads_peak", {}),
    ("Threading", "TotalStartedThreadCount"): ("jvm_threads_started_total", {}),
    ("OperatingSystem", "OpenFileDescriptorCount"): ("process_open_fds", {}),
    ("OperatingSystem", "MaxFileDescriptorCount"): ("process_max_fds", {}),
    ("OperatingSystem", "ProcessCpuTime"): ("process_cpu_seconds_total", {}),
    ("Runtime", "StartTime"): ("process_start_time_seconds", {}),
}  # fmt: skip
"""The names jmx_exporter's built-in JVM collectors give (Prometheus Java client, hotspot)."""

DEVIATIONS = {
    # label names snake_case for promtool; the follower lag's constant clientId dropped
    "label:networkProcessor": "network_processor",
    "label:logDirectory": "log_directory",
    "label:clientId": None,
    # kafka-vitals does not write Confluent's constant client_type label
    "label:client_type": None,
    # promtool flags a gauge ending in _count
    "name:kafka_server_socket_server_metrics_connection_count": (
        "kafka_server_socket_server_metrics_connections"
    ),
}


def _safe(name: str) -> str:
    return re.sub(r"_+", "_", re.sub(r"[^a-zA-Z0-9_:]", "_", name))


def _fill(template: str, m: re.Match[str]) -> str:
    return re.sub(r"\$(\d+)", lambda g: m.group(int(g.group(1))) or "", template)


def expected(v: JmxValue, client: bool) -> tuple[str, dict[str, str]]:
    """The sample name and labels jmx_exporter's rules give `v` (KeyError if no rule matches)."""
    keys = ", ".join(f"{k}={val}" for k, val in v.keys)
    text = f"{v.domain}<{keys}><>{v.attribute}: {v.value}"
    for pattern, name, labels in _CLIENT_RULES if client else _BROKER_RULES:
        m = re.match(f"^.*?(?:{pattern}).*?$", text)
        if m:
            out = {}
            for key, value in labels.items():
                label = _safe(_fill(key, m))
                label = label.lower() if client else label
                out[label] = _fill(value, m).strip('"')
            return _safe(_fill(name, m)).lower(), out
    raise KeyError(text)


def val(name: str, attribute: str, value: float = 3.0) -> JmxValue:
    domain, keys = parse_object_name(name)
    return JmxValue(domain, keys, attribute, value)


def broker_values() -> Iterator[JmxValue]:
    for prefix, name in jq.BROKER_GAUGES:
        yield val(f"{prefix},name={name}", "Value")
    for prefix, name in jq.BROKER_COUNTERS:
        yield val(f"{prefix},name={name}", "Count")
    for part in jq.REQUEST_TIME_PARTS:
        for request in jq.REQUEST_TYPES:
            bean = f"kafka.network:type=RequestMetrics,name={part},request={request}"
            every = part == "TotalTimeMs"
            for attribute in (*(jq.PERCENTILE_ATTRIBUTES if every else jq.PART_PERCENTILES),
                              "Count"):  # fmt: skip
                yield val(bean, attribute)
    for name in jq.BROKER_TOPIC_COUNTERS:
        yield val(f"kafka.server:type=BrokerTopicMetrics,name={name},topic=orders", "Count")
    yield val("kafka.network:type=RequestMetrics,name=RequestsPerSec,request=Produce,version=9",
              "Count")  # fmt: skip
    yield val("kafka.network:type=RequestMetrics,name=ErrorsPerSec,request=Fetch,error=NONE",
              "Count")  # fmt: skip
    yield val("kafka.log:type=Log,name=Size,topic=orders,partition=2", "Value")
    yield val('kafka.log:type=LogManager,name=LogDirectoryOffline,logDirectory="/data/a"', "Value")
    for name in ("AtMinIsr", "UnderMinIsr", "ReplicasCount"):
        yield val(f"kafka.cluster:type=Partition,name={name},topic=orders,partition=2", "Value")
    yield val("kafka.server:type=ReplicaFetcherManager,name=MaxLag,clientId=Replica", "Value")
    yield val("kafka.server:type=socket-server-metrics,listener=PLAINTEXT,networkProcessor=0",
              "connection-count")  # fmt: skip
    for attribute in jq.RAFT_ATTRIBUTES:
        yield val("kafka.server:type=raft-metrics", attribute)


def client_values() -> Iterator[JmxValue]:
    for query in jq.CLIENT_QUERIES:
        if not query.pattern.startswith("kafka.") or "type=app-info" in query.pattern:
            continue  # app-info's text attributes: see the test of the app_info families
        bean = query.pattern.replace("client-id=*", "client-id=app-1").replace(
            "topic=*,partition=*", "topic=orders,partition=2"
        )
        for attribute in query.attributes:
            yield val(bean, attribute)


def exposed(values: list[JmxValue], role: str) -> set[tuple[str, frozenset[tuple[str, str]]]]:
    result = TargetResult("t1", role, True, 0.1, tuple(values))
    out = SnapshotBuilder()
    for collector in (BrokerJmxCollector, ClientJmxCollector, JvmJmxCollector):
        collector(Config()).collect(CycleData(now=0.0, jmx={"t1": result}), out)
    text = Renderer().render(out.build(0.0)).text.decode()
    found = set()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.labels.get("target") == "t1":
                labels = {k: v for k, v in sample.labels.items() if k != "target"}
                found.add((sample.name, frozenset(labels.items())))
    return found


def _apply_deviations(labels: dict[str, str]) -> frozenset[tuple[str, str]]:
    out = {}
    for key, value in labels.items():
        renamed = DEVIATIONS.get(f"label:{key}", key)
        if renamed is not None:
            out[renamed] = value
    return frozenset(out.items())


def _check(values: list[JmxValue], role: str, client: bool) -> None:
    found = exposed(values, role)
    missing = []
    for v in values:
        attribute = "MeanRate" if v.attribute == "OneMinuteRate" else v.attribute
        name, labels = expected(JmxValue(v.domain, v.keys, attribute, v.value), client)
        name = DEVIATIONS.get(f"name:{name}") or name
        if (name, _apply_deviations(labels)) not in found:
            missing.append(f"{name}{labels} from {v.domain}:{v.keys}/{v.attribute}")
    assert not missing, "not exposed as jmx_exporter names it:\n" + "\n".join(missing)


def test_broker_families_are_named_and_labelled_as_strimzi_and_jmx_exporter_do() -> None:
    values = [
        *broker_values(),
        val("kafka.server:type=KafkaRequestHandlerPool,name=RequestHandlerAvgIdlePercent",
            "OneMinuteRate", 0.5),
    ]  # fmt: skip
    _check(values, "broker", client=False)


def test_client_families_are_named_and_labelled_as_jmx_exporter_client_rules_do() -> None:
    _check(list(client_values()), "client", client=True)


def test_client_app_info_is_an_info_series_with_the_text_attributes_as_labels() -> None:
    """jmx_exporter reads no text as a value; the client configurations' app-info rule writes
    value 1 with the attribute as a label, `kafka_<consumer|producer>_app_info`. Here both text
    attributes are labels of one series per client."""
    values = []
    for query in jq.CLIENT_QUERIES:
        if "type=app-info" in query.pattern:
            domain, keys = parse_object_name(query.pattern.replace("client-id=*", "client-id=a"))
            values += [JmxValue(domain, keys, attribute, math.nan, f"{attribute}-text")
                       for attribute in query.attributes]  # fmt: skip
    found = exposed(values, "client")
    for client in ("consumer", "producer"):
        labels = {("client_id", "a"), ("version", "version-text"), ("commit_id", "commit-id-text")}
        assert (f"kafka_{client}_app_info", frozenset(labels)) in found, found


def test_quantile_labels_are_the_ones_jmx_exporter_writes() -> None:
    assert sorted(jq.PERCENTILE_ATTRIBUTES.values()) == [
        "0.50", "0.75", "0.95", "0.98", "0.99", "0.999",
    ]  # fmt: skip
    bean = "kafka.network:type=RequestMetrics,name=TotalTimeMs,request=Produce"
    for attribute, quantile in jq.PERCENTILE_ATTRIBUTES.items():
        assert expected(val(bean, attribute), client=False)[1]["quantile"] == quantile


def test_jvm_families_have_the_builtin_collector_names() -> None:
    values = []
    for (kind, attribute), (_name, labels) in JVM_NAMES.items():
        extra = ""
        if "pool" in labels:
            extra = f",name={labels['pool']}"
        elif "gc" in labels:
            extra = f",name={labels['gc']}"
        values.append(val(f"java.lang:type={kind}{extra}", attribute, 5000.0))
    found = exposed(values, "broker")
    for name, labels in JVM_NAMES.values():
        assert (name, frozenset(labels.items())) in found, name


def test_every_jmx_family_type_follows_its_name() -> None:
    """Counters end in _total and only counters do; summaries are the Yammer histograms and GC."""
    for metric in catalog.ALL:
        if metric.source not in ("jmx_broker", "jmx_client", "jmx_jvm"):
            continue
        assert (metric.type == "counter") == metric.name.endswith("_total"), metric.name
        if metric.type == "summary":
            assert metric.name.endswith("timems") or metric.name == "jvm_gc_collection_seconds"


def test_the_partition_switch_drops_only_the_per_partition_patterns() -> None:
    full, short = jq.queries_for("broker"), jq.queries_for("broker", partition_mbeans=False)
    dropped = {q.pattern for q in full} - {q.pattern for q in short}
    assert dropped == {
        "kafka.log:type=Log,name=Size,*",
        "kafka.cluster:type=Partition,name=AtMinIsr,*",
        "kafka.cluster:type=Partition,name=UnderMinIsr,*",
        "kafka.cluster:type=Partition,name=ReplicasCount,*",
    }
    assert jq.queries_for("client", partition_mbeans=False) == jq.queries_for("client")
