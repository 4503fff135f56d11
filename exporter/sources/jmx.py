"""The JMX source: broker and Java-client MBeans read through the jmxquery jar, on hard deadlines.

One poll runs the jar once per target (one JVM, every query of the target's role in one `-q`),
targets side by side in a bounded pool. We start the JVM ourselves instead of calling
`JMXConnection.query`, which on timeout logs and returns an empty list: here each JVM runs in its
own process group and is killed at the target's deadline, so a hung or dead target costs one pool
slot for at most its timeout and never delays the others or a scrape (scrapes only read the last
snapshot). The jar's arguments go through a private argument file (`java @file`), so a JMX password
never appears on a command line. Failures are counted per target and reason.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import jmxquery

from exporter.config import JmxConfig, JmxTarget, Secret
from exporter.sources.admin_model import ClusterView
from exporter.sources.jmx_check import config_problems, default_name, service_url
from exporter.sources.jmx_model import (
    AnswerError,
    JmxValue,
    TargetResult,
    classify,
    one_line,
    parse_answer,
    query_string,
)
from exporter.sources.jmx_queries import queries_for
from exporter.sources.stages import RunnerKind

log = logging.getLogger(__name__)

JAR_PATH = Path(jmxquery.JAR_PATH)
"""The query jar that jmxquery ships."""

_KILL_GRACE_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class ResolvedTarget:
    """A target ready to poll: full service URL and the name its series carry."""

    name: str
    url: str
    role: str
    timeout_seconds: float
    username: str = ""
    password: Secret = field(default_factory=Secret)
    password_file: str = ""


def resolve(target: JmxTarget) -> ResolvedTarget:
    url = service_url(target.url)
    return ResolvedTarget(
        name=target.name or default_name(url),
        url=url,
        role=target.role,
        timeout_seconds=target.timeout_seconds,
        username=target.username,
        password=target.password,
        password_file=target.password_file,
    )


def argfile_text(args: list[str]) -> str:
    """The `java @file` form of `args`: one double-quoted, escaped argument per line."""
    out = []
    for arg in args:
        escaped = (
            arg.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
        )
        out.append(f'"{escaped}"')
    return "\n".join(out) + "\n"


class JmxSource:
    """Polls every configured (and discovered) JMX target once per cycle.

    Lives for the life of the process: it keeps the error counters and the last broker list seen
    in the cluster metadata (so discovered brokers stay polled through an Admin API outage).
    """

    name = "jmx"
    kind: RunnerKind = "jmx"

    def __init__(self, cfg: JmxConfig, *, jar: Path = JAR_PATH) -> None:
        problems = config_problems(cfg)
        if problems:
            raise ValueError("; ".join(f"{path}: {message}" for path, message in problems))
        self._cfg = cfg
        self._jar = jar
        self._static = tuple(resolve(t) for t in cfg.targets)
        self._broker_hosts: tuple[str, ...] = ()
        self._errors: dict[str, dict[str, int]] = {}
        self._last_ok: dict[str, bool] = {}
        self._partitions: dict[str, float] = {}
        """Partitions each broker held at its last successful poll (inf: a first poll timed
        out); decides whether its per-partition MBeans are read."""
        self._lock = threading.Lock()
        self._tmpdir: Path | None = None

    # --- targets ---------------------------------------------------------------------------
    def targets(self, cluster: ClusterView | None = None) -> tuple[ResolvedTarget, ...]:
        """Configured targets plus, with discovery on, one per broker in the metadata."""
        port = self._cfg.discover_brokers_port
        if not port:
            return self._static
        if cluster is not None and cluster.brokers is not None:
            self._broker_hosts = tuple(sorted({b.host for b in cluster.brokers}))
        seen = {t.url for t in self._static} | {t.name for t in self._static}
        found: list[ResolvedTarget] = []
        for host in self._broker_hosts:
            hostport = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
            url = service_url(hostport)
            if url in seen or hostport in seen:
                continue
            seen.add(url)
            found.append(
                ResolvedTarget(hostport, url, "broker", self._cfg.discover_timeout_seconds)
            )
        return (*self._static, *found)

    # --- polling ---------------------------------------------------------------------------
    def poll(
        self, cluster: ClusterView | None = None, timeout: float | None = None
    ) -> dict[str, TargetResult]:
        """Poll every target once, at most `max_concurrency` at a time; results by target name.

        With `timeout`, nothing runs past it: each JVM's deadline is cut to what is left, and
        targets that could not start in time fail with reason `timeout`.
        """
        targets = self.targets(cluster)
        if not targets:
            return {}
        deadline = None if timeout is None else time.monotonic() + timeout
        pool = ThreadPoolExecutor(
            max_workers=min(self._cfg.max_concurrency, len(targets)),
            thread_name_prefix="jmx",
        )
        futures: dict[Future[TargetResult], ResolvedTarget] = {
            pool.submit(self.poll_target, t, deadline): t for t in targets
        }
        wait_for = None if deadline is None else deadline - time.monotonic() + _KILL_GRACE_SECONDS
        done, _ = wait_futures(futures, timeout=wait_for)
        pool.shutdown(wait=False, cancel_futures=True)
        results: dict[str, TargetResult] = {}
        for fut, target in futures.items():
            if fut in done and fut.exception() is None:
                results[target.name] = fut.result()
            else:
                why = (
                    "no pool slot before the deadline" if fut not in done else str(fut.exception())
                )
                results[target.name] = self._failed(target, 0.0, "timeout", why)
        return results

    def poll_target(self, target: ResolvedTarget, deadline: float | None = None) -> TargetResult:
        """Run one query JVM against `target` and read its answer; never raises."""
        started = time.monotonic()
        budget = target.timeout_seconds
        if deadline is not None:
            budget = min(budget, deadline - started)
        if budget <= 0:
            return self._failed(target, 0.0, "timeout", "poll deadline passed before the query")
        try:
            password = self._password(target)
        except (OSError, UnicodeError) as exc:
            why = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            detail = f"cannot read password_file {target.password_file}: {why}"
            return self._failed(target, 0.0, "config", detail)
        try:
            rc, out, err = self._run(target, password, budget)
            values = parse_answer(rc, out, err)
        except AnswerError as exc:
            if exc.reason == "timeout" and target.role == "broker":
                with self._lock:  # too many partitions to read them all, maybe: not again
                    self._partitions.setdefault(target.name, float("inf"))
            return self._failed(target, time.monotonic() - started, exc.reason, exc.detail)
        except Exception as exc:  # a bug here must cost one target, never the cycle
            log.exception("jmx poll crashed target=%s", target.name)
            return self._failed(target, time.monotonic() - started, "error", one_line(str(exc)))
        duration = time.monotonic() - started
        count = partition_count(values)
        with self._lock:
            if count is not None:
                self._partitions[target.name] = count
            was_ok = self._last_ok.get(target.name)
            self._last_ok[target.name] = True
            errors = MappingProxyType(dict(self._errors.get(target.name, {})))
        if was_ok is False:
            log.info("jmx target recovered target=%s", target.name)
        log.debug("jmx poll target=%s values=%d seconds=%.3f", target.name, len(values), duration)
        return TargetResult(target.name, target.role, True, duration, values, errors_total=errors)

    def reads_partition_mbeans(self, target: str) -> bool:
        """Whether the next poll of `target` reads the per-partition MBeans: on, and the broker
        held at most `partition_mbeans_max_partitions` at its last poll (or is not known yet)."""
        limit = self._cfg.partition_mbeans_max_partitions
        if not self._cfg.partition_mbeans:
            return False
        with self._lock:
            held = self._partitions.get(target, 0.0)
        return limit == 0 or held <= limit

    def _failed(
        self, target: ResolvedTarget, duration: float, reason: str, detail: str
    ) -> TargetResult:
        with self._lock:
            counts = self._errors.setdefault(target.name, {})
            counts[reason] = counts.get(reason, 0) + 1
            was_ok = self._last_ok.get(target.name, True)
            self._last_ok[target.name] = False
            errors = MappingProxyType(dict(counts))
        logger = log.warning if was_ok else log.debug
        logger("jmx poll failed target=%s reason=%s detail=%s", target.name, reason, detail)
        return TargetResult(
            target.name, target.role, False, duration, reason=reason, detail=detail,
            errors_total=errors,
        )  # fmt: skip

    @staticmethod
    def _password(target: ResolvedTarget) -> str:
        """The password: read from `password_file` at every poll (so a rotated file is picked
        up), falling back to the one read when the config was loaded."""
        if target.password_file:
            try:
                return Path(target.password_file).read_text(encoding="utf-8").rstrip("\r\n")
            except (OSError, UnicodeError):
                if not target.password:
                    raise
        return target.password.value

    # --- the JVM ---------------------------------------------------------------------------
    def _workdir(self) -> Path:
        with self._lock:
            if self._tmpdir is None or not self._tmpdir.is_dir():
                self._tmpdir = Path(tempfile.mkdtemp(prefix="kafka-vitals-jmx-"))
            return self._tmpdir

    def _run(self, target: ResolvedTarget, password: str, budget: float) -> tuple[int, str, str]:
        """Run the jar for `target`; (exit status, stdout, stderr), or AnswerError on timeout."""
        rmi_ms = str(int(max(1.0, budget - 1.0) * 1000))
        args = ["-jar", str(self._jar), "-url", target.url, "-json"]
        if target.username:
            args += ["-u", target.username, "-p", password]
        queries = queries_for(target.role, self.reads_partition_mbeans(target.name))
        args += ["-q", query_string(queries)]
        fd, argpath = tempfile.mkstemp(prefix="q-", suffix=".args", dir=self._workdir())
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(argfile_text(args))
            cmd = [
                self._cfg.java,
                *self._cfg.java_options,
                f"-Dsun.rmi.transport.tcp.responseTimeout={rmi_ms}",
                f"-Dsun.rmi.transport.proxy.connectTimeout={rmi_ms}",
                f"@{argpath}",
            ]
            return _run_with_deadline(cmd, budget, self._cfg.niceness)
        finally:
            with contextlib.suppress(OSError):
                os.unlink(argpath)

    def close(self) -> None:
        """Remove the private argument-file directory."""
        with self._lock:
            if self._tmpdir is not None:
                shutil.rmtree(self._tmpdir, ignore_errors=True)
                self._tmpdir = None


def partition_count(values: tuple[JmxValue, ...]) -> float | None:
    """The broker's ReplicaManager PartitionCount among `values`, or None."""
    for v in values:
        if (
            v.domain == "kafka.server"
            and v.attribute == "Value"
            and v.key("type") == "ReplicaManager"
            and v.key("name") == "PartitionCount"
        ):
            return v.value
    return None


def _run_with_deadline(cmd: list[str], budget: float, niceness: int = 0) -> tuple[int, str, str]:
    """Run `cmd` in its own process group, `niceness` lower in CPU priority; kill the group when
    `budget` seconds have passed."""
    try:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except OSError as exc:
        raise AnswerError("java", f"cannot run {cmd[0]}: {exc.strerror}") from exc
    if niceness > 0:
        # every thread of the new group, at once; threads the JVM starts later inherit it
        with contextlib.suppress(OSError):
            os.setpriority(
                os.PRIO_PGRP, proc.pid, min(19, os.getpriority(os.PRIO_PROCESS, 0) + niceness)
            )
    try:
        out, err = proc.communicate(timeout=budget)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        try:
            proc.communicate(timeout=_KILL_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            log.warning("jmx query process did not die pid=%d", proc.pid)
        raise AnswerError("timeout", f"no answer within {budget:.1f}s, query JVM killed") from None
    text_out = out.decode("utf-8", "replace")
    text_err = err.decode("utf-8", "replace")
    if proc.returncode != 0 and not text_out.strip() and classify(text_err) == "error":
        raise AnswerError(
            "java", f"query JVM exited {proc.returncode}: {one_line(text_err) or 'no output'}"
        )
    return proc.returncode, text_out, text_err


__all__ = [
    "JAR_PATH",
    "JmxSource",
    "ResolvedTarget",
    "TargetResult",
    "argfile_text",
    "config_problems",
    "default_name",
    "resolve",
    "service_url",
]
