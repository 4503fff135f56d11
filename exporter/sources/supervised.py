"""Kafka client libraries in a supervised child process, so that they cannot take the exporter down.

librdkafka can abort (an internal assertion) or crash under masses of timed-out requests, the
very broker outages during which the exporter is needed most; and a call can hang past every
deadline it was given. In the exporter's own process either would take `/metrics` with it. So a
source that drives a librdkafka client runs in a child process (started with `spawn`: no fork of
a process holding threads), and the parent only exchanges plain dataclasses with it:

- `SupervisedClient(name, factory)` starts the child, which calls `factory()` (a picklable
  callable, e.g. `functools.partial(AdminSource, config)`) to build the source, then serves
  method calls. A `ValueError` from the factory (invalid client settings) is raised again in the
  parent, so a bad configuration still fails at start.
- `call(method, *args, on_event=..., idle_timeout=...)`: `EVENTS` among the args becomes, in the
  child, a function whose calls reach `on_event` in the parent (stage progress). The call fails
  with `ClientFailed` when the child dies (abort, segfault, anything) or sends nothing for
  `idle_timeout` seconds (it is then killed); either way a new child is started at once, counted
  in `restarts`, so the failure costs the cycle it happened in and no more.
- `SupervisedAdmin` is the Admin API source behind this; `SupervisedRunner` puts any source runner
  (`poll(cluster, timeout)` / `close()`, see `exporter.poller`) in a child of its own unchanged.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import multiprocessing
import multiprocessing.connection
import signal
import time
from collections.abc import Callable, Mapping
from multiprocessing.reduction import ForkingPickler
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from exporter.memory import release_free_memory
from exporter.sources.stages import RunnerKind, SourceFailed, StageOutcome, describe_error

if TYPE_CHECKING:
    from exporter.config import Config
    from exporter.sources.admin import AdminResult
    from exporter.sources.admin_model import ClusterView

log = logging.getLogger(__name__)

START_TIMEOUT_SECONDS = 60.0
"""A child must have built its source within this (imports and client set-up, on a loaded host)."""
GRACE_SECONDS = 10.0
"""Silence past a call's own deadline before the child counts as hung."""
STOP_TIMEOUT_SECONDS = 5.0


class _Events:
    """Marker for the event callback among a call's arguments."""

    def __reduce__(self) -> str:
        return "EVENTS"


EVENTS = _Events()


class ClientFailed(Exception):
    """The child died or hung during a call (it has been replaced)."""


def _mapping_proxy(items: dict[Any, Any]) -> MappingProxyType[Any, Any]:
    return MappingProxyType(items)


def _reduce_mapping_proxy(proxy: MappingProxyType[Any, Any]) -> tuple[Any, tuple[Any, ...]]:
    return _mapping_proxy, (dict(proxy),)


# the frozen configuration holds read-only mappings; the child gets them as such
ForkingPickler.register(MappingProxyType, _reduce_mapping_proxy)


def _child_main(
    conn: multiprocessing.connection.Connection,
    factory: Callable[[], Any],
    log_level: str,
    log_format: str,
) -> None:
    from exporter.logs import setup_logging

    setup_logging(log_level, log_format)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's: it stops the child
    try:
        source = factory()
    except Exception as exc:
        conn.send(("failed", f"{describe_error(exc)}", None))
        return
    conn.send(("ready", None, None))

    def event(payload: object) -> None:
        conn.send(("event", payload, None))

    while True:
        try:
            method, args = conn.recv()
        except (EOFError, OSError):  # the parent is gone
            break
        if method == "close":
            with contextlib.suppress(Exception):
                source.close()
            break
        args = tuple(event if a is EVENTS else a for a in args)
        answer: tuple[str, object, object]
        try:
            answer = ("ok", getattr(source, method)(*args), None)
        except SourceFailed as exc:  # a failure that still hands in readings
            answer = ("source_failed", str(exc), exc.readings)
        except Exception as exc:
            answer = ("error", describe_error(exc), None)
        try:
            conn.send(answer)
        except OSError:  # the parent is gone (or gave up on this call and killed us)
            break
        del answer
        release_free_memory()


class SupervisedClient:
    """One source in one child process, replaced whenever it dies or hangs."""

    def __init__(self, name: str, factory: Callable[[], Any], *, log_level: str = "info",
                 log_format: str = "logfmt") -> None:  # fmt: skip
        self.name = name
        self.restarts = 0
        """Children started after the first (each one replaced a child that died or hung)."""
        self._factory = factory
        self._log = (log_level, log_format)
        self._proc: multiprocessing.process.BaseProcess | None = None
        self._conn: multiprocessing.connection.Connection | None = None
        self._start()

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def _start(self) -> None:
        ctx = multiprocessing.get_context("spawn")
        ours, theirs = ctx.Pipe()
        proc = ctx.Process(target=_child_main, args=(theirs, self._factory, *self._log),
                           name=f"kafka-vitals-{self.name}", daemon=True)  # fmt: skip
        proc.start()
        theirs.close()
        self._proc, self._conn = proc, ours
        try:
            if not ours.poll(START_TIMEOUT_SECONDS):
                raise ClientFailed(f"the {self.name} client process did not start in time")
            kind, payload, _ = ours.recv()
        except (EOFError, OSError):
            raise ClientFailed(f"the {self.name} client process died at start "
                               f"({self._end()})") from None  # fmt: skip
        except ClientFailed:
            self._end(kill=True)
            raise
        if kind == "failed":
            self._end()
            raise ValueError(payload)
        log.info("client process started source=%s pid=%s", self.name, proc.pid)

    def _end(self, *, kill: bool = False) -> str:
        """Reap the child (killing it first when asked); how it ended, e.g. `killed by SIGABRT`."""
        proc, conn = self._proc, self._conn
        self._proc = self._conn = None
        if conn is not None:
            conn.close()
        if proc is None:
            return "not running"
        if kill:
            proc.kill()
        proc.join(STOP_TIMEOUT_SECONDS)
        if proc.is_alive():
            proc.kill()
            proc.join(STOP_TIMEOUT_SECONDS)
        code = proc.exitcode
        with contextlib.suppress(ValueError):
            proc.close()
        if code is not None and code < 0:
            with contextlib.suppress(ValueError):
                return f"killed by {signal.Signals(-code).name}"
        return f"exit code {code}"

    def _replace(self, why: str) -> None:
        self.restarts += 1
        log.warning("client process replaced source=%s reason=%r restarts=%d", self.name, why,
                    self.restarts)  # fmt: skip
        try:
            self._start()
        except (ClientFailed, ValueError) as exc:  # tried again at the next call
            log.warning("client process start failed source=%s error=%r", self.name, str(exc))

    def call(
        self,
        method: str,
        *args: object,
        idle_timeout: float,
        on_event: Callable[[Any], None] | None = None,
    ) -> Any:
        """`method(*args)` in the child; `idle_timeout`: the longest silence (events reset it)."""
        if self._conn is None:
            self._replace("not running")
        conn = self._conn
        if conn is None:
            raise ClientFailed(f"the {self.name} client process could not be started")
        try:
            conn.send((method, args))
            deadline = time.monotonic() + idle_timeout
            while True:
                if not conn.poll(max(0.0, deadline - time.monotonic())):
                    self._end(kill=True)
                    why = f"the {self.name} client process hung for {idle_timeout:.0f} s"
                    self._replace(why)
                    raise ClientFailed(f"{why}; replaced")
                kind, payload, extra = conn.recv()
                if kind == "event":
                    deadline = time.monotonic() + idle_timeout
                    if on_event is not None:
                        on_event(payload)
                    continue
                if kind == "error":
                    raise RuntimeError(payload)
                if kind == "source_failed":
                    raise SourceFailed(payload, extra)
                return payload
        except (EOFError, OSError):
            how = self._end()
            why = f"the {self.name} client process died ({how})"
            self._replace(why)
            raise ClientFailed(f"{why}; replaced") from None

    def close(self) -> None:
        conn = self._conn
        if conn is not None:
            with contextlib.suppress(OSError):
                conn.send(("close", ()))
        if self._proc is not None:
            self._proc.join(STOP_TIMEOUT_SECONDS)
        self._end(kill=self._proc is not None and self._proc.is_alive())


def _admin_factory(config: Config, whole_topic: Callable[[str], bool] | None) -> Any:
    from exporter.sources.admin import AdminSource

    return AdminSource(config, whole_topic=whole_topic)


class SupervisedAdmin:
    """The Admin API source (`exporter.sources.admin.AdminSource`) in a supervised child."""

    def __init__(self, config: Config, whole_topic: Callable[[str], bool] | None = None) -> None:
        """`whole_topic`: see `exporter.sources.admin_scope.ScopePlan`; it must pickle."""
        self._idle = config.poll.stage_timeout_seconds + GRACE_SECONDS
        factory = functools.partial(_admin_factory, config, whole_topic)
        self.client = SupervisedClient("admin", factory, log_level=config.log.level,
                                       log_format=config.log.format)  # fmt: skip

    @property
    def restarts(self) -> int:
        return self.client.restarts

    def fetch(self, on_stage: Callable[[str], None] | None = None) -> AdminResult:
        from exporter.sources.admin import AdminResult

        stage = ["metadata"]

        def progress(name: str) -> None:
            stage[0] = name
            if on_stage is not None:
                on_stage(name)

        t0 = time.monotonic()
        try:
            result: AdminResult = self.client.call(
                "fetch", EVENTS, on_event=progress, idle_timeout=self._idle
            )
        except (ClientFailed, RuntimeError) as exc:
            # the cycle loses the Admin API (up 0, an error on the stage it was in), not more
            return AdminResult(None, (StageOutcome(stage[0], time.monotonic() - t0, str(exc)),))
        return result

    def close(self) -> None:
        self.client.close()


class SupervisedRunner:
    """Any source runner (`poll(cluster, timeout)`, `close()`) in a supervised child of its own.

    `factory` builds the runner in the child (picklable, e.g. a `functools.partial`). A child
    that dies or hangs makes that poll fail with the reason; the next poll has a new child. A
    `SourceFailed` raised in the child is raised again here with its readings.
    """

    def __init__(
        self, name: str, factory: Callable[[], Any], config: Config, *, kind: RunnerKind
    ) -> None:
        self.name = name
        self.kind = kind
        self._timeout = config.poll.stage_timeout_seconds
        self.client = SupervisedClient(name, factory, log_level=config.log.level,
                                       log_format=config.log.format)  # fmt: skip

    @property
    def restarts(self) -> int:
        return self.client.restarts

    def poll(
        self, cluster: ClusterView | None = None, timeout: float | None = None
    ) -> Mapping[str, object]:
        seconds = timeout if timeout is not None else self._timeout
        got: Mapping[str, object] = self.client.call(
            "poll", cluster, seconds, idle_timeout=seconds + GRACE_SECONDS
        )
        return got

    def close(self) -> None:
        self.client.close()
