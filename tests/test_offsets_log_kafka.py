"""Committed offsets from the `__consumer_offsets` log against the Admin API and
kafka-consumer-groups, on a real broker: classic, consumer-protocol (KIP-848) and transactional
commits, deleted groups, offsets deleted through the Admin API, expired offsets, exporter and
broker restarts, and records the parser must skip.

One single-node cluster for the module, with offsets expiring after a minute.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable, Iterator

import pytest
from confluent_kafka import (
    Consumer,
    ConsumerGroupTopicPartitions,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient

from exporter.config import CommittedOffsetsConfig, Config, KafkaConfig
from exporter.sources.admin import AdminSource
from exporter.sources.offsets_log import LogNotReady, OffsetsLogSource
from exporter.sources.stages import Deadline
from harness import jars
from harness.clients import commit_offsets, create_topic
from harness.cluster import KafkaCluster
from harness.procs import HarnessError
from harness.tools import GROUP_COMMAND, describe_group, run_tool

TOPIC = "orders"
Committed = dict[str, dict[tuple[str, int], int]]


@pytest.fixture(scope="module")
def cluster() -> Iterator[KafkaCluster]:
    overrides = {"offsets.retention.minutes": "1", "offsets.retention.check.interval.ms": "1000"}
    try:
        jars.java()
        jars.fetch()
        c = KafkaCluster(1, overrides=overrides).up()
    except HarnessError as exc:
        pytest.fail(f"cannot start a Kafka cluster: {exc}", pytrace=False)
    yield c
    c.down()


def config(bootstrap: str, source: str = "log") -> Config:
    return Config(
        kafka=KafkaConfig(bootstrap_servers=bootstrap),
        committed_offsets=CommittedOffsetsConfig(source=source),  # type: ignore[arg-type]
    )


def started(bootstrap: str, topic: str = "__consumer_offsets") -> OffsetsLogSource:
    source = OffsetsLogSource(config(bootstrap), topic=topic)
    source.start()
    wait_for(lambda: source.ready, 60, "offsets log read to its end")
    return source


def wait_for(check: Callable[[], bool], timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while not check():
        if time.monotonic() > end:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.1)


def admin_committed(admin: AdminClient) -> Committed:
    out: Committed = {}
    for listed in admin.list_consumer_groups().result(timeout=10).valid:
        gid = listed.group_id
        result = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(gid)])
        tps = result[gid].result(timeout=10).topic_partitions or []
        mine = {(tp.topic, tp.partition): tp.offset for tp in tps if tp.offset >= 0}
        if mine:
            out[gid] = mine
    return out


def log_committed(source: OffsetsLogSource) -> Committed:
    view = source.committed(Deadline.after(15))
    return {g: dict(o) for g, o in view.offsets.items()}


def tool_committed(bootstrap: str) -> Committed:
    out: Committed = {}
    for row in describe_group(bootstrap):
        if row.current_offset is not None:
            out.setdefault(row.group, {})[(row.topic, row.partition)] = row.current_offset
    return out


def assert_equal_to_admin(source: OffsetsLogSource, admin: AdminClient) -> Committed:
    """Equal, allowing for a commit or an expiry landing between the two reads."""
    for _ in range(20):
        before = admin_committed(admin)
        from_log = log_committed(source)
        if from_log == before == admin_committed(admin):
            return from_log
        time.sleep(0.3)
    assert log_committed(source) == admin_committed(admin)
    return before


@pytest.fixture(scope="module")
def workload(cluster: KafkaCluster) -> Iterator[dict[str, object]]:
    """Groups of every kind, their consumers kept alive (so their offsets do not expire)."""
    bs = cluster.bootstrap_servers
    create_topic(bs, TOPIC, partitions=3)
    producer = Producer({"bootstrap.servers": bs})
    for i in range(30):
        producer.produce(TOPIC, b"m", partition=i % 3)
    producer.flush(30)
    admin = AdminClient({"bootstrap.servers": bs})
    consumers: list[Consumer] = []
    for protocol in ("classic", "consumer"):
        c = Consumer({"bootstrap.servers": bs, "group.id": f"live-{protocol}",
                      "group.protocol": protocol, "enable.auto.commit": False,
                      "auto.offset.reset": "earliest"})  # fmt: skip
        c.subscribe([TOPIC])
        read = 0
        end = time.monotonic() + 60
        while read < 30 and time.monotonic() < end:
            read += sum(1 for m in c.consume(30, 0.5) if m.error() is None)
        c.commit(asynchronous=False)
        consumers.append(c)
    # transactions: one committed, one aborted
    producer = Producer({"bootstrap.servers": bs, "transactional.id": "offsets-log-tx"})
    producer.init_transactions(30)
    meta = consumers[0].consumer_group_metadata()
    holder = Consumer({"bootstrap.servers": bs, "group.id": "tx-group"})
    meta = holder.consumer_group_metadata()
    for offset, commit in ((4, True), (9, False)):
        producer.begin_transaction()
        producer.send_offsets_to_transaction([TopicPartition(TOPIC, 0, offset)], meta, 30)
        (producer.commit_transaction if commit else producer.abort_transaction)(30)
    holder.close()
    # a group deleted, and offsets deleted through the Admin API
    commit_offsets(bs, "doomed", {(TOPIC, 0): 2, (TOPIC, 1): 2})
    commit_offsets(bs, "trimmed", {(TOPIC, 0): 3, (TOPIC, 1): 5})
    admin.delete_consumer_groups(["doomed"])["doomed"].result(timeout=30)
    # the tool calls the Admin API's deleteConsumerGroupOffsets (the Python client lacks it)
    run_tool(GROUP_COMMAND, ["--bootstrap-server", bs, "--delete-offsets", "--group", "trimmed",
                             "--topic", f"{TOPIC}:0"])  # fmt: skip
    yield {"admin": admin, "consumers": consumers}
    for c in consumers:
        c.close()


def test_log_equals_admin_api_and_the_tool(
    cluster: KafkaCluster, workload: dict[str, object]
) -> None:
    admin: AdminClient = workload["admin"]  # type: ignore[assignment]
    source = started(cluster.bootstrap_servers)
    try:
        committed = assert_equal_to_admin(source, admin)
        assert committed["live-classic"] == {(TOPIC, p): 10 for p in range(3)}
        assert committed["live-consumer"] == {(TOPIC, p): 10 for p in range(3)}
        assert committed["tx-group"] == {(TOPIC, 0): 4}  # the aborted commit (9) never counts
        assert "doomed" not in committed
        assert committed["trimmed"] == {(TOPIC, 1): 5}
        assert tool_committed(cluster.bootstrap_servers) == log_committed(source)
        times = source.committed(Deadline.after(10)).commit_times
        now = time.time()
        assert all(now - 300 < t <= now + 5 for g in times.values() for t in g.values())
        # expiry: groups without members lose their offsets after offsets.retention.minutes
        wait_for(lambda: "trimmed" not in admin_committed(admin), 150, "offsets to expire")
        committed = assert_equal_to_admin(source, admin)
        assert "trimmed" not in committed and "tx-group" not in committed
        assert {"live-classic", "live-consumer"} <= set(committed)
        assert tool_committed(cluster.bootstrap_servers) == committed
        assert not source.status().skipped
    finally:
        source.close()


def test_admin_source_in_log_mode_matches_admin_mode(
    cluster: KafkaCluster, workload: dict[str, object]
) -> None:
    by_admin = AdminSource(config(cluster.bootstrap_servers, "admin"))
    by_log = AdminSource(config(cluster.bootstrap_servers, "log"))
    try:
        wait_for(lambda: by_log.ready, 60, "the log source to be ready")
        for _ in range(10):
            a, b = by_admin.fetch().view, by_log.fetch().view
            assert a is not None and b is not None
            if a.committed == b.committed:
                break
        assert a is not None and b is not None
        assert b.committed == a.committed and b.committed_source == "log"
        assert b.commit_times is not None and b.committed is not None
        assert set(b.commit_times) == set(b.committed)
        assert b.offsets_log is not None and b.offsets_log.ready
        # the groups stage runs beside the committed and offsets stages in log mode: its
        # outcome keeps its place, its event comes first, its groups are the Admin API mode's
        started: list[str] = []
        result = by_log.fetch(started.append)
        order = ["metadata", "groups", "committed", "offsets"]
        assert [o.stage for o in result.stages][:4] == order and started[:4] == order
        assert all(o.ok for o in result.stages), result.stages
        assert result.view is not None and result.view.groups is not None and a.groups is not None
        assert set(result.view.groups) == set(a.groups) and a.groups
    finally:
        by_admin.close()
        by_log.close()


def test_restart_of_the_exporter_and_of_the_broker(
    cluster: KafkaCluster, workload: dict[str, object]
) -> None:
    admin: AdminClient = workload["admin"]  # type: ignore[assignment]
    bs = cluster.bootstrap_servers
    first = started(bs)
    commit_offsets(bs, "restart", {(TOPIC, 2): 7})
    before = assert_equal_to_admin(first, admin)
    first.close()
    second = OffsetsLogSource(config(bs))
    second.start()
    try:
        with pytest.raises(LogNotReady):  # before anything was read: nothing served
            second.committed(Deadline.after(0.1))
        wait_for(lambda: second.ready, 60, "the log read again after a restart")
        assert log_committed(second) == before or assert_equal_to_admin(second, admin)
        cluster.stop(1)
        cluster.start(1)
        commit_offsets(bs, "restart", {(TOPIC, 2): 8})
        admin = AdminClient({"bootstrap.servers": bs})
        committed = assert_equal_to_admin(second, admin)
        assert committed["restart"] == {(TOPIC, 2): 8}
    finally:
        second.close()


def test_unknown_and_corrupt_records_are_counted_and_skipped(cluster: KafkaCluster) -> None:
    bs = cluster.bootstrap_servers
    create_topic(bs, "fake-offsets", partitions=1)

    def s(text: str) -> bytes:
        return struct.pack(">h", len(text)) + text.encode()

    key = struct.pack(">h", 1) + s("g") + s(TOPIC) + struct.pack(">i", 0)
    good = struct.pack(">hqi", 3, 12, 0) + s("") + struct.pack(">q", 1_700_000_000_000)
    producer = Producer({"bootstrap.servers": bs})
    for k, v in [
        (key, good),
        (struct.pack(">h", 99) + s("g"), b"x"),  # unknown record type
        (key, struct.pack(">h", 42) + b"\x00" * 20),  # unknown value version
        (key, struct.pack(">hq", 3, 13)),  # cut short
        (b"\x00", None),  # no room for a version
    ]:
        producer.produce("fake-offsets", key=k, value=v, partition=0)
    producer.flush(10)
    source = started(bs, topic="fake-offsets")
    try:
        assert log_committed(source) == {"g": {(TOPIC, 0): 12}}
        status = source.status()
        assert dict(status.skipped) == {
            "unknown_key_version": 1,
            "unknown_value_version": 1,
            "corrupt": 2,
        }
        assert status.records == 5 and status.ready
    finally:
        source.close()


def offsets_partition(group: str, partitions: int) -> int:
    """The offsets partition of a group, as Kafka picks it: abs(Java hashCode of the id) % n."""
    h = 0
    for unit in struct.unpack(
        f">{len(group.encode('utf-16-be')) // 2}H", group.encode("utf-16-be")
    ):
        h = (31 * h + unit) & 0xFFFFFFFF
    h = h - (1 << 32) if h >= 1 << 31 else h
    return (0 if h == -(1 << 31) else abs(h)) % partitions  # Kafka's Utils.abs


def test_follow_hook_serves_only_the_followed_offsets_partitions(
    cluster: KafkaCluster, workload: dict[str, object]
) -> None:
    """Broker scope: follow only some offsets partitions (here: that of one group, then another)."""
    bs = cluster.bootstrap_servers
    n = len(AdminClient({"bootstrap.servers": bs}).list_topics(timeout=10).topics[
        "__consumer_offsets"].partitions)  # fmt: skip
    wanted = {offsets_partition("live-classic", n)}
    source = OffsetsLogSource(config(bs), follow=lambda: frozenset(wanted))
    source.start()
    try:
        wait_for(lambda: source.ready, 60, "the followed partition read")
        groups = set(log_committed(source))
        assert "live-classic" in groups
        assert all(offsets_partition(g, n) in wanted for g in groups)
        wanted.clear()
        wanted.add(offsets_partition("live-consumer", n))
        wait_for(lambda: "live-consumer" in log_committed(source), 30, "the new partition read")
        assert all(offsets_partition(g, n) in wanted for g in log_committed(source))
        assert source.status().partitions == 1
    finally:
        source.close()
