"""Typed, frozen configuration of kafka-vitals, with every default in this one file.

The YAML file (`--config`), environment variables and command-line flags are read by
`exporter.config.load`, which builds these dataclasses and validates them strictly: unknown keys
are rejected and every problem is reported at once with its key path.

Every key `a.b` can also be set by the environment variable `KAFKA_VITALS_A_B` (upper case, dots
become underscores). Secrets are `Secret` values: they come from the file, an environment variable,
or a `*_file` key naming a file that holds them, and never appear in a repr, log line or label.
The value kinds (`Secret`, the closed sets of choices) are in `exporter.config.kinds`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from exporter.config.kinds import (
    CommittedSource,
    JmxRole,
    LagGranularity,
    LagSecondsMode,
    LogFormat,
    LogLevel,
    ProbeAcks,
    SaslMechanism,
    Scope,
    Secret,
    SecurityProtocol,
    SubjectStrategy,
)

DEFAULT_PORT = 10308
"""The port kafka-vitals listens on by default: free on Prometheus' default port allocations page
(whose range 9100-9999 is full), so it runs beside kafka_exporter (9308) and jmx_exporter."""


def _empty() -> Mapping[str, str]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class KafkaConfig:
    """How to reach the cluster's Admin API."""

    bootstrap_servers: str = ""
    """Comma-separated host:port list. Required."""
    client_id: str = "kafka-vitals"
    """Client id of the Admin API connection, as the brokers log and quota it."""
    security_protocol: SecurityProtocol = "PLAINTEXT"
    """How to connect to the brokers (TLS and/or SASL)."""
    sasl_mechanism: SaslMechanism = ""
    """SASL mechanism, with a SASL security protocol."""
    sasl_username: str = ""
    """SASL user name."""
    sasl_password: Secret = Secret()
    sasl_password_file: str = ""
    """A file whose content (trailing newline stripped) is the SASL password."""
    tls_ca_file: str = ""
    """CA file that verifies the brokers' certificates (default: the system's)."""
    tls_cert_file: str = ""
    """Client certificate file (mutual TLS)."""
    tls_key_file: str = ""
    """Client key file (mutual TLS)."""
    tls_key_password: Secret = Secret()
    tls_key_password_file: str = ""
    """A file whose content (trailing newline stripped) is the client key's password."""
    tls_verify_hostname: bool = True
    """Check that a broker's certificate names the host connected to."""
    request_timeout_seconds: float = 10.0
    """Deadline of each Admin API request."""
    broker_id: int = -1
    """`scope: broker` only: the id of the broker this instance serves (e.g. the pod ordinal of a
    StatefulSet whose broker ids are the ordinals). -1: the broker whose address the bootstrap
    servers give, found in the metadata; an error when they name none or more than one."""
    extra_properties: Mapping[str, str] = field(default_factory=_empty)
    """Any other librdkafka properties, passed as they are (e.g. `socket.keepalive.enable`)."""


@dataclass(frozen=True, slots=True)
class FiltersConfig:
    """Which groups and topics are exported, in every family (lag included).

    A name is kept when it matches at least one allow regex (all, when the list is empty) and no
    deny regex. Regexes are anchored at both ends (Python `re.fullmatch`).
    """

    group_allow: tuple[str, ...] = ()
    group_deny: tuple[str, ...] = ()
    topic_allow: tuple[str, ...] = ()
    topic_deny: tuple[str, ...] = ()
    include_internal_topics: bool = False
    """Export `__consumer_offsets` and other internal topics in every family. Their replication
    health (leader, replicas, ISR, under-replicated, offline, under-min-ISR) is always served."""


@dataclass(frozen=True, slots=True)
class PollConfig:
    """The background poll cycle."""

    interval_seconds: float = 30.0
    """Seconds between the starts of two poll cycles: how often the data served changes. Set
    Prometheus' scrape interval to it, and rate windows to at least 4 times it."""
    stage_timeout_seconds: float = 20.0
    """Deadline of each poll stage; a stage past it fails alone and drops its own series."""
    offsets_in_flight: int = 32
    """Committed-offset requests in flight at once (one group per request)."""
    describe_batch_size: int = 200
    """Groups per describe request."""
    empty_group_describe_seconds: float = 3600.0
    """An Empty group that the listing still shows Empty, on the coordinator the metadata names,
    reuses its last description for between half and all of this time, then is described again.
    Any change of state or coordinator is described at once. 0: describe every group every cycle."""
    topic_config_ttl_seconds: float = 600.0
    """How long topic configs (min.insync.replicas) are cached."""
    lag_granularity: LagGranularity = "partition"
    """`topic` drops the per-partition lag families and keeps the per-topic sums and maxima."""
    series_cap: int = 500_000
    """Largest number of series per family; beyond it series are dropped and counted. 0: no cap."""
    lag_history_points: int = 60
    """Log-end offset points kept per partition for lag in seconds."""
    lag_max_extrapolation_seconds: float = 600.0
    """Cap on lag in seconds beyond the oldest point of the history."""
    lag_seconds_mode: LagSecondsMode = "interpolated"
    """`interpolated`: lag in seconds from the log-end history only (no message read). `exact`:
    for every lagging partition, the age of the message at the committed offset, read with an
    assign-only consumer (needs Read on the topics; falls back to interpolation without it).
    `auto`: exact only where interpolation would extrapolate (the committed offset is older than
    anything the exporter has seen of the partition, as after a restart). The default needs no
    Read ACL (Read would let the exporter read every message); `auto` is the choice where Read
    is granted: it reads only after a restart or for messages older than the history."""


@dataclass(frozen=True, slots=True)
class CommittedOffsetsConfig:
    """Where committed offsets come from."""

    source: CommittedSource = "admin"
    """`admin`: one Admin API request per group each cycle. `log`: read and follow the
    `__consumer_offsets` log (needs Read and Describe on that topic; the cost follows the commit
    rate, not the number of groups, and gives each commit's time). `auto`: the log where the
    principal may read it, else the Admin API (`kafka_vitals_committed_offsets_source` says
    which)."""


@dataclass(frozen=True, slots=True)
class JmxTarget:
    """One JVM to read over JMX."""

    url: str
    """`service:jmx:rmi:///jndi/rmi://host:port/jmxrmi`, or just `host:port`."""
    role: JmxRole
    name: str = ""
    """The `target` label; defaults to host:port."""
    username: str = ""
    password: Secret = Secret()
    """Passed to the query JVM in a private argument file, never on its command line. Prefer
    JMX without a password, bound to loopback inside the pod."""
    password_file: str = ""
    """A file whose content (trailing newline stripped) is the password; read at every poll."""
    timeout_seconds: float = 10.0
    """Hard deadline of one poll of this target, JVM start included; the JVM is killed past it."""


JMX_JAVA_OPTIONS: tuple[str, ...] = (
    "-XX:TieredStopAtLevel=1",
    "-XX:+UseSerialGC",
    "-Xshare:auto",
    "-Xss512k",
    "-Xmx64m",
    "-XX:-UsePerfData",
)
"""JVM flags of each query JVM: fast start and a small footprint (see docs/benchmarks.md)."""


@dataclass(frozen=True, slots=True)
class JmxConfig:
    targets: tuple[JmxTarget, ...] = ()
    max_concurrency: int = 4
    """JMX queries in flight at once (each starts a JVM)."""
    discover_brokers_port: int = 0
    """If set, add every broker from the cluster metadata as a target on this JMX port."""
    discover_timeout_seconds: float = 10.0
    """Deadline of one poll of a discovered broker."""
    java: str = "java"
    """The java executable that runs the jmxquery jar."""
    java_options: tuple[str, ...] = JMX_JAVA_OPTIONS
    """JVM flags of each query JVM."""
    niceness: int = 10
    """Added to each query JVM's CPU niceness (0-19): the query is a short batch job, and the
    broker or application next to it, and the exporter's own poll, come first."""
    partition_mbeans: bool = True
    """Read the per-partition broker MBeans (log size on disk, and the at/under min ISR and
    replica counts of `kafka.cluster:type=Partition`). Each is one JMX round trip of the query
    jar: at 5,000 partitions the poll took 8.6 s instead of 0.64 s (docs/benchmarks.md). False
    never reads them (the broker-wide counts stay; the sizes on disk go)."""
    partition_mbeans_max_partitions: int = 600
    """With `partition_mbeans` on, a broker's per-partition MBeans are read only while it held at
    most this many partitions at its last successful poll (its ReplicaManager PartitionCount);
    about 600 keeps one poll under 1.5 s (docs/benchmarks.md). Before a broker's first successful
    poll they are read; a first poll that times out counts as over the limit. 0: no limit."""


@dataclass(frozen=True, slots=True)
class WebConfig:
    listen_address: str = f":{DEFAULT_PORT}"
    """Address to listen on for the web interface and telemetry (kafka_exporter's port:
    `:9308`)."""
    telemetry_path: str = "/metrics"
    """Path under which to expose metrics."""
    config_file: str = ""
    """Optional web config file (TLS and basic auth), in the Prometheus exporter-toolkit format."""


@dataclass(frozen=True, slots=True)
class LogConfig:
    level: LogLevel = "info"
    """Only log messages with the given severity or above."""
    format: LogFormat = "logfmt"
    """Output format of log messages."""


def _empty_counts() -> Mapping[str, int]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class LessonsConfig:
    """Signals learned from production: dead letters, partition headroom, lag status."""

    dead_letter_patterns: tuple[str, ...] = ()
    """Extra regexes (full match) that recognise dead-letter topics, each with a named group
    `source` for the source topic, e.g. `(?P<source>.+)_deadletter`. Added to the built-in
    `<topic>.DLT` and `<topic>-dlt`."""
    retry_topic_patterns: tuple[str, ...] = ()
    """Extra regexes for retry topics, as above. Added to the built-in `<topic>.RETRY-N` and
    `<topic>-retry-N`."""
    replay_groups: Mapping[str, str] = field(default_factory=_empty)
    """Dead-letter topic -> the consumer group that replays it; its depth is then measured from
    that group's committed offsets instead of from the log start."""
    planned_consumers_by_group: Mapping[str, int] = field(default_factory=_empty_counts)
    """Consumer group -> the number of consumers it is planned to scale to."""
    planned_consumers_by_topic: Mapping[str, int] = field(default_factory=_empty_counts)
    """Topic -> the number of consumers any group reading it is planned to scale to (a group's
    own plan wins)."""
    lag_status_window: int = 10
    """Polls of committed and log-end offsets kept per partition to judge lag status (at least 2;
    smaller values count as 2)."""


REGISTRY_EXCLUDED_TOPICS: tuple[str, ...] = (
    "_.*",
    "kafkasql-.*|registry-events",
    "connect-(configs|offsets|status)",
    ".*-(changelog|repartition)",
)
"""Topics never expected to carry registered payloads: internal and tool topics (`_schemas`,
`__consumer_offsets`, `_confluent-*`), Apicurio's KafkaSQL storage (journal, snapshots, events),
Kafka Connect's state and Kafka Streams' changelog and repartition topics."""


@dataclass(frozen=True, slots=True)
class SchemaRegistryConfig:
    """A Schema Registry with the Confluent API, polled in the same cycle as Kafka."""

    url: str = ""
    """Base URL of the Confluent-compatible API (Apicurio: `http://host:8080/apis/ccompat/v7`).
    Empty: no registry is polled."""
    username: str = ""
    """Basic auth user; with `password`."""
    password: Secret = Secret()
    password_file: str = ""
    bearer_token: Secret = Secret()
    """Sent as `Authorization: Bearer <token>`; not together with `username`."""
    bearer_token_file: str = ""
    """A file whose content (trailing newline stripped) is the token."""
    tls_ca_file: str = ""
    """CA bundle that signs the registry's certificate (default: the system's)."""
    tls_cert_file: str = ""
    """Client certificate (PEM) for mutual TLS; with `tls_key_file`."""
    tls_key_file: str = ""
    tls_verify_hostname: bool = True
    timeout_seconds: float = 10.0
    """Deadline of one whole registry poll; each request gets what is left of it."""
    concurrency: int = 4
    """Requests in flight at once (one connection each, kept alive)."""
    page_size: int = 1000
    """Subjects asked for per `/subjects` request (Apicurio answers at most 1000)."""
    refresh_per_cycle: int = 200
    """Subjects read longest ago whose compatibility and versions are read again each interval,
    oldest first, between polls (after the subjects never read). With N subjects and R read again
    per interval, a change of compatibility alone (no new version) is seen within N / R + 1 polls
    when the reader between polls gets through them; with `cold_read_concurrency` 0 only those the
    poll's `refresh_budget_seconds` reaches are read."""
    refresh_budget_seconds: float = 0.5
    """Time a registry poll may take from its first request: after the listing (global level,
    subject pages, new-id probe), the subjects new since the last listing and those named by a
    new schema id are read only until it is spent; the rest are read between polls. Each poll
    starts at least `concurrency` of those reads, so a poll can pass the budget by about one
    subject read (3 requests) or by the listing itself. With `cold_read_concurrency` 0 the poll
    then goes on, within the same budget, with the subjects never read and the oldest."""
    cold_read_concurrency: int = 4
    """Connections that read between polls, each its own besides `concurrency`: the subjects the
    poll's budget left, those never read (after a start: the cold read, 3 requests a subject),
    then the `refresh_per_cycle` read longest ago. A poll stops them when it begins (a running
    subject read ends) and hands them their subjects when it ends; within 3 s (or a quarter of
    `poll.interval_seconds`, if shorter) before the next poll they start no read but the first
    on each connection. A poll then sends only the listing and the reads of new and changed
    subjects. 0: no reads between polls; each poll reads everything itself (changed, never
    read, oldest) while its `refresh_budget_seconds` lasts, over as many polls as that takes."""
    subject_strategy: SubjectStrategy = "topic"
    """How value subjects are named: `topic` (`<topic>-value`, Confluent's TopicNameStrategy),
    `topic_record` (`<topic>-<record name>`), `record` (`<record name>`: the topic's records come
    from `record_subjects`)."""
    record_subjects: Mapping[str, str] = field(default_factory=_empty)
    """Topic -> the subject its values are registered under (any strategy; wins over it)."""
    exclude_topic_patterns: tuple[str, ...] = REGISTRY_EXCLUDED_TOPICS
    """Regexes (full match) of topics not expected to have a value subject."""
    payload_sampling: bool = False
    """Each cycle, read the newest `payload_sample_messages` messages of every partition of the
    checked topics (the same topics as the value subjects: not internal, not excluded) and check
    their values for the registry wire format and a schema id the registry knows. Needs Read on
    the topics; without it the topic is skipped and the reads are counted as denied."""
    payload_sample_messages: int = 5
    """Newest messages read per partition per cycle when `payload_sampling` is on."""
    payload_sample_timeout_seconds: float = 5.0
    """Deadline of the whole sample of one cycle (reads and schema id look-ups); partitions not
    read by then count only what they gave."""


@dataclass(frozen=True, slots=True)
class ShardConfig:
    """`scope: shard` only: this replica's part of N identical replicas. Groups are split by a
    stable hash of the group id, partitions and topics by a stable hash of the topic name; shard 0
    also serves the cluster-wide series."""

    index: int = 0
    """This replica's index, 0 to count - 1 (a StatefulSet passes its pod ordinal)."""
    count: int = 1
    """How many replicas split the cluster."""


@dataclass(frozen=True, slots=True)
class ProbeConfig:
    """The end-to-end probe: each poll cycle, messages produced to every partition of a topic of
    its own, consumed and committed by a group of its own, timed (see docs/probe.md). Off unless
    enabled: it is the one part of the exporter that writes to the cluster."""

    enabled: bool = False
    """Run the probe (needs Write and Read on `topic`, Read on `group_id`; Create on the topic
    with `create_topic`)."""
    topic: str = "kafka-vitals-probe"
    """The probe's topic. It must have at least one partition per broker, so that every broker
    leads one, with `replication_factor` and `min_insync_replicas` (checked at start)."""
    create_topic: bool = False
    """Create `topic` when it does not exist (with `partitions`, `replication_factor` and
    `min_insync_replicas`); else a missing topic is an error."""
    partitions: int = 0
    """Partitions of a topic the probe creates; 0: as many as there are brokers."""
    replication_factor: int = 3
    """Replication factor the topic must have (and is created with)."""
    min_insync_replicas: int = 2
    """The topic's `min.insync.replicas` (checked; set when the probe creates the topic)."""
    acks: ProbeAcks = "all"
    """The probe producer's `acks`: `all` (every in-sync replica: the latency producers with
    durability feel) or `1` (the leader only). Quote `"1"` in YAML."""
    messages_per_partition: int = 1
    """Messages produced to each partition per poll cycle."""
    payload_bytes: int = 100
    """Size of each message's value (at least 64: it carries the sequence number and time)."""
    group_id: str = "kafka-vitals-probe"
    """The consumer group the probe commits under. It never joins the group (partitions are
    assigned, not subscribed), so no rebalance ever involves it."""
    deadline_seconds: float = 5.0
    """A message not consumed this long after it was produced counts as lost (and as late if it
    arrives after). Below `poll.stage_timeout_seconds`."""


@dataclass(frozen=True, slots=True)
class Config:
    scope: Scope = "cluster"
    """Which series this instance serves (one series, one owner; see docs/deployment.md):
    `cluster` everything; `broker` what the broker beside it owns in Kafka's own terms (the
    partitions it leads, the groups it coordinates, the cluster-wide series while it is the live
    broker with the lowest id); `shard` its part of `shard.count` replicas. Requests shrink with
    the share."""
    kafka: KafkaConfig = field(default_factory=KafkaConfig)
    filters: FiltersConfig = field(default_factory=FiltersConfig)
    poll: PollConfig = field(default_factory=PollConfig)
    committed_offsets: CommittedOffsetsConfig = field(default_factory=CommittedOffsetsConfig)
    jmx: JmxConfig = field(default_factory=JmxConfig)
    web: WebConfig = field(default_factory=WebConfig)
    log: LogConfig = field(default_factory=LogConfig)
    lessons: LessonsConfig = field(default_factory=LessonsConfig)
    schema_registry: SchemaRegistryConfig = field(default_factory=SchemaRegistryConfig)
    shard: ShardConfig = field(default_factory=ShardConfig)
    probe: ProbeConfig = field(default_factory=ProbeConfig)
    collectors: Mapping[str, bool] = field(default_factory=lambda: MappingProxyType({}))
    """Switch collectors on or off by name; every collector is on unless set false here."""
