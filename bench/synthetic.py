"""A synthetic exporter: the real renderer and web server serving N series, with no Kafka at all.

    python -m bench.synthetic --series 100000 --port PORT

Builds a snapshot of consumer-group series (`kafka_consumergroup_lag`, `_current_offset` and
`_lag_seconds` in equal parts, 10 partitions per group and topic), renders it as the exporter does
once per cycle (three times, with changing values, so the renderer's caches are in their steady
state), publishes it to the exporter's HTTP server and serves until SIGTERM. A scrape there only
copies bytes, so its latency says nothing of Kafka.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from collections.abc import Sequence

from exporter.catalog import admin as cat
from exporter.http import MetricsServer, ServerOptions, ServingState
from exporter.render import Fresh, Renderer
from exporter.snapshot import Snapshot, SnapshotBuilder
from exporter.sources import process

FAMILIES = (cat.GROUP_LAG, cat.GROUP_CURRENT_OFFSET, cat.GROUP_LAG_SECONDS)
PARTITIONS = 10


def snapshot(series: int, cycle: int) -> Snapshot:
    """`series` series (rounded up to whole groups), values moving with `cycle`."""
    out = SnapshotBuilder(series_cap=0)
    per_family = -(-series // len(FAMILIES))
    groups = -(-per_family // PARTITIONS)
    for k, metric in enumerate(FAMILIES):
        for g in range(groups):
            group, topic = f"bench-g{g:06d}", f"bench-t{g % 1000:05d}"
            for p in range(PARTITIONS):
                out.add(metric, (group, topic, str(p)), float(cycle * 1000 + g * 7 + p + k))
    return out.build(taken_at=time.time())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.synthetic", description=__doc__)
    parser.add_argument("--series", type=int, default=100_000)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    # as the exporter runs: its own process_* and python_* made at every scrape
    renderer = Renderer(fresh=Fresh(process.FAMILIES, process.OwnProcess().read))
    timings: list[float] = []
    for cycle in range(3):
        snap = snapshot(args.series, cycle)
        t0 = time.perf_counter()
        exposition = renderer.render(snap)
        timings.append(time.perf_counter() - t0)
        del snap
    first, steady = timings[0], timings[-1]
    state = ServingState(exposition, ready=lambda: True)
    server = MetricsServer(ServerOptions(listen_address=f"127.0.0.1:{args.port}"), state)
    server.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    sys.stdout.write(
        f"serving series={exposition.series} first_render_seconds={first:.3f} "
        f"render_seconds={steady:.3f}\n"
    )
    sys.stdout.flush()
    while not stop.wait(0.5):
        pass
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
