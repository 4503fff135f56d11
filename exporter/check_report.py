"""The human-readable summary `kafka-vitals check` prints after one poll cycle.

The summary says what a newcomer wants to know first: did every source answer (and if not, why,
in one line each), how big the cluster is, whether partitions are under-replicated or offline,
and how many series each metric family would expose.
"""

from __future__ import annotations

from collections.abc import Sequence

from exporter.catalog import Metric, admin, own
from exporter.config import Config
from exporter.snapshot import Snapshot
from exporter.sources.stages import StageOutcome


def _total(snapshot: Snapshot, metric: Metric) -> int:
    return int(sum(s.value for s in snapshot.samples(metric)))


def report(config: Config, snapshot: Snapshot, stages: Sequence[StageOutcome]) -> tuple[str, bool]:
    """(the text to print, whether every source answered)."""
    lines = [f"kafka-vitals check: bootstrap servers {config.kafka.bootstrap_servers}", ""]
    lines.append("sources:")
    ups = snapshot.samples(own.UP)
    for sample in sorted(ups, key=lambda s: s.labels):
        source, target = sample.labels
        name = f"{source} {target}".strip()
        lines.append(f"  {name:<40} {'up' if sample.value == 1 else 'DOWN'}")
    failed = [s for s in stages if not s.ok]
    if failed:
        lines += ["", "failed stages:"]
        lines += [f"  {s.stage}: {' '.join(s.error.split())}" for s in failed]
    topics = snapshot.samples(admin.TOPIC_PARTITIONS)
    lines += [
        "",
        "cluster:",
        f"  brokers            {_total(snapshot, admin.BROKERS)}",
        f"  topics             {len(topics)}",
        f"  partitions         {_total(snapshot, admin.TOPIC_PARTITIONS)}",
        f"  under-replicated   {_total(snapshot, admin.PARTITION_UNDER_REPLICATED)}",
        f"  offline            {_total(snapshot, admin.PARTITION_OFFLINE)}",
        f"  consumer groups    {len(snapshot.samples(admin.GROUP_MEMBERS))}",
        "",
        f"series: {snapshot.series_count} in {len(snapshot.families)} families",
    ]
    width = max((len(m.name) for m in snapshot.families), default=0)
    for metric in sorted(snapshot.families, key=lambda m: m.name):
        lines.append(f"  {metric.name:<{width}}  {len(snapshot.families[metric])}")
    ok = bool(ups) and all(s.value == 1 for s in ups)
    down = [" ".join(s.labels).strip() for s in ups if s.value != 1]
    lines += ["", "result: ok" if ok else f"result: FAILED, not answering: {', '.join(down)}"]
    return "\n".join(lines), ok
