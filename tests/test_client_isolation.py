"""The Kafka client cannot take the endpoint down: the Admin API client runs in a supervised child
process, and killing it with SIGABRT or SIGSEGV in the middle of a cycle, or freezing it past its
deadline, costs that cycle only. /metrics keeps answering within the probe's 1 s all along, the
next cycle is complete with current values, the restart is counted, and no descriptor or thread
is left behind. Any source runner can run in such a child unchanged (`SupervisedRunner`)."""

from __future__ import annotations

import functools
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace

import pytest

from exporter.app import startup_snapshot
from exporter.catalog import admin as cat
from exporter.catalog import own
from exporter.config import Config, KafkaConfig, PollConfig
from exporter.http import MetricsServer, ServerOptions, ServingState
from exporter.poller import Poller
from exporter.render import Renderer
from exporter.snapshot import Snapshot
from exporter.sources.admin import AdminResult
from exporter.sources.admin_model import ClusterView
from exporter.sources.stages import SourceFailed
from exporter.sources.supervised import SupervisedAdmin, SupervisedRunner
from harness import clients
from harness.cluster import KafkaCluster
from tests import cli_run


class KillingAdmin(SupervisedAdmin):
    """Sends `signal` to its own child when the child reports the `groups` stage (once armed)."""

    armed: signal.Signals | None = None

    def fetch(self, on_stage: Callable[[str], None] | None = None) -> AdminResult:
        def stage(name: str) -> None:
            if name == "groups" and self.armed is not None:
                pid = self.client.pid
                assert pid is not None
                os.kill(pid, self.armed)
                self.armed = None
            if on_stage is not None:
                on_stage(name)

        return super().fetch(stage)


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


class Scraper:
    """Scrapes /metrics every 50 ms in a thread; records every status and the slowest answer."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.statuses: list[int] = []
        self.slowest = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            t0 = time.monotonic()
            try:
                status = cli_run.get(self.port, "/metrics", timeout=1.0)[0]
            except OSError:
                status = 0
            self.slowest = max(self.slowest, time.monotonic() - t0)
            self.statuses.append(status)

    def __enter__(self) -> Scraper:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)


@pytest.fixture
def isolated(
    kafka_single: KafkaCluster, unique_name: Callable[[str], str]
) -> Iterator[tuple[Poller, KillingAdmin, MetricsServer, str, str]]:
    bootstrap = kafka_single.bootstrap_servers
    topic, group = unique_name("iso"), unique_name("g")
    clients.create_topic(bootstrap, topic)
    clients.produce_messages(bootstrap, topic, 10)
    clients.commit_offsets(bootstrap, group, {(topic, 0): 2})
    config = Config(
        kafka=KafkaConfig(bootstrap_servers=bootstrap, request_timeout_seconds=2),
        poll=PollConfig(stage_timeout_seconds=2),
    )
    renderer = Renderer()
    state = ServingState(renderer.render(startup_snapshot(config)), lambda: True)

    def publish(snapshot: Snapshot) -> None:
        state.publish(renderer.render(snapshot))

    admin = KillingAdmin(config)
    poller = Poller(config, on_snapshot=publish, admin=admin)
    server = MetricsServer(ServerOptions(listen_address="127.0.0.1:0"), state)
    server.start()
    yield poller, admin, server, topic, group
    server.stop()
    poller.stop()
    clients.delete_topic(bootstrap, topic)


def _complete(poller: Poller, snapshot: Snapshot) -> bool:
    return snapshot.value(own.UP, "admin", "") == 1 and all(s.ok for s in poller.last_stages)


def test_the_admin_client_killed_mid_cycle_or_hung_costs_one_cycle(
    kafka_single: KafkaCluster, isolated: tuple[Poller, KillingAdmin, MetricsServer, str, str]
) -> None:
    poller, admin, server, topic, group = isolated
    first = poller.poll_once()
    assert _complete(poller, first) and first.value(cat.GROUP_LAG, group, topic, "0") == 8
    assert cli_run.get(server.port, "/metrics")[0] == 200  # the server's worker thread is up
    fds, threads = _fds(), threading.active_count()
    pids = {admin.client.pid}
    lost_in: dict[str, int] = {}
    with Scraper(server.port) as scraper:
        for n, sig in enumerate((signal.SIGABRT, signal.SIGSEGV, signal.SIGSTOP), start=1):
            admin.armed = sig
            lost = poller.poll_once()
            assert lost.value(own.UP, "admin", "") == 0, sig.name
            assert lost.value(own.CLIENT_RESTARTS, "admin") == n
            assert lost.value(cat.GROUP_LAG, group, topic, "0") is None  # nothing carried over
            failed = [s for s in poller.last_stages if not s.ok]
            how = f"killed by {sig.name}" if sig != signal.SIGSTOP else "hung for 12 s"
            # the signal is sent when the child reports `groups`; on a fast cycle the child may
            # have reported the next stage before it lands: that stage is the one lost
            assert len(failed) == 1 and how in failed[0].error, failed
            assert failed[0].stage in ("groups", "committed", "offsets"), failed
            lost_in[failed[0].stage] = lost_in.get(failed[0].stage, 0) + 1
            for stage, count in lost_in.items():
                assert lost.value(own.POLL_ERRORS, stage) == count, (sig.name, stage)
            # the next cycle is complete again and current
            clients.produce_messages(kafka_single.bootstrap_servers, topic, 1)
            again = poller.poll_once()
            assert _complete(poller, again), sig.name
            assert again.value(cat.GROUP_LAG, group, topic, "0") == 8 + n
            assert again.taken_at > lost.taken_at
            pids.add(admin.client.pid)
    assert len(pids) == 4  # a new child after each
    assert scraper.statuses and set(scraper.statuses) == {200}, set(scraper.statuses)
    assert scraper.slowest < 1.0  # within the probe's normal latency
    time.sleep(0.2)  # the server closes the last scrape's connection
    assert _fds() <= fds, os.listdir("/proc/self/fd")  # the baseline may hold a closing socket
    assert threading.active_count() == threads, [t.name for t in threading.enumerate()]


class EchoRunner:
    """A runner whose poll answers with its process id and the cluster's broker count."""

    name = "echo"

    def poll(
        self, cluster: ClusterView | None = None, timeout: float | None = None
    ) -> Mapping[str, object]:
        if timeout == 0.5:
            raise SourceFailed("too short", {"echo": "health"})
        brokers = len(cluster.brokers) if cluster is not None and cluster.brokers else -1
        return {"echo": (os.getpid(), brokers, timeout)}

    def close(self) -> None:
        pass


def test_any_runner_runs_in_a_child_and_comes_back_after_a_crash(
    isolated: tuple[Poller, KillingAdmin, MetricsServer, str, str],
) -> None:
    poller, *_ = isolated
    config = Config(poll=PollConfig(stage_timeout_seconds=3))
    runner = SupervisedRunner("echo", functools.partial(EchoRunner), config, kind="probe")
    try:
        poller.poll_once()
        view = poller._last_cluster
        answer = runner.poll(view, 3.0)["echo"]
        assert isinstance(answer, tuple)
        pid, brokers, timeout = answer
        assert pid == runner.client.pid != os.getpid() and brokers == 1 and timeout == 3.0
        os.kill(pid, signal.SIGSEGV)
        with pytest.raises(Exception, match="killed by SIGSEGV"):
            runner.poll(view, 3.0)
        assert runner.restarts == 1
        again = runner.poll(view, 3.0)["echo"]
        assert isinstance(again, tuple) and again[0] == runner.client.pid != pid
        with pytest.raises(SourceFailed, match="too short") as failed:
            runner.poll(view, 0.5)
        assert failed.value.readings == {"echo": "health"}
    finally:
        runner.close()
    assert runner.client.pid is None


def test_a_bad_client_setting_still_fails_at_start() -> None:
    bad = Config(kafka=replace(KafkaConfig(), extra_properties={"no.such.property": "1"}))
    with pytest.raises(ValueError, match=r"kafka: invalid client setting"):
        SupervisedAdmin(bad)
