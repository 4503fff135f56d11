"""A new collector is one file: dropped into the collectors' package path, it is found without a
list to edit, switchable in the configuration, served on the exposition, documented in the
generated metrics doc, and health-reported (`kafka_vitals_collector_success` / `_duration_seconds`)
by the poller, against a real Kafka."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from exporter import collectors
from exporter.catalog import admin as cat
from exporter.catalog import own
from exporter.collectors.base import CycleData, register
from exporter.config import Config, FiltersConfig, KafkaConfig, PollConfig
from exporter.configure import ConfigError, load_config
from exporter.docs_gen import metrics_markdown
from exporter.poller import Poller
from exporter.render import Renderer
from exporter.snapshot import SnapshotBuilder
from harness.cluster import KafkaCluster

PROBE = '''\
"""Collector `zz_probe`: the number of brokers, written by a collector added as one file."""

from __future__ import annotations

from typing import ClassVar

from exporter.catalog import admin as cat
from exporter.collectors.base import CycleData, Input, register
from exporter.config import Config
from exporter.snapshot import SnapshotBuilder


@register
class ProbeCollector:
    name: ClassVar[str] = "zz_probe"
    reads: ClassVar[tuple[Input, ...]] = ("admin",)

    def __init__(self, config: Config) -> None:
        del config

    def collect(self, data: CycleData, out: SnapshotBuilder) -> None:
        if data.cluster is not None and data.cluster.brokers is not None:
            out.add(cat.BROKERS, (), len(data.cluster.brokers))
'''

FAILING = '''\
"""Collector `zz_failing`: a collector that always raises, to see its health reported."""

from __future__ import annotations

from typing import ClassVar

from exporter.collectors.base import CycleData, Input, register
from exporter.config import Config
from exporter.snapshot import SnapshotBuilder


@register
class FailingCollector:
    name: ClassVar[str] = "zz_failing"
    reads: ClassVar[tuple[Input, ...]] = ("admin",)

    def __init__(self, config: Config) -> None:
        del config

    def collect(self, data: CycleData, out: SnapshotBuilder) -> None:
        raise RuntimeError("broken on purpose")
'''

NAMES = ("zz_probe", "zz_failing")


@pytest.fixture
def new_collectors(tmp_path: Path) -> Iterator[tuple[str, ...]]:
    """Two collector files in a directory added to the package path; removed again after."""
    (tmp_path / "zz_probe.py").write_text(PROBE)
    (tmp_path / "zz_failing.py").write_text(FAILING)
    collectors.__path__.append(str(tmp_path))
    try:
        yield collectors.discover()
    finally:
        collectors.__path__.remove(str(tmp_path))
        for name in NAMES:
            collectors.REGISTRY.pop(name, None)
            sys.modules.pop(f"exporter.collectors.{name}", None)


def test_a_collector_must_declare_what_it_reads() -> None:
    class Undeclared:
        name: ClassVar[str] = "zz_undeclared"

        def __init__(self, config: Config) -> None:
            del config

        def collect(self, data: CycleData, out: SnapshotBuilder) -> None:
            del data, out

    with pytest.raises(RuntimeError, match="zz_undeclared must declare reads"):
        register(Undeclared)  # type: ignore[arg-type]
    assert "zz_undeclared" not in collectors.REGISTRY


def test_a_collector_file_is_found_served_documented_and_health_reported(
    new_collectors: tuple[str, ...], kafka_single: KafkaCluster, tmp_path: Path
) -> None:
    assert sorted(new_collectors) == [f"exporter.collectors.{n}" for n in sorted(NAMES)]
    assert set(NAMES) <= set(collectors.REGISTRY)

    # switchable by name like any other (an unknown name is refused)
    path = tmp_path / "config.yaml"
    path.write_text("kafka: {bootstrap_servers: 'k:9092'}\ncollectors: {zz_probe: false}\n")
    assert load_config(path, env={}).collectors == {"zz_probe": False}
    path.write_text("kafka: {bootstrap_servers: 'k:9092'}\ncollectors: {zz_prob: false}\n")
    with pytest.raises(ConfigError, match="did you mean 'zz_probe'"):
        load_config(path, env={})

    # documented: the generated metrics doc lists it with its docstring
    doc = metrics_markdown()
    assert "| `zz_probe` | Admin API view | the number of brokers, written by a collector" in doc

    # served and health-reported: `brokers` is off, so kafka_brokers comes from the new file
    config = Config(
        kafka=KafkaConfig(bootstrap_servers=kafka_single.bootstrap_servers),
        filters=FiltersConfig(topic_allow=("^$",), group_allow=("^$",)),
        poll=PollConfig(stage_timeout_seconds=20),
        collectors={"brokers": False},
    )
    poller = Poller(config)
    try:
        snap = poller.poll_once()
    finally:
        poller.stop()
    text = Renderer().render(snap).text.decode()
    assert f"{cat.BROKERS.name} 1\n" in text
    assert f'{own.COLLECTOR_SUCCESS.name}{{collector="zz_probe"}} 1\n' in text
    assert f'{own.COLLECTOR_SUCCESS.name}{{collector="zz_failing"}} 0\n' in text
    assert f'{own.COLLECTOR_SUCCESS.name}{{collector="brokers"}}' not in text  # switched off
    duration = snap.value(own.COLLECTOR_DURATION, "zz_probe")
    assert duration is not None and duration >= 0
    assert snap.value(own.POLL_ERRORS, "collector:zz_failing") == 1
    every = {s.labels[0] for s in snap.samples(own.COLLECTOR_SUCCESS)}
    assert every == set(collectors.REGISTRY) - {"brokers", "own"}
