"""The partition reader's cost per partition: `python -m bench.reader --topics 200`.

Starts a 1-node broker of the test harness (a temporary data directory), creates T topics of 10
partitions with 20 messages in each, and reads the message at an offset of every partition with
`exporter.sources.partition_reader.PartitionReader`, as exact lag in seconds does: one read of all
the partitions at once, a few rounds, the offset moved by one each round (so no round re-reads the
answers of the last). Each case is a fresh reader with the reader's own settings changed by
`--set KEY=VALUE` (`--set fetch.queue.backoff.ms=1000` is librdkafka's default); `base` is the
settings as they are. Prints the wall time and the client's CPU time per round and per partition,
and writes them as JSON.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from confluent_kafka.admin import AdminClient

from bench import probe
from bench.scenarios import Scenario, create_topics, produce
from exporter.sources.partition_reader import PartitionReader
from harness.cluster import KafkaCluster


def _value(text: str) -> int | str:
    try:
        return int(text)
    except ValueError:
        return text


def read_rounds(
    bootstrap: str, s: Scenario, changes: dict[str, Any], rounds: int
) -> dict[str, Any]:
    """Time `rounds` reads of every partition with a fresh reader whose settings are changed."""
    tps = [(s.topic(t), p) for t in range(s.topics) for p in range(s.partitions)]
    reader = PartitionReader({"bootstrap.servers": bootstrap}, tuning=changes)
    walls: list[float] = []
    cpus: list[float] = []
    unanswered = 0
    try:
        for r in range(rounds):
            wanted = {tp: 2 + r % (s.messages - 4) for tp in tps}
            w0, c0 = time.monotonic(), time.process_time()
            answers = reader.read(wanted, 120.0)
            walls.append(time.monotonic() - w0)
            cpus.append(time.process_time() - c0)
            unanswered += sum(1 for a in answers.values() if a.outcome != "found")
    finally:
        reader.close()
    wall = statistics.median(walls)
    return {
        "changes": changes,
        "partitions": len(tps),
        "wall_seconds": [round(w, 4) for w in walls],
        "cpu_seconds": [round(c, 4) for c in cpus],
        "wall_ms_per_partition": round(1000 * wall / len(tps), 4),
        "cpu_ms_per_partition": round(1000 * statistics.median(cpus) / len(tps), 4),
        "not_found": unanswered,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.reader", description=__doc__)
    parser.add_argument("--topics", type=int, default=200, help="topics of 10 partitions")
    parser.add_argument("--rounds", type=int, default=4, help="reads of every partition a case")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="a case with this reader setting changed (repeatable)")  # fmt: skip
    parser.add_argument("--json", type=Path, default=Path("bench/results/reader.json"))
    args = parser.parse_args(argv)
    cases: list[dict[str, Any]] = [{}]
    for item in args.set:
        key, sep, text = item.partition("=")
        if not sep or not key:
            print(f"bench.reader: --set wants KEY=VALUE, got {item!r}", file=sys.stderr)
            return 2
        cases.append({key: _value(text)})
    s = Scenario("reader", args.topics, 10, 0, 20, 10.0, 1, ("256m", "768m"))
    load_start = probe.load_average()
    with KafkaCluster(1, heap=s.heap) as cluster:
        bootstrap = cluster.bootstrap_servers
        create_topics(AdminClient({"bootstrap.servers": bootstrap}), s)
        produce(bootstrap, s)
        results = [read_rounds(bootstrap, s, c, args.rounds) for c in cases]
    load_end = probe.load_average()
    out = {"topics": s.topics, "load": {"start": load_start, "end": load_end}, "cases": results}
    print(f"{s.topics * s.partitions} partitions, load average at start {load_start}, "
          f"at end {load_end}")  # fmt: skip
    print(f"{'case':<32}  {'wall per round (s)':<32}  ms/partition  CPU ms/partition")
    for r in results:
        name = ",".join(f"{k}={v}" for k, v in r["changes"].items()) or "base"
        walls = " ".join(f"{w:.2f}" for w in r["wall_seconds"])
        print(f"{name:<32}  {walls:<32}  {r['wall_ms_per_partition']:<12}  "
              f"{r['cpu_ms_per_partition']}")  # fmt: skip
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(out, indent=2) + "\n")
    print(f"result: {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
