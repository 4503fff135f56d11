"""What a collector is: a named, switchable translator from one cycle's source data to samples.

Collectors never do I/O. The poller fetches from the sources, wraps what it got in `CycleData`,
and calls every enabled collector in turn with a fresh `SnapshotBuilder`. The offsets of past
cycles (for lag in seconds and lag status) are kept once, in the poller's `OffsetHistory`, fed
with each cycle's view and handed in as `CycleData.history`; a collector that keeps other memory
between cycles (rebalances observed) keeps it on its own instance: the poller creates each
collector once for the life of the process.

Adding a collector: one new file in this package with a class decorated `@register`; the package
imports every module it holds (no list to edit).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Literal, Protocol

from exporter.domain.offset_history import OffsetHistory
from exporter.snapshot import SnapshotBuilder
from exporter.sources.admin_model import ClusterView
from exporter.sources.jmx_model import TargetResult
from exporter.sources.probe_model import ProbeReading
from exporter.sources.registry_model import RegistryFailure, RegistryReading
from exporter.sources.stages import StageOutcome

if TYPE_CHECKING:
    from exporter.config import Config


@dataclass(frozen=True, slots=True)
class PollHealth:
    """How the cycle went, for the exporter's own metrics. The poller fills it in after every
    other collector has run, and hands it to the `own` collector only."""

    started_at: float
    """Unix time at which the cycle started."""
    seconds: float
    """Wall time of the cycle so far (sources and every other collector)."""
    stages: tuple[StageOutcome, ...] = ()
    """Every stage that ran: the Admin API stages, other sources, failed collectors."""
    admin_up: bool = False
    series: Mapping[str, int] = field(default_factory=dict)
    """Series per family name written by the other collectors this cycle."""
    dropped: Mapping[str, int] = field(default_factory=dict)
    """Series dropped by the series cap this cycle, per family name."""
    collectors: Mapping[str, CollectorRun] = field(default_factory=dict)
    """How each other collector ran this cycle, by name."""
    restarts: Mapping[str, int] = field(default_factory=dict)
    """Client processes replaced so far, per supervised source (see `sources.supervised`)."""


@dataclass(frozen=True, slots=True)
class CollectorRun:
    """One collector's run in one cycle: whether it finished without error, and its wall time."""

    ok: bool
    seconds: float


@dataclass(frozen=True, slots=True)
class CycleData:
    """The inputs of one cycle, one typed field per input. A source that failed this cycle is None
    / missing. The poller fills the runners' fields by the kind each runner declares."""

    now: float
    cluster: ClusterView | None = None
    """The Admin API view (`admin`)."""
    history: OffsetHistory | None = None
    """The offsets of past cycles, fed with `cluster` (see `admin_data`); None: no history (each
    cycle judged alone)."""
    jmx: Mapping[str, TargetResult] = field(default_factory=dict)
    """JMX readings by target name: one `TargetResult` per target polled, failed ones included
    (ok=False, with the reason), so their health can be written."""
    schema_registry: RegistryReading | None = None
    """The Schema Registry reading; None when none is configured or the poll failed."""
    schema_registry_failure: RegistryFailure | None = None
    """Why the Schema Registry poll failed this cycle (kind and reason), when it did."""
    probe: ProbeReading | None = None
    """The end-to-end probe's reading; None when the probe is off or could not run."""
    health: PollHealth | None = None
    """Only for the collectors that read `health`, which run last."""


def admin_data(now: float, view: ClusterView | None, history: OffsetHistory) -> CycleData:
    """The data of the Admin API phase: the cycle's view, and the offset history fed with it."""
    if view is not None:
        history.observe(view)
    return CycleData(now=now, cluster=view, history=history)


Input = Literal["admin", "jmx", "schema_registry", "probe", "health"]
"""What a collector reads: `admin`, the Admin API view (`CycleData.cluster`); `jmx`, the JMX
readings; `schema_registry`, the Schema Registry reading; `probe`, the end-to-end probe's reading
(the last three from the source runners, each in the `CycleData` field of its name); `health`,
the cycle's `PollHealth`."""

INPUTS: Mapping[Input, str] = {
    "admin": "Admin API view",
    "jmx": "JMX readings",
    "schema_registry": "Schema Registry reading",
    "probe": "end-to-end probe reading",
    "health": "the cycle's health",
}
"""Each input as the docs name it."""

Phase = Literal["admin", "runners", "health"]
"""When a collector runs in a cycle: with the Admin API view while the source runners are on
their way; after the runners' readings are in; last, with the cycle's health."""


class Collector(Protocol):
    name: ClassVar[str]
    """The switch name: `collectors.<name>` in the config."""
    reads: ClassVar[tuple[Input, ...]]
    """What the collector reads (declared, so the poller knows when to run it)."""

    def collect(self, data: CycleData, out: SnapshotBuilder) -> None: ...


def phase(reads: tuple[Input, ...]) -> Phase:
    """When a collector that reads `reads` runs."""
    if "health" in reads:
        return "health"
    if "jmx" in reads or "schema_registry" in reads or "probe" in reads:
        return "runners"
    return "admin"


CollectorFactory = Callable[["Config"], Collector]
REGISTRY: dict[str, CollectorFactory] = {}


def register(factory: CollectorFactory) -> CollectorFactory:
    """Class decorator: make a collector known under its `name`; it must declare `reads`."""
    name: str = factory.name  # type: ignore[attr-defined]
    if name in REGISTRY:
        raise RuntimeError(f"collector {name} registered twice")
    reads = getattr(factory, "reads", None)
    if not isinstance(reads, tuple) or not reads or not set(reads) <= set(INPUTS):
        raise RuntimeError(
            f"collector {name} must declare reads: ClassVar[tuple[Input, ...]], a non-empty "
            f"tuple of {', '.join(INPUTS)}; got {reads!r}"
        )
    REGISTRY[name] = factory
    return factory
