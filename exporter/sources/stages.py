"""Deadlines, stage outcomes and a bounded window of in-flight futures, shared by the sources.

Every source call in kafka-vitals has a deadline. A poll cycle is made of stages; each stage is
timed and either succeeds or fails alone, and reports a `StageOutcome` that the poller turns into
`kafka_vitals_poll_duration_seconds{stage}` and `kafka_vitals_poll_errors_total{stage}`.
`gather_windowed` submits requests through a window of at most N in flight (never one at a time,
never unbounded) and waits on their futures until the deadline.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

ADMIN_STAGES = ("metadata", "groups", "committed", "offsets", "topic_configs")
"""The Admin API stages of a cycle, in order (each with its deadline, able to fail alone)."""

RunnerKind = Literal["jmx", "schema_registry", "probe"]
"""What a source runner reads, declared by the runner (`kind`): the poller files its readings in
the `CycleData` field of that name (`jmx`: `TargetResult`s by target name; `schema_registry`: one
`RegistryReading`, or a `RegistryFailure`; `probe`: one `ProbeReading`, or a `ProbeFailure`)."""

K = TypeVar("K")
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class StageOutcome:
    """How one stage of a poll cycle went."""

    stage: str
    seconds: float
    error: str = ""
    """Empty when the stage succeeded; else a one-line reason."""

    @property
    def ok(self) -> bool:
        return not self.error


@dataclass(frozen=True, slots=True)
class Deadline:
    """A point on the monotonic clock after which a stage gives up."""

    at: float

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        return cls(time.monotonic() + max(0.0, seconds))

    def remaining(self) -> float:
        return max(0.0, self.at - time.monotonic())

    @property
    def expired(self) -> bool:
        return time.monotonic() >= self.at

    def request_timeout(self, cap: float) -> float:
        """The timeout for one request: the smaller of `cap` and what is left (at least 0.1 s)."""
        return max(0.1, min(cap, self.remaining()))


TIMED_OUT = -185
"""librdkafka's local timeout error code (RD_KAFKA_RESP_ERR__TIMED_OUT)."""


def error_code(exc: BaseException) -> int | None:
    """The client library's error code an exception carries (its `KafkaError`), or None."""
    err = exc.args[0] if exc.args else None
    try:
        return int(err.code()) if err is not None and hasattr(err, "code") else None
    except Exception:  # pragma: no cover - a KafkaError-like object that misbehaves
        return None


def is_timeout(exc: BaseException) -> bool:
    """A deadline passed: a client-library timeout error, or a TimeoutError."""
    return isinstance(exc, TimeoutError) or error_code(exc) == TIMED_OUT


class SourceFailed(Exception):
    """Raised by a source runner whose poll failed but that still hands in readings (its own
    health, the kind of failure): the poller counts the stage as failed and keeps the readings."""

    def __init__(self, message: str, readings: Mapping[str, object]) -> None:
        super().__init__(message)
        self.readings = readings


class StageFailed(Exception):
    """An Admin API stage failed but produced a partial result that is still worth keeping;
    `timed_out`: a request timed out (the client is replaced before the next cycle)."""

    def __init__(self, reason: str, partial: object, timed_out: bool = False) -> None:
        super().__init__(reason)
        self.partial = partial
        self.timed_out = timed_out


def describe_error(exc: BaseException | object) -> str:
    """A one-line reason for an exception from a client library (a KafkaError's name and text),
    or for a bare KafkaError as some results list it (`list_consumer_groups().errors`)."""
    args = exc.args if isinstance(exc, BaseException) else (exc,)
    if args and hasattr(args[0], "name") and hasattr(args[0], "str"):
        err = args[0]
        try:
            return f"{err.name()}: {err.str()}"
        except Exception:  # pragma: no cover - a KafkaError-like object that misbehaves
            pass
    if isinstance(exc, TimeoutError):
        return "timed out"
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


@dataclass(slots=True)
class Gathered(Generic[K]):
    """What a windowed run of requests returned, by key."""

    results: dict[K, Any] = field(default_factory=dict)
    errors: dict[K, str] = field(default_factory=dict)
    unfinished: int = 0
    """Futures still pending, plus items never sent, when the deadline passed."""
    timeouts: int = 0
    """Keys whose request failed with a timeout."""

    @property
    def timed_out(self) -> bool:
        return bool(self.unfinished or self.timeouts)


def gather_windowed(
    items: Iterable[T],
    submit: Callable[[T], Mapping[K, Future[Any]]],
    window: int,
    deadline: Deadline,
    convert: Callable[[Any], Any] | None = None,
) -> Gathered[K]:
    """Submit one request per item, at most `window` requests in flight, until the deadline.

    `submit` sends one request and returns its futures by key (a request may answer for several
    keys, e.g. a batch of groups). A request counts as in flight until all its futures are done.
    `convert`, if given, turns each answer into its result as it arrives, while later answers are
    still on their way; an exception it raises counts as that key's error.
    """
    out: Gathered[K] = Gathered()
    source = iter(items)
    done: queue.SimpleQueue[Future[Any]] = queue.SimpleQueue()
    pending: dict[Future[Any], tuple[int, K]] = {}
    open_futures: dict[int, int] = {}
    arrived: list[tuple[K, Future[Any]]] = []
    request_no = 0
    exhausted = False
    while True:
        while not exhausted and len(open_futures) < max(1, window) and not deadline.expired:
            item = next(source, None)
            if item is None:
                exhausted = True
                break
            try:
                futures = submit(item)
            except Exception as exc:  # a request rejected before it was sent
                out.errors[_key_of(item)] = describe_error(exc)
                continue
            if not futures:
                continue
            request_no += 1
            open_futures[request_no] = len(futures)
            for key, fut in futures.items():
                pending[fut] = (request_no, key)
                fut.add_done_callback(done.put)
        # the answers that arrived are converted after the window was refilled: the next requests
        # are on their way while this thread works
        for key, fut in arrived:
            try:
                answer = fut.result(timeout=0)
                out.results[key] = answer if convert is None else convert(answer)
            except Exception as exc:
                out.errors[key] = describe_error(exc)
                out.timeouts += is_timeout(exc)
        arrived.clear()
        if not pending:
            break
        try:
            fut = done.get(timeout=deadline.remaining() or 1e-9)
        except queue.Empty:
            break
        while True:  # this answer and every other one already there
            if fut in pending:  # (else a future handed back twice)
                req, key = pending.pop(fut)
                arrived.append((key, fut))
                open_futures[req] -= 1
                if open_futures[req] == 0:
                    del open_futures[req]
            try:
                fut = done.get_nowait()
            except queue.Empty:
                break
    out.unfinished = len(pending) + sum(1 for _ in source)
    return out


def _key_of(item: Any) -> Any:
    """The error key for an item whose request could not be sent (its first key if a batch)."""
    if isinstance(item, tuple) and item:
        return item[0]
    return item


def batches(items: Sequence[str], size: int) -> Iterator[tuple[str, ...]]:
    """`items` in tuples of at most `size` (at least 1)."""
    size = max(1, size)
    for i in range(0, len(items), size):
        yield tuple(items[i : i + size])
