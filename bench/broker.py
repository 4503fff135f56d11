"""A 1-node broker from the test harness whose data directory is kept between benchmark runs.

Each scenario's broker data lives under `.cache/bench/<scenario>/` (git-ignored). A marker file
written after a complete set-up records the scenario's shape; the next run starts the broker on
the same data (no format, new ports) and checks that the topics and groups are all there, or
wipes the directory and lays the scenario out again. The broker is stopped gracefully at the
end, so the next start needs no log recovery.

The committed offsets are the one part a run may change (`--lagging-fraction`): a second marker
records the lagging fraction they were last committed with (none: the scenario's own layout), and
a run that wants another one commits every group's offsets again before it starts, so a cached
directory always holds the offsets its run asked for. The marker is removed before committing and
written after, so an interrupted commit is redone.
"""

from __future__ import annotations

import json
import logging
import resource
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from confluent_kafka.admin import AdminClient

from bench.scenarios import Scenario, commit_offsets, count_present, lay_out
from harness import jars
from harness.cluster import KafkaCluster

log = logging.getLogger(__name__)

MARKER = "scenario.json"
OFFSETS_MARKER = "offsets.json"


class _ReusableCluster(KafkaCluster):
    """A harness cluster that skips formatting when its data directory is formatted already."""

    def _format(self, timeout: float) -> None:
        if all((n.dir / "data" / "meta.properties").is_file() for n in self.nodes):
            return
        super()._format(timeout)


@dataclass(slots=True)
class Broker:
    cluster: KafkaCluster
    reused: bool
    setup_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def bootstrap(self) -> str:
        return self.cluster.bootstrap_servers

    @property
    def jmx_url(self) -> str:
        return self.cluster.nodes[0].jmx_url

    def stop(self) -> None:
        """Stop gracefully (clean shutdown keeps restarts fast) and keep the data directory."""
        try:
            self.cluster.stop(1, timeout=120.0)
        finally:
            self.cluster.down(keep_dir=True)


def cache_root() -> Path:
    return jars.cache_dir() / "bench"


def _raise_fd_limit() -> None:
    """A broker with 10,000 partitions keeps one file open per partition: use the hard limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def start(s: Scenario, *, fresh: bool = False, lagging_fraction: float | None = None) -> Broker:
    """Start the scenario's broker, reusing its cached data when the marker matches, with the
    committed offsets of `lagging_fraction` (none: the scenario's own, behind everywhere)."""
    jars.fetch()
    _raise_fd_limit()
    base = cache_root() / s.name
    marker = base / MARKER
    wanted = s.key()
    cached = not fresh and marker.is_file() and json.loads(marker.read_text()) == wanted
    if not cached and base.exists():
        shutil.rmtree(base)
    base.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    cluster = _ReusableCluster(1, base_dir=base, heap=s.heap).up(timeout=600.0)
    broker = Broker(cluster, reused=cached, setup_seconds={"broker_start": time.monotonic() - t0})
    try:
        if cached:
            t0 = time.monotonic()
            present = _wait_present(cluster.bootstrap_servers, s)
            broker.setup_seconds["verify"] = time.monotonic() - t0
            if present:
                _recommit(broker, s, base / OFFSETS_MARKER, lagging_fraction)
                return broker
            log.warning("cached scenario data incomplete; laying it out again")
            broker.reused = False
            marker.unlink(missing_ok=True)
        (base / OFFSETS_MARKER).unlink(missing_ok=True)
        broker.setup_seconds.update(lay_out(cluster.bootstrap_servers, s, lagging_fraction))
        _write_offsets_marker(base / OFFSETS_MARKER, lagging_fraction)
        marker.write_text(json.dumps(wanted, indent=2) + "\n")
        return broker
    except BaseException:
        cluster.down(keep_dir=True)
        raise


def _write_offsets_marker(path: Path, lagging_fraction: float | None) -> None:
    path.write_text(json.dumps({"lagging_fraction": lagging_fraction}) + "\n")


def _recommit(b: Broker, s: Scenario, marker: Path, lagging_fraction: float | None) -> None:
    """Commit the offsets again when the cached ones were laid out for another fraction."""
    wanted = {"lagging_fraction": lagging_fraction}
    # no marker: data laid out before the option existed, with the scenario's own offsets
    have = json.loads(marker.read_text()) if marker.is_file() else {"lagging_fraction": None}
    if have == wanted:
        return
    log.info("committing offsets again lagging_fraction=%s was=%s", lagging_fraction,
             have.get("lagging_fraction"))  # fmt: skip
    marker.unlink(missing_ok=True)
    t0 = time.monotonic()
    commit_offsets(AdminClient({"bootstrap.servers": b.bootstrap}), s, lagging_fraction)
    b.setup_seconds["recommit_offsets"] = time.monotonic() - t0
    _write_offsets_marker(marker, lagging_fraction)


def _wait_present(bootstrap: str, s: Scenario, timeout: float = 600.0) -> bool:
    """True once every topic and group is listed (the group coordinator loads after start: the
    large scenario's 100,000 committed offsets take minutes on a busy machine, and laying the
    scenario out again takes longer)."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    deadline = time.monotonic() + timeout
    got = (0, 0)
    while time.monotonic() < deadline:
        try:
            got = count_present(admin, s)
        except Exception as exc:  # the coordinator may still be loading
            log.debug("not listed yet error=%s", exc)
        if got == (s.topics, s.groups):
            return True
        time.sleep(1.0)
    log.warning("cached broker lists topics=%d groups=%d", *got)
    return False
