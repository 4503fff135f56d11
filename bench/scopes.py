"""`python -m bench.scopes`: what sharding and broker scope save, measured in one run.

1. Shards: the scenario's broker (cached, see `bench.broker`), one unsharded poller and three
   `shard` pollers (index 0..2 of 3), each in a process of its own as deployed instances are
   (`--one-process`: all four in this process, where each cycle's garbage collection also walks
   the other pollers' objects). Each round polls the unsharded instance, then each shard, one
   after the other (not at the same time: on a small machine the instances would compete for
   the same cores); every shard's cycle is reported against the unsharded cycle of the same
   rounds.
2. Admin API requests: a fresh 3-node cluster with a scenario laid out (`--requests-scenario`,
   medium by default: 1,000 groups, where the per-group requests weigh as they do in a cluster
   worth splitting; small shows the fixed part of each instance), three pollers in
   `broker` scope (each bootstrapped from its own node) against three in `cluster` scope. The
   requests are the brokers' own count: the delta of every
   `kafka.network:type=RequestMetrics,name=RequestsPerSec,request=*` Count over the cycles,
   summed over the three brokers, without the request types that replication, the KRaft quorum
   and producers send (nothing else talks to the bench cluster).

Prints a table and writes `bench/results/scopes-<scenario>.json`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import multiprocessing
import statistics
import time
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from bench import broker as broker_mod
from bench.scenarios import SCENARIOS, Scenario, lay_out
from exporter.config import Config, KafkaConfig, PollConfig, ShardConfig
from exporter.poller import Poller
from harness.cluster import KafkaCluster
from harness.jmx import jmx_query

log = logging.getLogger(__name__)

RESULTS = Path(__file__).resolve().parent / "results"
SHARDS = 3
INTERNAL = frozenset(
    {
        "Fetch", "FetchFollower", "FetchConsumer", "Produce", "BrokerHeartbeat",
        "BrokerRegistration", "Vote", "BeginQuorumEpoch",
        "EndQuorumEpoch", "DescribeQuorum", "FetchSnapshot", "AlterPartition", "UpdateMetadata",
        "LeaderAndIsr", "StopReplica", "ControlledShutdown", "InitProducerId", "AddRaftVoter",
        "UpdateRaftVoter", "RemoveRaftVoter", "AllocateProducerIds", "AssignReplicasToDirs",
    }
)  # fmt: skip
"""Request types the cluster sends itself (replication, quorum, registration) or producers send."""


def config(bootstrap: str, **kw: Any) -> Config:
    return Config(
        kafka=KafkaConfig(bootstrap_servers=bootstrap),
        poll=PollConfig(interval_seconds=60, stage_timeout_seconds=60),
        **kw,
    )


def timed(poller: Poller, stages: dict[str, list[float]] | None = None) -> float:
    """One cycle's wall time; each stage's time appended to `stages`."""
    t0 = time.monotonic()
    poller.poll_once()
    seconds = time.monotonic() - t0
    if stages is not None:
        for outcome in poller.last_stages:
            stages.setdefault(outcome.stage, []).append(outcome.seconds)
    return seconds


Timed = Callable[[dict[str, list[float]] | None], float]
"""Polls one instance once: the cycle's wall time, each stage's time appended to the dict."""


def _serve(conn: Connection, cfg: Config) -> None:
    """One poller in a process of its own: a cycle each time it is told, answered with its wall
    time and stage times; stops on None."""
    poller = Poller(cfg)
    try:
        while conn.recv() is not None:
            stages: dict[str, list[float]] = {}
            conn.send((timed(poller, stages), stages))
    finally:
        poller.stop()


def _in_process(cfg: Config, stops: list[Callable[[], None]]) -> Timed:
    poller = Poller(cfg)
    stops.append(poller.stop)
    return lambda stages: timed(poller, stages)


def _own_process(cfg: Config, stops: list[Callable[[], None]]) -> Timed:
    ctx = multiprocessing.get_context("spawn")
    here, there = ctx.Pipe()
    proc = ctx.Process(target=_serve, args=(there, cfg))  # not daemonic: it has a child
    proc.start()

    def stop() -> None:
        with contextlib.suppress(OSError):
            here.send(None)
        proc.join(30)
        if proc.is_alive():
            proc.terminate()

    def poll(stages: dict[str, list[float]] | None) -> float:
        here.send(True)
        seconds, took = here.recv()
        for stage, values in took.items():
            if stages is not None:
                stages.setdefault(stage, []).extend(values)
        return float(seconds)

    stops.append(stop)
    return poll


def shards(s: Scenario, cycles: int, one_process: bool = False) -> dict[str, Any]:
    broker = broker_mod.start(s)
    stops: list[Callable[[], None]] = []
    start = _in_process if one_process else _own_process
    try:
        configs = [config(broker.bootstrap)] + [
            config(broker.bootstrap, scope="shard", shard=ShardConfig(index=i, count=SHARDS))
            for i in range(SHARDS)
        ]
        pollers = [start(c, stops) for c in configs]
        for poll in pollers:  # warm-up: connections, metadata, first sight of every offset
            poll(None)
        rounds: list[list[float]] = []
        stages: list[dict[str, list[float]]] = [{} for _ in pollers]
        for _ in range(cycles):
            rounds.append([poll(st) for poll, st in zip(pollers, stages, strict=True)])
    finally:
        for stop in stops:
            stop()
        broker.stop()
    unsharded = statistics.median(r[0] for r in rounds)

    def medians(st: dict[str, list[float]]) -> dict[str, float]:
        return {k: statistics.median(v) for k, v in sorted(st.items())}

    result: dict[str, Any] = {"unsharded_seconds": unsharded, "rounds": rounds, "shards": [],
                              "unsharded_stages": medians(stages[0])}  # fmt: skip
    for i in range(SHARDS):
        median = statistics.median(r[i + 1] for r in rounds)
        ratio = statistics.median(r[i + 1] / r[0] for r in rounds)
        result["shards"].append(
            {"index": i, "seconds": median, "ratio": ratio, "stages": medians(stages[i + 1])}
        )
    return result


def request_counts(cluster: KafkaCluster) -> dict[str, float]:
    """Count of every request type summed over the cluster's brokers."""
    counts: dict[str, float] = {}
    pattern = "kafka.network:type=RequestMetrics,name=RequestsPerSec,*/Count"
    for node in cluster.nodes:
        for item in jmx_query(node.jmx_url, [pattern]):
            request = dict(kv.split("=", 1) for kv in item.mbean.split(":", 1)[1].split(",")).get(
                "request", "?"
            )
            counts[request] = counts.get(request, 0.0) + (item.value or 0.0)
    return counts


def per_cycle(cluster: KafkaCluster, pollers: Sequence[Poller], cycles: int) -> dict[str, Any]:
    for p in pollers:  # warm-up: connections and the first metadata are not a cycle's cost
        p.poll_once()
    before = request_counts(cluster)
    for _ in range(cycles):
        for p in pollers:
            p.poll_once()
    after = request_counts(cluster)
    delta = {
        k: (after.get(k, 0.0) - before.get(k, 0.0)) / cycles
        for k in sorted(set(after) | set(before))
        if k not in INTERNAL and after.get(k, 0.0) != before.get(k, 0.0)
    }
    return {"per_cycle": sum(delta.values()), "by_request": delta}


def requests(cycles: int, scenario: str) -> dict[str, Any]:
    cluster = KafkaCluster(3).up()
    result: dict[str, Any] = {"scenario": scenario}
    try:
        s = SCENARIOS[scenario]
        lay_out(cluster.bootstrap_servers, s)  # waits for every broker's metadata of the topics
        layouts = {
            "broker": [config(n.bootstrap, scope="broker") for n in cluster.nodes],
            "cluster": [config(cluster.bootstrap_servers) for _ in cluster.nodes],
        }
        for name, configs in layouts.items():
            pollers = [Poller(c) for c in configs]
            try:
                result[name] = per_cycle(cluster, pollers, cycles)
            finally:
                for p in pollers:
                    p.stop()
    finally:
        cluster.down()
    result["ratio"] = result["broker"]["per_cycle"] / result["cluster"]["per_cycle"] * SHARDS
    return result


def render(result: dict[str, Any]) -> str:
    sh, rq = result["shards"], result["requests"]
    lines = [
        f"scenario {result['scenario']}, {len(sh['rounds'])} rounds, load "
        f"{result['load_before']} before / {result['load_after']} after",
        "pollers: " + ("all in one process" if result["one_process"] else "a process each"),
        f"unsharded cycle            {sh['unsharded_seconds']:.3f} s",
    ]
    for s in sh["shards"]:
        lines.append(f"shard {s['index']}/{SHARDS} cycle           {s['seconds']:.3f} s  "
                     f"ratio {s['ratio']:.2f} (target <= 0.45)")  # fmt: skip
    lines.append("stage medians (s): " + "  ".join(sh["unsharded_stages"]))
    for name, st in [("unsharded", sh["unsharded_stages"])] + [
        (f"shard {s['index']}", s["stages"]) for s in sh["shards"]
    ]:
        lines.append(f"  {name:<10} " + "  ".join(f"{v:.3f}" for v in st.values()))
    b, c = rq["broker"]["per_cycle"], rq["cluster"]["per_cycle"]
    lines += [
        f"requests on the {rq['scenario']} scenario, 3 nodes:",
        f"3 broker sidecars          {b:.1f} Admin API requests per cycle",
        f"3 cluster-scope instances  {c:.1f} Admin API requests per cycle ({c / SHARDS:.1f} each)",
        f"sidecars / one instance    {rq['ratio']:.2f} (target <= 1.2)",
    ]
    by_b, by_c = rq["broker"]["by_request"], rq["cluster"]["by_request"]
    for request in sorted(set(by_b) | set(by_c)):
        lines.append(f"  {request:<24} sidecars {by_b.get(request, 0):8.1f}"
                     f"   cluster-scope x3 {by_c.get(request, 0):8.1f}")  # fmt: skip
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scopes", description=__doc__)
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), default="medium")
    parser.add_argument("--cycles", type=int, default=5)
    parser.add_argument("--requests-scenario", choices=sorted(SCENARIOS), default="medium")
    parser.add_argument("--json", type=Path)
    parser.add_argument(
        "--one-process", action="store_true", help="the four pollers in this process (as before)"
    )
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    if args.cycles < 1:
        parser.error("--cycles must be >= 1")
    load = Path("/proc/loadavg")
    result: dict[str, Any] = {"scenario": args.scenario, "load_before": load.read_text().split()[0]}
    result["one_process"] = args.one_process
    result["shards"] = shards(SCENARIOS[args.scenario], args.cycles, args.one_process)
    print(json.dumps(result["shards"], indent=1), flush=True)  # kept if the second part fails
    result["requests"] = requests(args.cycles, args.requests_scenario)
    result["load_after"] = load.read_text().split()[0]
    print(render(result))
    out = args.json or RESULTS / f"scopes-{args.scenario}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
