"""Cost of one broker JMX poll as the partition count grows (one `Log` and three `Partition` MBeans
per partition on the broker).

    python -m bench.jmx_partitions [--partitions 5000] [--runs 3] [--out bench-jmx.json]

Starts a 1-node Kafka cluster with the test harness, creates topics of 100 partitions until the
broker holds `--partitions`, then times the exact command the JMX source runs (`java <flags>
@argfile`) for: the JVM alone, the whole broker query, the broker query without the per-partition
patterns, and the per-partition patterns alone. Prints a table of medians and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from exporter.config import JMX_JAVA_OPTIONS
from exporter.sources.jmx import JAR_PATH, argfile_text
from exporter.sources.jmx_model import parse_answer, query_string
from exporter.sources.jmx_queries import BROKER_QUERIES, PER_PARTITION_PATTERNS, Query
from harness import clients, jars
from harness.cluster import KafkaCluster


def _per_partition(q: Query) -> bool:
    return q.pattern.startswith(PER_PARTITION_PATTERNS)


def run_query(url: str, queries: tuple[Query, ...] | None) -> tuple[float, int]:
    """(wall seconds, values read) of one query JVM; `None` runs the JVM alone (`-help`)."""
    args = ["-jar", str(JAR_PATH), "-help"]
    if queries is not None:
        args = ["-jar", str(JAR_PATH), "-url", url, "-json", "-q", query_string(queries)]
    fd, argfile = tempfile.mkstemp(suffix=".args")
    with os.fdopen(fd, "w") as fh:
        fh.write(argfile_text(args))
    try:
        started = time.monotonic()
        done = subprocess.run(
            ["java", *JMX_JAVA_OPTIONS, f"@{argfile}"],
            capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
        wall = time.monotonic() - started
    finally:
        os.unlink(argfile)
    if queries is None:
        return wall, 0
    return wall, len(parse_answer(done.returncode, done.stdout, done.stderr))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--partitions", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", default="bench-jmx-partitions.json")
    opts = parser.parse_args(argv)
    jars.fetch()
    cluster = KafkaCluster(1, heap=("512m", "1g")).up()
    try:
        bootstrap = cluster.bootstrap_servers
        made = 0
        while made < opts.partitions:
            n = min(100, opts.partitions - made)
            clients.create_topic(bootstrap, f"bench-{made // 100:03d}", n, 1)
            made += n
        url = cluster.nodes[0].jmx_url
        cases = {
            "JVM alone": None,
            "whole broker query": BROKER_QUERIES,
            "without per-partition MBeans": tuple(q for q in BROKER_QUERIES
                                                  if not _per_partition(q)),
            "per-partition MBeans only": tuple(q for q in BROKER_QUERIES if _per_partition(q)),
        }  # fmt: skip
        results: dict[str, dict[str, float]] = {}
        for name, queries in cases.items():
            rows = [run_query(url, queries) for _ in range(opts.runs)]
            walls = [r[0] for r in rows]
            results[name] = {
                "median_s": statistics.median(walls),
                "max_s": max(walls),
                "values": rows[-1][1],
            }
        load = os.getloadavg()[0]
    finally:
        cluster.down()
    print(f"broker JMX poll, {opts.partitions} partitions, {opts.runs} runs, load {load:.1f}")
    print(f"{'case':32} {'median s':>9} {'max s':>7} {'values':>7}")
    for name, r in results.items():
        print(f"{name:32} {r['median_s']:9.2f} {r['max_s']:7.2f} {r['values']:7d}")
    out = {"partitions": opts.partitions, "runs": opts.runs, "load1": load, "cases": results}
    Path(opts.out).write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
