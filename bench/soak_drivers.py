"""The soak's drivers: group ids and topics churned through an AdminClient that is replaced when it
fails, and a client JVM whose JMX target comes and goes."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from confluent_kafka import ConsumerGroupTopicPartitions, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from harness.jars import java_command, jmx_url
from harness.procs import Managed, free_ports, spawn
from harness.tools import CONSOLE_CONSUMER, NOOP_FORMATTER

log = logging.getLogger(__name__)


class Churn:
    """Group ids and topics created and deleted in a thread.

    librdkafka's AdminClient can keep using handles of a broker that restarted and then fail every
    request: after a failed step, a failed delete or a broker restart (`renew`) the driver replaces
    its client, and ids whose delete failed are deleted again with the next batch. Every failed
    delete is counted with its time, so the run can tell the ones outside the restart."""

    def __init__(self, bootstrap: str, groups: int, interval: float) -> None:
        self.bootstrap = bootstrap
        self.admin = self._new_admin()
        self.groups, self.interval = groups, interval
        self.created = self.deleted = self.delete_errors = self.renewals = 0
        self.delete_error_times: list[float] = []
        self.last_delete_error = ""
        self.topics = 0
        self.undeleted: list[str] = []
        self.last_topic = ""
        self.paused = threading.Event()
        self._renew = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _new_admin(self) -> AdminClient:
        return AdminClient({"bootstrap.servers": self.bootstrap})

    def renew(self) -> None:
        """Replace the client before the next step (after the broker restart)."""
        self._renew.set()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(60)

    def delete(self, ids: list[str]) -> list[str]:
        """Delete `ids`; return those whose delete failed (an id already gone counts as deleted)."""
        failed: list[str] = []
        if not ids:
            return failed
        for gid, fut in self.admin.delete_consumer_groups(ids, request_timeout=30).items():
            try:
                fut.result(30)
                self.deleted += 1
            except KafkaException as exc:
                err = exc.args[0] if exc.args else None
                if isinstance(err, KafkaError) and err.code() == KafkaError.GROUP_ID_NOT_FOUND:
                    self.deleted += 1
                    continue
                failed.append(gid)
                self.delete_errors += 1
                self.delete_error_times.append(time.monotonic())
                self.last_delete_error = repr(exc)[:200]
        return failed

    def finish(self, attempts: int = 5) -> list[str]:
        """After `stop`: delete every id still in the cluster and the last topic, replacing the
        client between attempts; return the ids that could not be deleted."""
        for _ in range(attempts):
            try:
                self.undeleted = self.delete(self.undeleted)
                if self.last_topic:
                    self.admin.delete_topics([self.last_topic])[self.last_topic].result(30)
                    self.last_topic = ""
            except Exception as exc:
                log.warning("final clean-up failed: %r", exc)
            if not self.undeleted and not self.last_topic:
                break
            self.admin = self._new_admin()
            self.renewals += 1
        return self.undeleted

    def _run(self) -> None:
        topic_at = 0.0
        n = 0
        while not self._stop.wait(self.interval):
            if self.paused.is_set():
                continue
            if self._renew.is_set():
                self._renew.clear()
                self.admin = self._new_admin()
                self.renewals += 1
            batch: list[str] = []
            try:
                now = time.monotonic()
                if now - topic_at >= 10:
                    name = f"soak-t{self.topics:05d}"
                    self.admin.create_topics([NewTopic(name, 3, 1)])[name].result(30)
                    if self.last_topic:
                        self.admin.delete_topics([self.last_topic])[self.last_topic].result(30)
                    self.last_topic, topic_at = name, now
                    self.topics += 1
                batch = [f"soak-g{n + i:08d}" for i in range(self.groups)]
                n += self.groups
                # librdkafka takes one group per call: the calls go out together
                futures = [
                    fut
                    for g in batch
                    for fut in self.admin.alter_consumer_group_offsets(
                        [ConsumerGroupTopicPartitions(g, [TopicPartition("soak", 0, 1)])],
                        request_timeout=30,
                    ).values()
                ]
                for fut in futures:
                    fut.result(30)
                self.created += len(batch)
                # the batch before (and any id whose delete failed) goes; this batch stays a cycle
                pending = self.undeleted
                self.undeleted = pending + batch
                failed = self.delete(pending)
                self.undeleted = failed + batch
                if failed:
                    self._renew.set()
            except Exception as exc:  # the broker restart: a fresh client, try again next time
                log.warning("churn step failed: %r", exc)
                known = set(self.undeleted)
                self.undeleted += [g for g in batch if g not in known]
                self._renew.set()


class ClientJvm:
    """A console consumer JVM serving JMX on a fixed port, started and stopped every `period`
    seconds: the exporter's `client` JMX target comes and goes."""

    def __init__(self, bootstrap: str, period: float, work: Path) -> None:
        self.bootstrap, self.period, self.work = bootstrap, period, work
        self.port = free_ports(1)[0]
        self.url = jmx_url(self.port)
        self.starts = 0
        self._proc: Managed | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(60)
        if self._proc is not None:
            self._proc.stop(30)

    def _run(self) -> None:
        while not self._stop.is_set():
            if self._proc is None:
                args = ["--bootstrap-server", self.bootstrap, "--topic", "soak", "--group",
                        "soak-jmx-client", "--formatter", NOOP_FORMATTER]  # fmt: skip
                work = self.work
                cmd = java_command(CONSOLE_CONSUMER, args, log_file=work / "client-jvm.log",
                                   jmx_port=self.port)  # fmt: skip
                self._proc = spawn("soak-client-jvm", cmd, log_path=work / "client-jvm.out",
                                   ports=(self.port,))  # fmt: skip
                self.starts += 1
            else:
                self._proc.stop(30)
                self._proc = None
            self._stop.wait(self.period)
