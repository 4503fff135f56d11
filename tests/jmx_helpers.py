"""Shared steps of the JMX tests against real JVMs: poll through the source, collect a snapshot."""

from __future__ import annotations

import time
from collections.abc import Iterable

from exporter.catalog.model import Metric
from exporter.collectors.base import CycleData
from exporter.collectors.broker_jmx import BrokerJmxCollector
from exporter.collectors.client_jmx import ClientJmxCollector
from exporter.config import Config
from exporter.snapshot import Snapshot, SnapshotBuilder
from exporter.sources.jmx import JmxSource
from exporter.sources.jmx_model import TargetResult


def poll(source: JmxSource, config: Config | None = None, timeout: float = 60.0) -> Snapshot:
    """One JMX poll of every target, through both collectors, as one snapshot."""
    return poll_with_results(source, config, timeout)[0]


def poll_with_results(
    source: JmxSource, config: Config | None = None, timeout: float = 60.0
) -> tuple[Snapshot, dict[str, TargetResult]]:
    cfg = config or Config()
    results = source.poll(timeout=timeout)
    out = SnapshotBuilder()
    data = CycleData(now=time.time(), jmx=results)
    BrokerJmxCollector(cfg).collect(data, out)
    ClientJmxCollector(cfg).collect(data, out)
    return out.build(time.time()), results


def total(snap: Snapshot, metric: Metric, where: dict[str, str], suffix: str = "") -> float:
    """Sum of the family's samples whose labels match `where` (label name -> value)."""
    index = {name: i for i, name in enumerate(metric.labels)}
    return sum(
        s.value
        for s in snap.samples(metric)
        if s.suffix == suffix and all(s.labels[index[k]] == v for k, v in where.items())
    )


def values(snap: Snapshot, metric: Metric, where: dict[str, str]) -> list[float]:
    index = {name: i for i, name in enumerate(metric.labels)}
    return [
        s.value
        for s in snap.samples(metric)
        if s.suffix == "" and all(s.labels[index[k]] == v for k, v in where.items())
    ]


def describe(results: Iterable[TargetResult]) -> str:
    """Target outcomes on one line, for assertion messages."""
    return "; ".join(
        f"{r.target}: ok" if r.ok else f"{r.target}: {r.reason} ({r.detail})" for r in results
    )
