"""A real KRaft Kafka cluster of 1 or 3 combined broker+controller nodes on loopback.

Each node is one JVM from the cached jars with JMX on, its own free ports, and its data in a
temporary directory. The cluster can stop, kill, pause, resume and restart single nodes, and
`down()` removes everything. `KafkaCluster.to_state()` / `from_state()` let the command line find
a cluster that an earlier `kafka up` left running.
"""

from __future__ import annotations

import base64
import logging
import os
import shutil
import signal
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import jars
from harness.clients import admin_client
from harness.procs import (
    HarnessError,
    Managed,
    free_ports,
    pid_alive,
    spawn,
    tail,
    wait_for,
)

log = logging.getLogger(__name__)


@dataclass(eq=False, slots=True)
class KafkaNode:
    """One combined broker+controller process and where to reach it."""

    node_id: int
    broker_port: int
    controller_port: int
    jmx_port: int
    dir: Path
    process: Managed | None = field(default=None, repr=False)

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.broker_port}"

    @property
    def jmx_url(self) -> str:
        return jars.jmx_url(self.jmx_port)

    @property
    def log_path(self) -> Path:
        """log4j2 output (warnings and errors)."""
        return self.dir / "server.log"

    @property
    def stdout_path(self) -> Path:
        """Whatever the JVM writes to stdout/stderr."""
        return self.dir / "stdout.log"

    @property
    def config_path(self) -> Path:
        return self.dir / "server.properties"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.alive()


def new_cluster_id() -> str:
    """A Kafka cluster id: 16 random bytes, URL-safe base64 without padding, not starting '-'."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not text.startswith("-"):
            return text


def node_properties(node: KafkaNode, voters: str, size: int) -> dict[str, str]:
    """server.properties for one node of a `size`-node combined-mode cluster."""
    min_isr = str(min(2, size))
    return {
        "process.roles": "broker,controller",
        "node.id": str(node.node_id),
        "controller.quorum.voters": voters,
        "listeners": f"PLAINTEXT://127.0.0.1:{node.broker_port},"
        f"CONTROLLER://127.0.0.1:{node.controller_port}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{node.broker_port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs": str(node.dir / "data"),
        "num.partitions": "1",
        "default.replication.factor": "1",
        "offsets.topic.replication.factor": str(size),
        "offsets.topic.num.partitions": "10",
        "transaction.state.log.replication.factor": str(size),
        "transaction.state.log.min.isr": min_isr,
        "share.coordinator.state.topic.replication.factor": str(size),
        "share.coordinator.state.topic.min.isr": min_isr,
        "group.initial.rebalance.delay.ms": "0",
        "auto.create.topics.enable": "false",
        # a paused (SIGSTOPped) follower leaves the ISR after 5 s instead of 30 s
        "replica.lag.time.max.ms": "5000",
        # deleted topics and segments disappear quickly
        "log.segment.delete.delay.ms": "1000",
        "file.delete.delay.ms": "1000",
        "log.retention.check.interval.ms": "10000",
        "log.segment.bytes": str(16 * 1024 * 1024),
        # few threads: the machine is small and shared
        "num.network.threads": "2",
        "num.io.threads": "2",
        "num.replica.fetchers": "1",
        "num.recovery.threads.per.data.dir": "1",
        "background.threads": "2",
        "log.cleaner.threads": "1",
    }


DIR_PREFIX = "kafka-vitals-kafka-"
OWNER_FILE = "owner.pid"


def sweep_stale_dirs() -> None:
    """Remove data directories of clusters whose owning Python process died without `down()`
    (e.g. a test run killed with SIGKILL: its nodes died with it, their data stayed)."""
    for owner in Path(tempfile.gettempdir()).glob(f"{DIR_PREFIX}*/{OWNER_FILE}"):
        try:
            pid = int(owner.read_text())
        except (OSError, ValueError):
            continue
        if not pid_alive(pid):
            log.info("removing stale cluster dir=%s owner_pid=%d", owner.parent, pid)
            shutil.rmtree(owner.parent, ignore_errors=True)


def _write_properties(path: Path, props: dict[str, str]) -> None:
    path.write_text("".join(f"{k}={v}\n" for k, v in props.items()))


class KafkaCluster:
    """A KRaft cluster of `size` nodes (1 or 3) with static controller voters."""

    def __init__(
        self,
        size: int = 1,
        *,
        base_dir: Path | None = None,
        overrides: dict[str, str] | None = None,
        heap: tuple[str, str] = ("256m", "512m"),
        detach: bool = False,
    ) -> None:
        if size not in (1, 3):
            raise HarnessError(f"cluster size must be 1 or 3, got {size}")
        self.size = size
        self.heap = heap
        self.detach = detach
        self.overrides = dict(overrides or {})
        self.cluster_id = new_cluster_id()
        if base_dir is None:
            sweep_stale_dirs()
            base_dir = Path(tempfile.mkdtemp(prefix=DIR_PREFIX))
            if not detach:  # a detached cluster is removed by `kafka down`, never swept
                (base_dir / OWNER_FILE).write_text(f"{os.getpid()}\n")
        self.base_dir = base_dir
        ports = free_ports(3 * size)
        self.nodes = [
            KafkaNode(
                node_id=i + 1,
                broker_port=ports[3 * i],
                controller_port=ports[3 * i + 1],
                jmx_port=ports[3 * i + 2],
                dir=self.base_dir / f"node-{i + 1}",
            )
            for i in range(size)
        ]

    @property
    def bootstrap_servers(self) -> str:
        return ",".join(n.bootstrap for n in self.nodes)

    @property
    def voters(self) -> str:
        return ",".join(f"{n.node_id}@127.0.0.1:{n.controller_port}" for n in self.nodes)

    def node(self, ref: KafkaNode | int) -> KafkaNode:
        """The node object for a node or a node id."""
        if isinstance(ref, KafkaNode):
            return ref
        for n in self.nodes:
            if n.node_id == ref:
                return n
        raise HarnessError(f"no node with id {ref} in this cluster")

    # ---- whole cluster -------------------------------------------------------------------

    def up(self, timeout: float = 180.0) -> KafkaCluster:
        """Write configs, format storage, start every node, and wait for all brokers."""
        started = time.monotonic()
        jars.classpath()  # fail early with the install hint
        try:
            for n in self.nodes:
                (n.dir / "data").mkdir(parents=True, exist_ok=True)
                props = node_properties(n, self.voters, self.size) | self.overrides
                _write_properties(n.config_path, props)
            self._format(timeout)
            for n in self.nodes:
                self._spawn(n)
            self.wait_ready(timeout=max(10.0, timeout - (time.monotonic() - started)))
        except HarnessError as exc:
            logs = "\n".join(f"node {n.node_id} log:\n{tail(n.log_path, 10)}" for n in self.nodes)
            self.down()
            raise HarnessError(f"{exc}\n{logs}") from exc
        except BaseException:
            self.down()
            raise
        log.info(
            "cluster up size=%d bootstrap=%s seconds=%.1f",
            self.size, self.bootstrap_servers, time.monotonic() - started,
        )  # fmt: skip
        return self

    def down(self, keep_dir: bool = False) -> None:
        """Kill every node (their data is thrown away) and remove the data directory."""
        for n in self.nodes:
            if n.process is not None:
                n.process.resume()
                n.process.signal(signal.SIGKILL)
        for n in self.nodes:
            if n.process is not None:
                n.process.wait(30.0)
        if not keep_dir:
            shutil.rmtree(self.base_dir, ignore_errors=True)

    def wait_ready(self, timeout: float = 120.0, brokers: set[int] | None = None) -> None:
        """Wait until the metadata lists exactly `brokers` (default: every running node)."""
        expected = brokers if brokers is not None else {n.node_id for n in self.nodes if n.running}
        running = [n for n in self.nodes if n.node_id in expected]
        client = admin_client(",".join(n.bootstrap for n in running) or self.bootstrap_servers)

        def listed() -> bool:
            md = client.list_topics(timeout=5)
            return set(md.brokers) == expected

        wait_for(
            listed,
            timeout,
            f"Kafka brokers {sorted(expected)} in metadata",
            interval=0.5,
            check=lambda: self._check_alive(running),
        )

    def __enter__(self) -> KafkaCluster:
        return self.up()

    def __exit__(self, *exc: object) -> None:
        self.down()

    # ---- single nodes --------------------------------------------------------------------

    def stop(self, ref: KafkaNode | int, timeout: float = 60.0) -> None:
        """Stop a node gracefully (SIGTERM) and wait for it to exit."""
        n = self.node(ref)
        if n.process is not None:
            n.process.stop(timeout)

    def kill(self, ref: KafkaNode | int) -> None:
        """Kill a node at once (SIGKILL)."""
        n = self.node(ref)
        if n.process is not None:
            n.process.resume()
            n.process.kill()

    def pause(self, ref: KafkaNode | int) -> None:
        """Freeze a node (SIGSTOP): its sockets stay open but it answers nothing."""
        n = self.node(ref)
        if n.process is None or not n.process.alive():
            raise HarnessError(f"node {n.node_id} is not running")
        n.process.pause()

    def resume(self, ref: KafkaNode | int) -> None:
        """Let a paused node run again (SIGCONT)."""
        n = self.node(ref)
        if n.process is not None:
            n.process.resume()

    def start(self, ref: KafkaNode | int, wait: bool = True, timeout: float = 120.0) -> None:
        """Start a stopped node again with its data; by default wait until it is a live broker."""
        n = self.node(ref)
        if n.running:
            raise HarnessError(f"node {n.node_id} is already running")
        self._spawn(n)
        if wait:
            self.wait_ready(timeout)

    # ---- command-line state --------------------------------------------------------------

    def to_state(self) -> dict[str, Any]:
        return {
            "cluster_id": self.cluster_id,
            "base_dir": str(self.base_dir),
            "bootstrap_servers": self.bootstrap_servers,
            "nodes": [
                {
                    "node_id": n.node_id,
                    "broker_port": n.broker_port,
                    "controller_port": n.controller_port,
                    "jmx_port": n.jmx_port,
                    "jmx_url": n.jmx_url,
                    "dir": str(n.dir),
                    "pid": n.process.pid if n.process else None,
                }
                for n in self.nodes
            ],
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> KafkaCluster:
        """Rebuild a handle on a cluster started by another process (it can only be stopped)."""
        self = cls.__new__(cls)
        self.size = len(state["nodes"])
        self.heap = ("256m", "512m")
        self.detach = True
        self.overrides = {}
        self.cluster_id = state["cluster_id"]
        self.base_dir = Path(state["base_dir"])
        self.nodes = []
        for item in state["nodes"]:
            n = KafkaNode(
                node_id=item["node_id"],
                broker_port=item["broker_port"],
                controller_port=item["controller_port"],
                jmx_port=item["jmx_port"],
                dir=Path(item["dir"]),
            )
            if item.get("pid"):
                n.process = Managed(
                    name=f"kafka-{n.node_id}",
                    popen=None,
                    pid=item["pid"],
                    ports=(n.broker_port, n.controller_port, n.jmx_port),
                )
            self.nodes.append(n)
        return self

    # ---- internals -----------------------------------------------------------------------

    def _format(self, timeout: float) -> None:
        procs = [
            spawn(
                f"kafka-format-{n.node_id}",
                jars.java_command(
                    "kafka.tools.StorageTool",
                    ["format", "-t", self.cluster_id, "-c", str(n.config_path)],
                    log_file=n.log_path,
                ),
                log_path=n.stdout_path,
                detach=self.detach,
            )
            for n in self.nodes
        ]
        for proc in procs:
            proc.wait(timeout)
            assert proc.popen is not None
            if proc.popen.returncode != 0:
                raise HarnessError(
                    f"{proc.name} failed with exit code {proc.popen.returncode}:\n{proc.log_tail()}"
                )

    def _spawn(self, n: KafkaNode) -> None:
        cmd = jars.java_command(
            "kafka.Kafka", [str(n.config_path)], log_file=n.log_path, jmx_port=n.jmx_port,
            heap=self.heap,
        )  # fmt: skip
        n.process = spawn(
            f"kafka-{n.node_id}",
            cmd,
            log_path=n.stdout_path,
            ports=(n.broker_port, n.controller_port, n.jmx_port),
            detach=self.detach,
        )

    @staticmethod
    def _check_alive(nodes: list[KafkaNode]) -> None:
        for n in nodes:
            if n.process is not None and not n.process.alive():
                raise HarnessError(
                    f"Kafka node {n.node_id} exited while starting; last output:\n"
                    f"{n.process.log_tail()}\n{tail(n.log_path)}"
                )
