"""`python -m bench.offsets_stage`: the `offsets` stage alone, the AdminClient's way against the
exporter's, alternating in one run against the scenario's cached broker.

Every partition's log end and log start (cluster scope, the stage's largest request), read:

- `list_offsets`: the AdminClient's `list_offsets` once per spec (`OffsetSpec.latest()`,
  `OffsetSpec.earliest()`), one future per partition and spec, all waited for and read (how the
  stage read them before `exporter.sources.admin_offsets`);
- `reader`: `exporter.sources.admin_offsets.OffsetsReader`, as the exporter reads them.

Both answers are checked equal in every round. Wall and CPU seconds of this process (the client
library's threads included) per round, medians after a warm-up round; JSON on stdout and in
`bench/results/offsets-stage-<scenario>.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Sequence
from concurrent.futures import wait
from pathlib import Path
from typing import Any

from confluent_kafka import TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec  # type: ignore[attr-defined]

from bench import broker as broker_mod
from bench.scenarios import SCENARIOS, TOPIC_PREFIX
from exporter.sources.admin_offsets import OffsetsReader
from exporter.sources.stages import Deadline

RESULTS = Path(__file__).resolve().parent / "results"
TIMEOUT = 60.0


def _cpu() -> float:
    t = os.times()
    return t.user + t.system


def list_offsets(admin: AdminClient, tps: Sequence[tuple[str, int]]) -> dict[Any, tuple[int, int]]:
    """(log start, log end) of every partition through `list_offsets`, one call per spec."""
    wanted = [TopicPartition(t, p) for t, p in tps]
    latest = OffsetSpec.latest()  # type: ignore[no-untyped-call]
    earliest = OffsetSpec.earliest()  # type: ignore[no-untyped-call]
    ends = admin.list_offsets(dict.fromkeys(wanted, latest), request_timeout=TIMEOUT)
    starts = admin.list_offsets(dict.fromkeys(wanted, earliest), request_timeout=TIMEOUT)
    wait([*ends.values(), *starts.values()], timeout=TIMEOUT)
    end = {(tp.topic, tp.partition): f.result(timeout=0).offset for tp, f in ends.items()}
    start = {(tp.topic, tp.partition): f.result(timeout=0).offset for tp, f in starts.items()}
    return {k: (start[k], v) for k, v in end.items()}


def measure(scenario: str, rounds: int) -> dict[str, Any]:
    b = broker_mod.start(SCENARIOS[scenario])
    try:
        props: dict[str, Any] = {"bootstrap.servers": b.bootstrap}
        admin = AdminClient(props)
        md = admin.list_topics(timeout=TIMEOUT)
        leaders = {
            (name, int(pid)): int(p.leader)
            for name, t in md.topics.items()
            if name.startswith(TOPIC_PREFIX)
            for pid, p in t.partitions.items()
        }
        tps = sorted(leaders)
        reader = OffsetsReader(props, TIMEOUT)
        load = list(os.getloadavg())
        runs: dict[str, list[float]] = {k: [] for k in ("list_offsets", "reader")}
        cpus: dict[str, list[float]] = {k: [] for k in runs}
        try:
            for r in range(rounds + 1):
                c0, t0 = _cpu(), time.perf_counter()
                before = list_offsets(admin, tps)
                t1, c1 = time.perf_counter(), _cpu()
                got, _ = reader.read(tps, tps, leaders, Deadline.after(TIMEOUT))
                t2, c2 = time.perf_counter(), _cpu()
                if {k: (o.start, o.end) for k, o in got.items()} != before:
                    raise RuntimeError("the two ways read different offsets")
                if r:  # the first round is a warm-up (connections, metadata)
                    runs["list_offsets"].append(t1 - t0)
                    cpus["list_offsets"].append(c1 - c0)
                    runs["reader"].append(t2 - t1)
                    cpus["reader"].append(c2 - c1)
        finally:
            reader.close()
    finally:
        b.stop()
    out: dict[str, Any] = {"scenario": scenario, "partitions": len(tps), "rounds": rounds,
                           "load_before": load, "load_after": list(os.getloadavg())}  # fmt: skip
    for k in runs:
        out[k] = {
            "wall_median": round(statistics.median(runs[k]), 3),
            "wall_range": [round(min(runs[k]), 3), round(max(runs[k]), 3)],
            "cpu_median": round(statistics.median(cpus[k]), 3),
        }
    out["reader_to_list_offsets_wall"] = round(
        out["reader"]["wall_median"] / out["list_offsets"]["wall_median"], 2
    )
    out["reader_to_list_offsets_cpu"] = round(
        out["reader"]["cpu_median"] / out["list_offsets"]["cpu_median"], 2
    )
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.offsets_stage", description=__doc__)
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), default="medium")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    result = measure(args.scenario, args.rounds)
    text = json.dumps(result, indent=1)
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"offsets-stage-{args.scenario}.json").write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
