"""The source runners beside the Admin API: what a runner is, which ones the configuration asks
for, how they run (each in a worker thread of its own, never twice at once) and how their
readings are filed into the cycle's `CycleData` by the kind each runner declares.

A runner: an object with `name: str` (its stage name), `kind` (what it reads: `jmx`,
`schema_registry` or `probe`), `poll(cluster, timeout)` returning a mapping of readings by target
name, and `close()`. `cluster` is the `ClusterView` of the previous cycle (or None), for runners
that discover targets from the metadata; `timeout` is the runner's deadline in seconds, which it
must respect. A runner that fails may raise `SourceFailed` with readings that describe the failure
(the stage counts as failed, the readings are kept). `file_readings` files each runner's readings
in the `CycleData` field of its kind; a reading of another type than the kind promises is dropped
with a warning. `default_runners(config)` lists the runners the configuration asks for; add new
sources there. A runner that drives a librdkafka client goes into a child process of its own with
`SupervisedRunner(name, functools.partial(TheRunner, config), config, kind=...)`: same
interface, plain dataclasses in and out (a `SourceFailed` raised in the child is raised again in
the parent).
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import replace
from typing import Protocol

from exporter.collectors.base import CycleData
from exporter.config import Config
from exporter.sources.admin_model import ClusterView
from exporter.sources.jmx_model import TargetResult
from exporter.sources.probe_model import ProbeFailure, ProbeReading
from exporter.sources.registry_model import RegistryFailure, RegistryReading
from exporter.sources.stages import RunnerKind, SourceFailed, StageOutcome, describe_error

log = logging.getLogger(__name__)

_Readings = Future[tuple[Mapping[str, object], StageOutcome]]
Pending = list[tuple["SourceRunner", _Readings | None]]
"""The runners started in one cycle, each with its future (None: still busy from an earlier one)."""
Handed = list[tuple["SourceRunner", Mapping[str, object]]]
"""What each runner handed in this cycle."""


class SourceRunner(Protocol):
    name: str
    kind: RunnerKind

    def poll(
        self, cluster: ClusterView | None = None, timeout: float | None = None
    ) -> Mapping[str, object]: ...

    def close(self) -> None: ...


def default_runners(config: Config) -> list[SourceRunner]:
    """The sources polled side by side with the Admin API stages, as the configuration asks."""
    runners: list[SourceRunner] = []
    if config.jmx.targets or config.jmx.discover_brokers_port:
        from exporter.sources.jmx import JmxSource

        runners.append(JmxSource(config.jmx))
    if config.schema_registry.url:
        from exporter.sources.registry import SchemaRegistrySource

        runners.append(SchemaRegistrySource(config.schema_registry,
                                            interval=config.poll.interval_seconds))  # fmt: skip
    if config.probe.enabled:
        from exporter.sources.probe import ProbeSource
        from exporter.sources.supervised import SupervisedRunner

        runners.append(SupervisedRunner("probe", functools.partial(ProbeSource, config), config,
                                        kind="probe"))  # fmt: skip
    return runners


class Runners:
    """A poller's source runners, each in a worker thread of its own; a runner still busy with an
    earlier cycle is not started again until that call returns."""

    def __init__(self, runners: Sequence[SourceRunner]) -> None:
        self.runners = list(runners)
        self._pool = (
            ThreadPoolExecutor(max_workers=len(self.runners), thread_name_prefix="source")
            if self.runners
            else None
        )
        self.busy: dict[str, _Readings] = {}
        """The last call of each runner, by name."""

    def start(self, cluster: ClusterView | None, timeout: float) -> Pending:
        """Start every runner not still busy, with the last cluster view and its deadline."""
        started: Pending = []
        for runner in self.runners:
            busy = self.busy.get(runner.name)
            if busy is not None and not busy.done():
                started.append((runner, None))
                continue
            assert self._pool is not None
            fut = self._pool.submit(_run, runner, cluster, timeout)
            self.busy[runner.name] = fut
            started.append((runner, fut))
        return started

    @staticmethod
    def finish(pending: Pending, t0: float, deadline: float) -> tuple[Handed, list[StageOutcome]]:
        """The readings of the runners started at `t0`, each awaited until `deadline`
        (monotonic)."""
        readings: Handed = []
        stages: list[StageOutcome] = []
        for runner, fut in pending:
            if fut is None:
                stages.append(StageOutcome(runner.name, 0.0, "still busy with an earlier cycle"))
                continue
            try:
                got, outcome = fut.result(timeout=max(0.0, deadline - time.monotonic()))
            except FutureTimeout:
                stages.append(StageOutcome(runner.name, time.monotonic() - t0, "timed out"))
                continue
            readings.append((runner, got))
            stages.append(outcome)
        return readings, stages

    def restarts(self) -> dict[str, int]:
        """Client process replacements of the supervised runners, by stage name."""
        out = {}
        for runner in self.runners:
            restarts = getattr(runner, "restarts", None)
            if isinstance(restarts, int):
                out[runner.name] = restarts
        return out

    def close(self) -> None:
        """Stop the workers (a call still running is left to end) and close every runner."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        for runner in self.runners:
            try:
                runner.close()
            except Exception as exc:
                log.warning("closing source failed source=%s error=%r", runner.name,
                            describe_error(exc))  # fmt: skip


def _run(
    runner: SourceRunner, cluster: ClusterView | None, timeout: float
) -> tuple[Mapping[str, object], StageOutcome]:
    t0 = time.monotonic()
    try:
        readings = runner.poll(cluster, timeout)
    except SourceFailed as exc:
        log.warning("source failed source=%s error=%r", runner.name, str(exc))
        return exc.readings, StageOutcome(runner.name, time.monotonic() - t0, str(exc))
    except Exception as exc:
        log.warning("source failed source=%s error=%r", runner.name, describe_error(exc))
        return {}, StageOutcome(runner.name, time.monotonic() - t0, describe_error(exc))
    return readings, StageOutcome(runner.name, time.monotonic() - t0)


def file_readings(data: CycleData, handed: Handed) -> CycleData:
    """The runners' readings filed in the `CycleData` field of each runner's kind: JMX results by
    target name; the registry's reading or failure; the probe's reading (a probe failure leaves
    it None). A reading of another type is dropped with a warning: that runner is wrong."""
    jmx: dict[str, TargetResult] = {}
    registry: RegistryReading | None = None
    registry_failure: RegistryFailure | None = None
    probe: ProbeReading | None = None
    for runner, got in handed:
        kind: RunnerKind = runner.kind
        for key, value in got.items():
            if kind == "jmx" and isinstance(value, TargetResult):
                jmx[key] = value
            elif kind == "schema_registry" and isinstance(value, RegistryReading):
                registry = value
            elif kind == "schema_registry" and isinstance(value, RegistryFailure):
                registry_failure = value
            elif kind == "probe" and isinstance(value, ProbeReading):
                probe = value
            elif not (kind == "probe" and isinstance(value, ProbeFailure)):
                log.warning("unexpected reading dropped source=%s kind=%s key=%s type=%s",
                            runner.name, kind, key, type(value).__name__)  # fmt: skip
    return replace(data, jmx=jmx, schema_registry=registry,
                   schema_registry_failure=registry_failure, probe=probe)  # fmt: skip
