"""Cost of one JMX poll: wall time, CPU and peak RSS of the query JVM, with and without our flags.

    python -m tests.jmx_bench service:jmx:rmi:///jndi/rmi://127.0.0.1:PORT/jmxrmi [--runs 10]

Runs the exact command the JMX source runs (`java <flags> @argfile`, the jar and every broker
query in the argument file) under `/usr/bin/time`, for three cases: the JVM alone (`-help`), one
MBean, and the whole broker query. Prints medians and maxima; see docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

from exporter.config import JMX_JAVA_OPTIONS
from exporter.sources.jmx import JAR_PATH, argfile_text
from exporter.sources.jmx_model import BROKER_QUERIES, query_string

URP = "kafka.server:type=ReplicaManager,name=UnderReplicatedPartitions/Value;"


def measure(java: str, options: list[str], args: list[str], runs: int) -> list[tuple[float, ...]]:
    """(wall s, user+sys CPU s, peak RSS MiB, answer bytes) of `runs` runs."""
    fd, argfile = tempfile.mkstemp(suffix=".args")
    with os.fdopen(fd, "w") as fh:
        fh.write(argfile_text(args))
    rows: list[tuple[float, ...]] = []
    try:
        for _ in range(runs):
            cmd = ["/usr/bin/time", "-f", "%e %U %S %M", java, *options, f"@{argfile}"]
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
            wall, user, sys_, rss = done.stderr.strip().splitlines()[-1].split()
            rows.append((float(wall), float(user) + float(sys_), int(rss) / 1024, len(done.stdout)))
    finally:
        os.unlink(argfile)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="JMX service URL of a broker")
    parser.add_argument("--runs", type=int, default=10)
    opts = parser.parse_args()
    java = shutil.which("java")
    if java is None or not os.path.exists("/usr/bin/time"):
        print("needs java and /usr/bin/time (apt-get install time)", file=sys.stderr)
        return 2
    jar = ["-jar", str(JAR_PATH)]
    cases = {
        "JVM alone (-help)": [*jar, "-help"],
        "one MBean": [*jar, "-url", opts.url, "-json", "-q", URP],
        "broker query": [*jar, "-url", opts.url, "-json", "-q", query_string(BROKER_QUERIES)],
    }
    print(f"load average: {os.getloadavg()[0]:.1f}  runs: {opts.runs}")
    for label, args in cases.items():
        for flags, options in (("JVM defaults", []), ("kafka-vitals", list(JMX_JAVA_OPTIONS))):
            rows = measure(java, options, args, opts.runs)
            med = [statistics.median(r[i] for r in rows) for i in range(4)]
            top = [max(r[i] for r in rows) for i in range(3)]
            print(
                f"{label:18s} {flags:12s} wall {med[0]:.2f}s (max {top[0]:.2f})  "
                f"cpu {med[1]:.2f}s (max {top[1]:.2f})  rss {med[2]:.0f} MiB (max {top[2]:.0f})  "
                f"answer {med[3] / 1024:.0f} KiB"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
