"""The poller's cycle around the Admin API: extra source runners with deadlines, collectors that
fail alone, and the snapshot hand-over. The Admin API here is a closed port (a real, unreachable
cluster), so every cycle reports the admin source down within its deadline."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from itertools import pairwise
from typing import ClassVar

import pytest

import exporter.poller as poller_module
from exporter.catalog import own
from exporter.collectors.base import REGISTRY, CycleData, Input
from exporter.config import Config, KafkaConfig, PollConfig
from exporter.poller import RUNNERS_START_STAGE, Poller
from exporter.snapshot import Snapshot, SnapshotBuilder
from exporter.sources.admin import STAGES, AdminResult
from exporter.sources.admin_model import ClusterView
from exporter.sources.jmx_model import TargetResult
from exporter.sources.probe_model import ProbeFailure, ProbeReading
from exporter.sources.registry_model import RegistryFailure, RegistryReading
from exporter.sources.stages import RunnerKind, StageOutcome


def closed_port_config(**collectors: bool) -> Config:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return Config(
        kafka=KafkaConfig(bootstrap_servers=f"127.0.0.1:{port}", request_timeout_seconds=0.5),
        poll=PollConfig(interval_seconds=0.2, stage_timeout_seconds=1.0),
        collectors=collectors,
    )


def reading(target: str, detail: str) -> TargetResult:
    return TargetResult(target, "broker", True, 0.0, detail=detail)


def details(data: CycleData) -> dict[str, str]:
    """The JMX readings a collector saw, by target name (each runner's call count in `detail`)."""
    return {name: result.detail for name, result in data.jmx.items()}


class Runner:
    """A JMX source runner that answers after `delays[i]` seconds on its i-th call."""

    kind: RunnerKind = "jmx"

    def __init__(self, name: str, delays: tuple[float, ...] = (0.0,)) -> None:
        self.name = name
        self.delays = delays
        self.calls = 0
        self.clusters: list[ClusterView | None] = []
        self.timeouts: list[float | None] = []
        self.closed = False

    def poll(
        self, cluster: ClusterView | None = None, timeout: float | None = None
    ) -> Mapping[str, object]:
        delay = self.delays[min(self.calls, len(self.delays) - 1)]
        self.calls += 1
        self.clusters.append(cluster)
        self.timeouts.append(timeout)
        time.sleep(delay)
        return {f"{self.name}-target": reading(f"{self.name}-target", f"reading-{self.calls}")}

    def close(self) -> None:
        self.closed = True


class Recorder:
    name: ClassVar[str] = "test_recorder"
    reads: ClassVar[tuple[Input, ...]] = ("jmx",)
    seen: ClassVar[list[CycleData]] = []

    def __init__(self, config: Config) -> None:
        del config

    def collect(self, data: CycleData, out: SnapshotBuilder) -> None:
        Recorder.seen.append(data)
        out.add(own.POLL_INTERVAL, (), 99)


class Broken:
    name: ClassVar[str] = "test_broken"
    reads: ClassVar[tuple[Input, ...]] = ("admin",)

    def __init__(self, config: Config) -> None:
        del config

    def collect(self, data: CycleData, out: SnapshotBuilder) -> None:
        raise RuntimeError("collector bug")


@pytest.fixture
def test_collectors() -> Iterator[None]:
    Recorder.seen.clear()
    REGISTRY[Recorder.name] = Recorder
    REGISTRY[Broken.name] = Broken
    yield
    del REGISTRY[Recorder.name]
    del REGISTRY[Broken.name]


def test_runners_collectors_and_deadlines(
    test_collectors: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(poller_module, "RUNNER_GRACE_SECONDS", 0.5)
    fast = Runner("fastsource")
    slow = Runner("slowsource", delays=(4.0, 0.0))
    handed: list[Snapshot] = []
    poller = Poller(closed_port_config(), on_snapshot=handed.append, runners=[fast, slow])
    try:
        first = poller.poll_once()
        # the slow runner missed its deadline; the fast one's readings reached the collectors
        assert first.value(own.POLL_ERRORS, "slowsource") == 1
        assert first.value(own.POLL_ERRORS, "fastsource") == 0
        assert details(Recorder.seen[-1]) == {"fastsource-target": "reading-1"}
        assert Recorder.seen[-1].cluster is None
        assert fast.timeouts == [1.0] and fast.clusters == [None]
        # a collector that raises fails alone; the others' series are there
        assert first.value(own.POLL_ERRORS, "collector:test_broken") == 1
        assert (99.0, ()) in [(s.value, s.labels) for s in first.samples(own.POLL_INTERVAL)]
        assert first.value(own.UP, "admin", "") == 0
        assert handed == [first] and poller.snapshot is first

        second = poller.poll_once()  # the slow runner is still busy: not started twice
        assert slow.calls == 1
        assert second.value(own.POLL_ERRORS, "slowsource") == 2
        assert second.value(own.POLL_DURATION, "slowsource") == 0.0

        deadline = time.monotonic() + 10
        while poller._runners.busy["slowsource"].running() and time.monotonic() < deadline:
            time.sleep(0.1)
        third = poller.poll_once()
        assert slow.calls == 2
        assert third.value(own.POLL_ERRORS, "slowsource") == 2
        assert details(Recorder.seen[-1]) == {
            "fastsource-target": "reading-3",
            "slowsource-target": "reading-2",
        }
        assert third.value(own.POLL_ERRORS, "collector:test_broken") == 3
        assert third.value(own.LAST_POLL_SUCCESS) is None
    finally:
        poller.stop()
    assert fast.closed and slow.closed


class StagedAdmin:
    """An Admin API source that walks through the stages of a reachable cluster (no Kafka: this
    test is about the order of the poller's steps) and records when each began."""

    def __init__(self, events: list[str], slow: dict[str, float] | None = None) -> None:
        self.events = events
        self.slow = slow or {}
        """Seconds a stage takes instead of 0.05 (from the second fetch on)."""
        self.fetches = 0

    def fetch(self, on_stage: Callable[[str], None] | None = None) -> AdminResult:
        self.fetches += 1
        for stage in STAGES:
            self.events.append(f"stage {stage}")
            if on_stage is not None:
                on_stage(stage)
            time.sleep(self.slow.get(stage, 0.05) if self.fetches > 1 else 0.05)
        view = ClusterView(taken_at=time.time(), brokers=(), controller_id=-1, topics={})
        return AdminResult(view, tuple(StageOutcome(s, 0.05) for s in STAGES))

    def close(self) -> None:
        pass


class EventRunner(Runner):
    def __init__(self, events: list[str]) -> None:
        super().__init__("eventsource", delays=(0.3,))
        self.events = events

    def poll(
        self, cluster: ClusterView | None = None, timeout: float | None = None
    ) -> Mapping[str, object]:
        self.events.append("runner started")
        got = super().poll(cluster, timeout)
        self.events.append("runner done")
        return got


class AdminReader:
    name: ClassVar[str] = "test_admin_reader"
    reads: ClassVar[tuple[Input, ...]] = ("admin",)
    events: ClassVar[list[str]] = []

    def __init__(self, config: Config) -> None:
        del config

    def collect(self, data: CycleData, out: SnapshotBuilder) -> None:
        AdminReader.events.append(f"admin collector jmx={details(data)}")


def test_runners_start_at_the_offsets_stage_and_admin_collectors_do_not_wait(
    test_collectors: None,
) -> None:
    events: list[str] = []
    AdminReader.events = events
    REGISTRY[AdminReader.name] = AdminReader
    try:
        poller = Poller(closed_port_config(), runners=[EventRunner(events)],
                        admin=StagedAdmin(events))  # type: ignore[arg-type]  # fmt: skip
        try:
            snap = poller.poll_once()
        finally:
            poller.stop()
    finally:
        del REGISTRY[AdminReader.name]
    started = events.index("runner started")
    assert events[started - 1] == f"stage {RUNNERS_START_STAGE}" == "stage offsets"
    # the collector that does not read JMX ran while the runner was busy, and saw no readings;
    # the one that does ran after it, with them
    assert events.index("admin collector jmx={}") < events.index("runner done")
    assert details(Recorder.seen[-1]) == {"eventsource-target": "reading-1"}
    assert snap.value(own.POLL_ERRORS, "eventsource") == 0


def test_runners_start_anyway_when_the_stages_before_take_much_longer_than_last_time(
    test_collectors: None,
) -> None:
    """Requests timing out (a broker down) keep the client waiting, not busy: the JMX readings
    must not wait for them."""
    events: list[str] = []
    admin = StagedAdmin(events, slow={"committed": 4.0})
    poller = Poller(closed_port_config(), runners=[EventRunner(events)],
                    admin=admin)  # type: ignore[arg-type]  # fmt: skip
    try:
        poller.poll_once()  # every stage 0.05 s: the offsets stage begins after about 0.15 s
        assert events.index("runner started") == events.index("stage offsets") + 1
        events.clear()
        poller.poll_once()
    finally:
        poller.stop()
    # started during the slow committed stage (at 1 + 1.5 x 0.15 s), done before its end
    assert events.index("stage committed") < events.index("runner started")
    assert events.index("runner done") < events.index("stage offsets")


def test_runners_start_when_the_cluster_is_unreachable(test_collectors: None) -> None:
    runner = Runner("fastsource")
    poller = Poller(closed_port_config(), runners=[runner])
    try:
        snap = poller.poll_once()
    finally:
        poller.stop()
    assert runner.calls == 1 and snap.value(own.POLL_ERRORS, "fastsource") == 0
    assert details(Recorder.seen[-1]) == {"fastsource-target": "reading-1"}


def test_switched_off_collectors_do_not_run(test_collectors: None) -> None:
    poller = Poller(closed_port_config(test_broken=False, test_recorder=False, own=False))
    try:
        snap = poller.poll_once()
    finally:
        poller.stop()
    assert Recorder.seen == []
    assert own.UP not in snap.families and own.POLL_ERRORS not in snap.families


def test_background_thread_polls_on_its_interval() -> None:
    got = threading.Event()
    snaps: list[Snapshot] = []

    def on_snapshot(s: Snapshot) -> None:
        snaps.append(s)
        if len(snaps) >= 3:
            got.set()

    poller = Poller(closed_port_config(), on_snapshot=on_snapshot)
    poller.start()
    try:
        assert got.wait(30), f"only {len(snaps)} snapshots in 30 s"
    finally:
        poller.stop()
    count = len(snaps)
    time.sleep(1.5)
    assert len(snaps) == count  # stopped for good
    assert snaps[-1].value(own.POLL_ERRORS, "metadata") == count
    assert all(a.taken_at < b.taken_at for a, b in pairwise(snaps))
    assert poller.snapshot is snaps[-1]


class Kind:
    """A runner of one kind (only its name and kind matter to the filing)."""

    def __init__(self, name: str, kind: RunnerKind) -> None:
        self.name = name
        self.kind = kind

    def poll(
        self, cluster: ClusterView | None = None, timeout: float | None = None
    ) -> Mapping[str, object]:
        return {}

    def close(self) -> None:
        pass


def test_readings_are_filed_by_the_runners_kind(caplog: pytest.LogCaptureFixture) -> None:
    registry = RegistryReading(taken_at=1.0, latency_seconds=0.01, seconds=0.1,
                               global_compatibility="BACKWARD")  # fmt: skip
    probe = ProbeReading((), (), 0.1)
    jmx = reading("b1", "ok")
    data = poller_module.file_readings(CycleData(now=1.0), [
        (Kind("jmx", "jmx"), {"b1": jmx, "stray": "not a result"}),
        (Kind("schema_registry", "schema_registry"), {"schema_registry": registry}),
        (Kind("probe", "probe"), {"probe": probe}),
    ])  # fmt: skip
    assert data.jmx == {"b1": jmx} and data.now == 1.0
    assert data.schema_registry is registry and data.schema_registry_failure is None
    assert data.probe is probe
    assert "unexpected reading dropped source=jmx kind=jmx key=stray type=str" in caplog.text
    # failures: the registry's is kept for its error counter; a probe failure leaves no reading
    failure = RegistryFailure("unreachable", "GET /config: connection refused")
    failed = poller_module.file_readings(CycleData(now=2.0), [
        (Kind("schema_registry", "schema_registry"), {"schema_registry": failure}),
        (Kind("probe", "probe"), {"probe": ProbeFailure("probe topic 'p' does not exist")}),
        (Kind("other-jmx", "probe"), {"b2": jmx}),  # a JMX result from a runner of another kind
    ])  # fmt: skip
    assert failed.schema_registry is None and failed.schema_registry_failure is failure
    assert failed.probe is None and failed.jmx == {}
    assert "source=other-jmx kind=probe key=b2 type=TargetResult" in caplog.text
