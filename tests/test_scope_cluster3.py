"""One series, one owner on a real 3-node cluster.

Three broker-scope instances (one per broker, each bootstrapped from its own broker only, the
broker id found from that address) and three shard-scope instances serve, together, exactly the
series of one cluster-scope instance: the same set, the same values, no series twice. Stopping the
broker with the lowest id (it leads partitions, coordinates groups and serves the cluster-wide
series) moves its share to the survivors within two poll cycles; starting it again moves it back.
A real Prometheus scraping three broker-scope `kafka-vitals serve` sees each group's lag once (the
sum over instances is the central value) and the shipped rules fire once for a lagging group and
for a stopped broker. A broker id that is not in the cluster, or a bootstrap list naming several
brokers, is a one-line error and exit 2 at start.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from bundle.outputs import RULES_PATH
from exporter.catalog import admin as cat
from exporter.catalog import lessons
from exporter.cli import main
from exporter.config import (
    Config,
    FiltersConfig,
    KafkaConfig,
    LessonsConfig,
    PollConfig,
    ShardConfig,
)
from exporter.ownership import offsets_partition
from exporter.poller import Poller
from exporter.snapshot import Snapshot
from exporter.sources.admin import AdminSource
from harness import clients, procs, tools
from harness.cluster import KafkaCluster
from harness.procs import wait_for
from harness.prom import PrometheusServer
from tests.cli_run import get, run, spawn_serve

pytestmark = pytest.mark.kafka

Key = tuple[str, tuple[str, ...], str]

TIMED = frozenset(
    {
        cat.GROUP_LAG_SECONDS.name,
        cat.GROUP_LAG_SECONDS_MAX.name,
        lessons.DEADLETTER_NEWEST_TIMESTAMP.name,
        cat.GROUP_REBALANCES.name,
        lessons.GROUP_REBALANCING_SECONDS.name,
    }
)
"""Families whose values depend on when an instance first saw an offset, or count what it saw
between its own polls (a new owner starts again at 0): compared as a set of series."""


@dataclass
class Setup:
    cluster: KafkaCluster
    topics: list[str]
    groups: list[str]
    filters: FiltersConfig
    consumers: list[tools.JavaClient]


def series(snap: Snapshot) -> dict[Key, float]:
    """Every series but the exporter's own health."""
    return {
        (m.name, s.labels, s.suffix): s.value
        for m, family in snap.families.items()
        if m.source != "own"
        for s in family
    }


def config(setup: Setup, **kw: object) -> Config:
    bootstrap = str(kw.pop("bootstrap", setup.cluster.bootstrap_servers))
    filters = kw.pop("filters", setup.filters)
    return Config(
        kafka=KafkaConfig(bootstrap_servers=bootstrap, request_timeout_seconds=5),
        filters=filters,  # type: ignore[arg-type]
        poll=PollConfig(interval_seconds=1, stage_timeout_seconds=15),
        lessons=LessonsConfig(lag_status_window=2),
        **kw,  # type: ignore[arg-type]
    )


@pytest.fixture(scope="module")
def setup(kafka_cluster3: KafkaCluster) -> Iterator[Setup]:
    cluster = kafka_cluster3
    bootstrap = cluster.bootstrap_servers
    orders, payments, dlt = "scope-orders", "scope-payments", "scope-orders.DLT"
    for topic, n in ((orders, 6), (payments, 3), (dlt, 2)):
        clients.create_topic(bootstrap, topic, partitions=n, replication_factor=3)
        for p in range(n):
            clients.produce_messages(bootstrap, topic, 5 + p, partition=p)
    empty = [f"scope-empty-{i}" for i in range(9)]
    for i, group in enumerate(empty):
        clients.commit_offsets(bootstrap, group, {(orders, p): p % 3 + i % 2 for p in range(6)})
    stable, kip848 = "scope-stable", "scope-kip848"
    consumers = [
        tools.start_console_consumer(bootstrap, payments, stable, jmx=False),
        tools.start_console_consumer(
            bootstrap, orders, kip848, jmx=False,
            properties={"group.protocol": "consumer", "auto.commit.interval.ms": "500"},
        ),
    ]  # fmt: skip
    groups = [*empty, stable, kip848]
    topics = [orders, payments, dlt]
    filters = FiltersConfig(
        topic_allow=tuple(re.escape(t) for t in topics),
        group_allow=tuple(re.escape(g) for g in groups),
    )
    try:

        def settled() -> bool:
            rows = tools.describe_group(bootstrap, stable) + tools.describe_group(bootstrap, kip848)
            return len(rows) == 9 and all(r.lag == 0 for r in rows)

        wait_for(settled, 120, "the stable and KIP-848 groups to catch up", interval=1)
        yield Setup(cluster, topics, groups, filters, consumers)
    finally:
        for c in consumers:
            c.stop()


def pollers(setup: Setup, shards: bool = True) -> tuple[Poller, list[Poller], list[Poller]]:
    central = Poller(config(setup))
    sidecars = [
        Poller(config(setup, scope="broker", bootstrap=n.bootstrap)) for n in setup.cluster.nodes
    ]
    replicas = [
        Poller(config(setup, scope="shard", shard=ShardConfig(index=i, count=3)))
        for i in range(3 if shards else 0)
    ]
    return central, sidecars, replicas


def round_of(
    central: Poller, parts: Sequence[Poller]
) -> tuple[dict[Key, float], list[dict[Key, float]]]:
    return series(central.poll_once()), [series(p.poll_once()) for p in parts]


def union_problems(central: dict[Key, float], parts: list[dict[Key, float]]) -> list[str]:
    """What keeps the parts' union from being the central series exactly, one line each."""
    problems = []
    seen: dict[Key, int] = {}
    for i, part in enumerate(parts):
        for key in part:
            if key in seen:
                problems.append(f"{key} served by {seen[key]} and {i}")
            seen.setdefault(key, i)
    union = {k: v for part in parts for k, v in part.items()}
    problems += [f"missing {k}" for k in sorted(set(central) - set(union))]
    problems += [f"extra {k}" for k in sorted(set(union) - set(central))]
    problems += [
        f"{k}: {union[k]} != {v}"
        for k, v in sorted(central.items())
        if k in union and k[0] not in TIMED and union[k] != v
    ]
    return problems


def test_union_of_broker_and_shard_instances_is_the_central_instance(setup: Setup) -> None:
    central, sidecars, shards = pollers(setup)
    try:
        for _ in range(2):  # two polls: lag status windows full, lag seconds seen twice
            whole, by_broker = round_of(central, sidecars)
            _, by_shard = round_of(central, shards)
        names = {k[0] for k in whole}
        for family in (cat.GROUP_LAG, cat.PARTITION_LEADER, cat.BROKERS, lessons.DEADLETTER_DEPTH,
                       lessons.GROUP_STATUS):  # fmt: skip
            assert family.name in names, family.name
        states = {k[1][1] for k in whole if k[0] == cat.GROUP_STATE.name}
        assert states == {"Stable", "Empty"}
        info = {k[1][0]: k[1] for k in whole if k[0] == cat.GROUP_INFO.name}
        assert info["scope-kip848"][1] == "consumer"
        assert union_problems(whole, by_broker) == []
        assert union_problems(whole, by_shard) == []
        # every broker has a share: partitions it leads and groups it coordinates
        for part in by_broker:
            assert any(k[0] == cat.PARTITION_LEADER.name for k in part)
            assert any(k[0] == cat.GROUP_INFO.name for k in part)
        for part in by_shard:
            assert any(k[0] == cat.GROUP_INFO.name for k in part)
        # Kafka's rule for the coordinator, checked against what describe_consumer_groups says
        offsets = clients.partitions(setup.cluster.bootstrap_servers, ["__consumer_offsets"])
        leaders = {p.partition: p.leader for p in offsets}
        for group, labels in info.items():
            assert int(labels[3]) == leaders[offsets_partition(group, len(leaders))], group
    finally:
        for p in (central, *sidecars, *shards):
            p.stop()


def test_empty_groups_on_three_coordinators_reuse_their_descriptions(setup: Setup) -> None:
    """The describe cache checks an Empty group's coordinator against the leader of its offsets
    partition every cycle: on several coordinators, Kafka's own descriptions agree with that
    rule, so the second cycle describes only the groups with members."""
    source = AdminSource(config(setup))
    try:
        first = source.fetch().view
        assert first is not None and first.groups is not None
        empty = {g for g, d in first.groups.items() if d.state == "Empty"}
        assert len({first.groups[g].coordinator for g in empty}) >= 2, first.groups
        second = source.fetch().view
        assert second is not None and second.groups is not None
        assert {g: second.groups[g] for g in empty} == {g: first.groups[g] for g in empty}
        assert set(source.described) == set(setup.groups) - empty
    finally:
        source.close()


def test_stopped_broker_share_moves_within_two_cycles(setup: Setup) -> None:
    cluster = setup.cluster
    central, sidecars, _ = pollers(setup, shards=False)
    victim = min(cluster.nodes, key=lambda n: n.node_id)  # serves the cluster-wide series too
    survivors = ",".join(n.bootstrap for n in cluster.nodes if n is not victim)

    def moved(gone: int | None) -> bool:
        """The cluster settled: leaders off the stopped broker and its replicas out of every
        ISR, or after the restart every ISR full again; the live groups Stable and caught up.
        Before that the instances, polling one after the other, would see different clusters."""
        parts = clients.partitions(survivors, [*setup.topics, "__consumer_offsets"])
        if gone is not None and any(p.leader < 0 or p.leader == gone or gone in p.isr
                                    for p in parts):  # fmt: skip
            return False
        if gone is None and any(len(p.isr) != len(p.replicas) for p in parts):
            return False
        snap = central.poll_once()  # the live groups settled: Stable and caught up
        live = setup.groups[-2:]
        lags = [s.value for s in snap.samples(cat.GROUP_LAG) if s.labels[0] in live]
        stable = all(snap.value(cat.GROUP_STATE, g, "Stable") == 1 for g in live)
        return stable and len(lags) == 9 and not any(lags)

    def converges(what: str) -> None:
        # within two poll cycles of each instance: a first round may still differ by the share
        # of an instance whose request timed out (librdkafka reconnecting to the restarted broker)
        problems: list[str] = []
        for _ in range(2):
            whole, parts = round_of(central, sidecars)
            problems = union_problems(whole, parts)
            if not problems:
                break
        assert problems == [], f"{what}: {problems[:5]}"

    try:
        round_of(central, sidecars)
        cluster.stop(victim)
        try:
            wait_for(
                lambda: moved(victim.node_id), 90, "leaders off the stopped broker", interval=1
            )
            converges("after the stop")
        finally:
            cluster.start(victim)
        wait_for(lambda: moved(None), 120, "the groups settled after the restart", interval=1)
        converges("after the restart")
    finally:
        for p in (central, *sidecars):
            p.stop()


def serve_sidecars(
    setup: Setup, tmp_path: Path, filters: FiltersConfig, started: list[procs.Managed]
) -> None:
    """One `kafka-vitals serve` in broker scope per node, bootstrapped from that node only; each
    appended to `started` as soon as it runs, then waited for."""
    served: list[tuple[procs.Managed, int]] = []
    for node in setup.cluster.nodes:
        home = tmp_path / f"sidecar-{node.node_id}"
        home.mkdir()
        (home / "kafka-vitals.yaml").write_text(
            yaml.safe_dump(
                {
                    "scope": "broker",
                    "kafka": {"bootstrap_servers": node.bootstrap, "request_timeout_seconds": 5},
                    "poll": {"interval_seconds": 1, "stage_timeout_seconds": 15},
                    "filters": {
                        "topic_allow": list(filters.topic_allow),
                        "group_allow": list(filters.group_allow),
                    },
                }
            )
        )
        served.append(spawn_serve(home, "--config", str(home / "kafka-vitals.yaml")))
        started.append(served[-1][0])
    for proc, port in served:

        def alive(proc: procs.Managed = proc) -> None:
            if not proc.alive():
                raise procs.HarnessError(f"kafka-vitals serve exited:\n{proc.log_tail()}")

        def ready(port: int = port) -> bool:
            return get(port, "/ready")[0] == 200

        wait_for(ready, 90, "sidecar /ready", check=alive)


@pytest.mark.prometheus
def test_prometheus_over_three_sidecars_sums_once_and_alerts_once(
    setup: Setup, tmp_path: Path, prometheus_factory: Callable[..., PrometheusServer]
) -> None:
    cluster, bootstrap = setup.cluster, setup.cluster.bootstrap_servers
    topic = group = "scope-lagging"
    clients.create_topic(bootstrap, topic, partitions=3, replication_factor=3)
    for p in range(3):
        clients.produce_messages(bootstrap, topic, 100, partition=p)
    clients.commit_offsets(bootstrap, group, {(topic, p): 0 for p in range(3)})
    filters = FiltersConfig(
        topic_allow=(*setup.filters.topic_allow, topic),
        group_allow=(*setup.filters.group_allow, group),
    )
    overrides = tmp_path / "overrides.yaml"
    overrides.write_text(
        yaml.safe_dump(
            {"consumer_lag": {"messages": 200, "for": "2s"}, "broker_count": {"for": "2s"}}
        )
    )
    rendered = run("render", "--overrides", str(overrides), "--out", str(tmp_path / "rendered"))
    assert rendered.returncode == 0, rendered.stderr
    central = Poller(config(setup, filters=filters))
    sidecars: list[procs.Managed] = []
    try:
        serve_sidecars(setup, tmp_path, filters, sidecars)
        prom = prometheus_factory(
            {
                "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                "scrape_configs": [
                    {
                        "job_name": "kafka-vitals",
                        "static_configs": [
                            {"targets": [f"127.0.0.1:{p.ports[0]}" for p in sidecars]}
                        ],
                    }
                ],
            },
            {"kafka-vitals-rules.yaml": (tmp_path / "rendered" / RULES_PATH).read_text()},
        )
        snap = central.poll_once()
        expected: dict[str, float] = {}
        for s in snap.samples(cat.GROUP_LAG):
            expected[s.labels[0]] = expected.get(s.labels[0], 0.0) + s.value
        assert expected[group] == 300 and set(expected) == set(setup.groups) | {group}

        def summed() -> dict[str, float] | None:
            rows = prom.query("sum by (consumergroup) (kafka_consumergroup_lag)")
            got = {r["metric"]["consumergroup"]: float(r["value"][1]) for r in rows}
            return got if got == expected else None

        wait_for(summed, 60, f"Prometheus' lag per group over the sidecars to be {expected}")
        firing = 'count(ALERTS{{alertname="{}", alertstate="firing"}})'
        lag_alert = firing.format("KafkaConsumerGroupLagHigh")
        prom.wait_for_value(lag_alert, lambda v: v >= 1, 60)
        alerts = [
            a for a in prom.alerts() if a["labels"]["alertname"] == "KafkaConsumerGroupLagHigh"
        ]
        assert [(a["labels"]["consumergroup"], a["state"]) for a in alerts] == [(group, "firing")]

        victim = min(cluster.nodes, key=lambda n: n.node_id)  # its sidecar served kafka_brokers
        cluster.stop(victim)
        try:
            prom.wait_for_value(firing.format("KafkaBrokerCountDropped"), lambda v: v >= 1, 90)
            assert prom.query_value(firing.format("KafkaBrokerCountDropped")) == 1
            assert prom.query_value("kafka_brokers") == 2  # served by one survivor only
            assert prom.query_value(lag_alert) == 1
        finally:
            cluster.start(victim)
    finally:
        central.stop()
        for proc in sidecars:
            proc.stop(timeout=15)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--kafka.broker-id", "42"], "kafka.broker_id: broker 42 is not in the cluster"),
        ([], "is ambiguous in broker scope, it names brokers"),
    ],
)
def test_broker_scope_bad_start_exits_2(
    setup: Setup, args: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    bootstrap = setup.cluster.bootstrap_servers
    argv = ["serve", "--kafka.bootstrap-servers", bootstrap, "--scope", "broker", *args]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and expected in err[0], err
