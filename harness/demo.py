"""The local demo stack: `python -m harness demo` (`make demo`).

Starts, with no Kafka given: a KRaft cluster (3 nodes by default), a producer load on `payments`,
a healthy consumer group (`payments-processor`, Kafka's console consumer with JMX on), a lagging
group (`payments-audit`: committed offsets and no consumer, so its lag grows with every message),
a trickle into the dead-letter topic `payments.DLT`, a Schema Registry (Apicurio, in memory) with
a registered-Avro producer on `orders` and a raw-JSON one on `clicks` (`demo_contract`),
kafka-vitals as a sidecar beside every broker (`scope: broker`: each serves the partitions its
broker leads, the groups it coordinates and its own broker's JMX; the sidecar of the lowest broker
id also the cluster-wide and per-topic series, among them the registry's and the payload samples,
and the consumer's JMX), Prometheus with the shipped rules (only the `for` times
shortened, so the lag alert fires within about two minutes of the load starting) and Alertmanager
with the shipped routing. It prints the URLs, then a summary of the vitals read from Prometheus
every few seconds, and stops everything on Ctrl-C or SIGTERM (or after `--duration`).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

import yaml

from bundle.config import DEFAULT, BundleConfig
from bundle.outputs import alertmanager_document, rules_yaml
from bundle.overrides import apply
from harness import clients, jars, procs, tools
from harness import demo_contract as contract
from harness.cluster import KafkaCluster, KafkaNode
from harness.demo_screen import Links, screen
from harness.procs import HarnessError, Managed, free_ports, require_binary, wait_for
from harness.prom import (
    ALERTMANAGER_HINT,
    PROMETHEUS_HINT,
    Alertmanager,
    PrometheusServer,
    WebhookReceiver,
)
from harness.registry import SchemaRegistry

T = TypeVar("T")

TOPIC, DLT = "payments", "payments.DLT"
HEALTHY_GROUP, LAGGING_GROUP = "payments-processor", "payments-audit"
LAG_ALERT = "KafkaConsumerGroupLagHigh"
PARTITIONS = 6
DEMO_OVERRIDES: dict[str, Any] = {
    # Only the waiting times shrink; every threshold is the shipped default.
    "consumer_lag": {"for": "1m"},
    "lag_seconds": {"for": "1m"},
    "stalled": {"window": "2m", "for": "1m"},
    "consumer_stopped": {"for": "2m"},
    "consumer_falling_behind": {"for": "2m"},
    "partitions_stalled": {"for": "2m"},
    "dead_letter_inflow": {"for": "2m"},
    "topic_without_schema": {"window": "2m", "for": "1m"},
    "output": {"group_wait": "5s", "group_interval": "30s"},
}


class Stopped(Exception):
    """SIGINT or SIGTERM arrived: stop the stack."""


def demo_thresholds(webhook_url: str) -> BundleConfig:
    errors: list[str] = []
    overrides = {
        **DEMO_OVERRIDES,
        "output": {**DEMO_OVERRIDES["output"], "webhook_url": webhook_url},
    }
    thresholds = apply(overrides, DEFAULT, errors)
    if errors:
        raise HarnessError("demo overrides rejected: " + "; ".join(errors))
    return thresholds


def exporter_command() -> list[str]:
    """`kafka-vitals` from this Python's environment."""
    script = Path(sys.executable).parent / "kafka-vitals"
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from exporter.cli import main; sys.exit(main())"]


def preflight() -> list[str]:
    """Everything the demo needs that is missing, each with how to get it."""
    problems: list[str] = []
    checks: list[Callable[[], object]] = [
        jars.java,
        lambda: require_binary("prometheus", PROMETHEUS_HINT),
        lambda: require_binary("prometheus-alertmanager", ALERTMANAGER_HINT),
    ]
    for check in checks:
        try:
            check()
        except HarnessError as exc:
            problems.append(str(exc))
    problems += contract.preflight()
    if not jars.jars_present() and shutil.which("mvn") is None:
        problems.append(
            f"Kafka {jars.KAFKA_VERSION} jars missing and no Maven: {jars.INSTALL_HINT}"
        )
    return problems


@dataclass(eq=False)
class Stack:
    """Everything the demo started, stopped in reverse order."""

    dir: Path
    brokers: int
    rate: int
    cluster: KafkaCluster | None = None
    clients: list[tools.JavaClient] = field(default_factory=list)
    exporters: list[Managed] = field(default_factory=list)
    exporter_urls: list[str] = field(default_factory=list)
    receiver: WebhookReceiver | None = None
    alertmanager: Alertmanager | None = None
    prometheus: PrometheusServer | None = None
    registry: SchemaRegistry | None = None
    contract_load: contract.ContractLoad | None = None

    def start(self, say: Callable[[str], None]) -> None:
        if not jars.jars_present():
            step(say, "download of the Kafka jars with Maven (once)", jars.fetch)
        self.cluster = step(say, f"Kafka: {self.brokers}-node KRaft cluster", self._kafka)
        bootstrap = self.cluster.bootstrap_servers
        step(say, "consumers: healthy group, lagging group", lambda: self._consumers(bootstrap))
        step(
            say,
            f"load: {self.rate} msg/s to {TOPIC}, 1 msg/s to {DLT}",
            lambda: self._load(bootstrap),
        )
        self.registry, schema_id = step(say, "Schema Registry (Apicurio, in memory)",
                                        contract.start_registry)  # fmt: skip
        self.contract_load = step(
            say,
            f"contract load: Avro to {contract.AVRO_TOPIC}, raw JSON to {contract.RAW_TOPIC}",
            lambda: contract.ContractLoad(bootstrap, schema_id).start(),
        )
        step(say, f"kafka-vitals: a sidecar per broker ({self.brokers})", self._exporters)
        step(say, "Alertmanager", self._alertmanager)
        step(say, "Prometheus with the kafka-vitals rules", self._prometheus)

    def _kafka(self) -> KafkaCluster:
        cluster = KafkaCluster(self.brokers, base_dir=self.dir / "kafka").up()
        replicas = min(3, self.brokers)
        clients.create_topic(cluster.bootstrap_servers, TOPIC, PARTITIONS, replicas)
        clients.create_topic(cluster.bootstrap_servers, DLT, 1, replicas)
        for topic in (contract.AVRO_TOPIC, contract.RAW_TOPIC):
            clients.create_topic(cluster.bootstrap_servers, topic, 1, replicas)
        return cluster

    def _consumers(self, bootstrap: str) -> None:
        self.clients.append(tools.start_console_consumer(bootstrap, TOPIC, HEALTHY_GROUP))
        # offset 0 on every partition: the group exists, Empty, with lag growing from the start
        clients.commit_offsets(
            bootstrap, LAGGING_GROUP, {(TOPIC, p): 0 for p in range(PARTITIONS)}, timeout=60
        )

    def _load(self, bootstrap: str) -> None:
        day = 24 * 3600
        self.clients.append(
            tools.start_producer_perf(bootstrap, TOPIC, self.rate * day, throughput=self.rate)
        )
        self.clients.append(tools.start_producer_perf(bootstrap, DLT, day, throughput=1))

    def _exporters(self) -> None:
        assert self.cluster is not None
        for node, port in zip(self.cluster.nodes, free_ports(len(self.cluster.nodes)), strict=True):
            self._sidecar(node, port)

    def _sidecar(self, node: KafkaNode, port: int) -> None:
        """kafka-vitals beside `node`, in broker scope, with that broker's JMX (and the consumer's
        beside the first broker)."""
        assert self.cluster is not None and self.registry is not None
        # a broker's JMX answers about 150 values: give a busy laptop time
        targets = [{"url": node.jmx_url, "role": "broker", "name": f"kafka-{node.node_id}",
                    "timeout_seconds": 14}]  # fmt: skip
        if node is self.cluster.nodes[0]:
            targets.append({"url": self.clients[0].jmx_url, "role": "client",
                            "name": HEALTHY_GROUP, "timeout_seconds": 14})  # fmt: skip
        config = {
            "scope": "broker",
            "kafka": {"bootstrap_servers": node.bootstrap, "broker_id": node.node_id},
            "poll": {"interval_seconds": 15},
            "jmx": {"targets": targets, "max_concurrency": 2},
            "web": {"listen_address": f"127.0.0.1:{port}"},
            "schema_registry": contract.exporter_settings(self.registry),
        }
        name = f"kafka-vitals-{node.node_id}"
        path = self.dir / f"{name}.yaml"
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        exporter = procs.spawn(
            name,
            [*exporter_command(), "serve", "--config", str(path)],
            log_path=self.dir / f"{name}.log",
            ports=(port,),
        )
        self.exporters.append(exporter)
        self.exporter_urls.append(f"http://127.0.0.1:{port}")

        def alive() -> None:
            if not exporter.alive():
                raise HarnessError(f"{name} exited:\n{exporter.log_tail()}")

        wait_for(lambda: procs.port_open(port), 60, f"{name} to listen", check=alive)

    def _alertmanager(self) -> None:
        self.receiver = WebhookReceiver()
        config = alertmanager_document(demo_thresholds(self.receiver.url))
        self.alertmanager = Alertmanager(config)
        self.alertmanager.start()

    def _prometheus(self) -> None:
        assert self.alertmanager is not None and self.receiver is not None
        rules = rules_yaml(demo_thresholds(self.receiver.url))
        config = {
            "global": {"scrape_interval": "5s", "evaluation_interval": "5s"},
            "alerting": {
                "alertmanagers": [{"static_configs": [{"targets": [self.alertmanager.address]}]}]
            },
            "scrape_configs": [
                {
                    "job_name": "kafka-vitals",
                    "static_configs": [
                        {"targets": [u.split("//", 1)[1] for u in self.exporter_urls]}
                    ],
                }
            ],
        }
        self.prometheus = PrometheusServer(config, {"kafka-vitals-rules.yaml": rules})
        self.prometheus.start()

    def links(self) -> Links:
        return Links(
            prometheus=self.prometheus.url if self.prometheus else "-",
            alertmanager=self.alertmanager.url if self.alertmanager else "-",
            exporter="  ".join(f"{u}/metrics" for u in self.exporter_urls) or "-",
            bootstrap=self.cluster.bootstrap_servers if self.cluster else "-",
            logs=str(self.dir),
        )

    def stop(self) -> None:
        """Stop everything, newest first; a part that fails to stop does not keep the rest."""
        parts: list[Callable[[], None]] = []
        if self.prometheus is not None:
            parts.append(self.prometheus.stop)
        if self.alertmanager is not None:
            parts.append(self.alertmanager.stop)
        if self.receiver is not None:
            parts.append(self.receiver.stop)
        parts += [functools.partial(e.stop, 20) for e in reversed(self.exporters)]
        if self.contract_load is not None:
            parts.append(self.contract_load.kill)
        if self.registry is not None:
            parts.append(self.registry.stop)
        parts += [c.kill for c in reversed(self.clients)]
        if self.cluster is not None:
            parts.append(self.cluster.down)
        for part in parts:
            with contextlib.suppress(Exception):
                part()
        procs.kill_all()


def step(say: Callable[[str], None], what: str, action: Callable[[], T]) -> T:
    say(f"starting {what} ...")
    started = time.monotonic()
    result = action()
    say(f"  ready in {time.monotonic() - started:.0f}s")
    return result


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """SIGINT and SIGTERM raise Stopped (wherever the main thread is); both are ignored while
    the stack shuts down, so a second Ctrl-C cannot leave processes behind."""

    def handler(signum: int, _frame: FrameType | None) -> None:
        raise Stopped(signal.Signals(signum).name)

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s in previous:
            signal.signal(s, signal.SIG_IGN)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--duration",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="stop by itself after this long (default: run until Ctrl-C)",
    )
    parser.add_argument(
        "--no-tty",
        action="store_true",
        help="print each summary below the last instead of redrawing the screen",
    )
    parser.add_argument(
        "--refresh",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="seconds between summaries (default 5)",
    )
    parser.add_argument("--brokers", type=int, choices=[1, 3], default=3)
    parser.add_argument(
        "--rate",
        type=int,
        default=300,
        metavar="MSG_PER_S",
        help="producer load on payments (default 300 messages/s)",
    )


def run(args: argparse.Namespace) -> int:
    problems = preflight()
    if problems:
        print("cannot start the demo; missing:", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    tty = sys.stdout.isatty() and not args.no_tty
    started = time.monotonic()

    def say(text: str) -> None:
        print(f"[{time.monotonic() - started:5.0f}s] {text}", flush=True)

    stack = Stack(Path(tempfile.mkdtemp(prefix="kafka-vitals-demo-")), args.brokers, args.rate)
    code = 0
    with stop_on_signals():
        try:
            stack.start(say)
            links = stack.links()
            say(f"Prometheus    {links.prometheus}")
            say(f"Alertmanager  {links.alertmanager}")
            say(f"kafka-vitals  {links.exporter}")
            say(f"Kafka         {links.bootstrap}")
            if stack.registry is not None:
                say(f"Registry      {stack.registry.url}")
            say(f"logs          {links.logs}")
            watch(stack, args, tty, started)
        except Stopped as exc:
            say(f"{exc}: stopping")
        except HarnessError as exc:
            print(f"error: {exc}", file=sys.stderr)
            code = 1
        finally:
            say("stopping everything ...")
            stack.stop()
            shutil.rmtree(stack.dir, ignore_errors=True)
            say("stopped")
    return code


def watch(stack: Stack, args: argparse.Namespace, tty: bool, started: float) -> None:
    """Print the summary every `--refresh` seconds until `--duration` (or a signal)."""
    assert stack.prometheus is not None and stack.receiver is not None
    prom, receiver = stack.prometheus, stack.receiver
    links = stack.links()
    deadline = started + args.duration if args.duration > 0 else None
    while deadline is None or time.monotonic() < deadline:
        text = screen(prom.query, prom.alerts, links, started, len(receiver.payloads))
        if tty:
            sys.stdout.write("\x1b[H\x1b[2J" + text + "\n")
        else:
            sys.stdout.write(f"---- {time.strftime('%H:%M:%S')}\n{text}\n")
        sys.stdout.flush()
        dead = [c.name for c in stack.clients if not c.alive]
        dead += [e.name for e in stack.exporters if not e.alive()]
        if stack.contract_load is not None and not stack.contract_load.alive:
            dead.append(f"{stack.contract_load.name} {stack.contract_load.error}".strip())
        if dead:
            raise HarnessError(f"stopped unexpectedly: {', '.join(dead)} (logs: {stack.dir})")
        pause = args.refresh if deadline is None else min(args.refresh, deadline - time.monotonic())
        time.sleep(max(0.0, pause))
