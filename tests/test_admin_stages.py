"""The bounded window of in-flight requests and the deadline helpers (plain futures, no broker)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException

from exporter.sources.stages import (
    Deadline,
    StageOutcome,
    describe_error,
    error_code,
    gather_windowed,
    is_timeout,
)


class Service:
    """Answers each request after `delay` seconds on a thread pool, counting requests in flight."""

    def __init__(self, delay: float = 0.01, fail: frozenset[str] = frozenset()) -> None:
        self.delay = delay
        self.fail = fail
        self.in_flight = 0
        self.max_in_flight = 0
        self.sent: list[str] = []
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=64)

    def _answer(self) -> None:
        time.sleep(self.delay)
        with self._lock:
            self.in_flight -= 1

    def request(self, keys: tuple[str, ...]) -> Mapping[str, Future[Any]]:
        """One request answering for every key in `keys`."""
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self.sent.extend(keys)
        out: dict[str, Future[Any]] = {k: Future() for k in keys}

        def spread(_: Future[None]) -> None:
            for k, f in out.items():
                if k in self.fail:
                    f.set_exception(
                        KafkaException(KafkaError(KafkaError.GROUP_AUTHORIZATION_FAILED))
                    )
                else:
                    f.set_result(f"answer-{k}")

        self._pool.submit(self._answer).add_done_callback(spread)
        return out

    def close(self) -> None:
        self._pool.shutdown(wait=True)


@pytest.fixture
def service() -> Iterator[Service]:
    s = Service()
    yield s
    s.close()


def test_window_bounds_requests_in_flight(service: Service) -> None:
    keys = [f"g{i}" for i in range(200)]
    got = gather_windowed(keys, lambda k: service.request((k,)), 8, Deadline.after(30))
    assert got.results == {k: f"answer-{k}" for k in keys}
    assert not got.errors and got.unfinished == 0 and not got.timed_out
    assert 2 <= service.max_in_flight <= 8


def test_batches_count_as_one_request(service: Service) -> None:
    batches = [tuple(f"g{b}-{i}" for i in range(5)) for b in range(10)]
    got = gather_windowed(batches, service.request, 2, Deadline.after(30))
    assert len(got.results) == 50
    assert service.max_in_flight <= 2


def test_errors_are_kept_per_key() -> None:
    service = Service(fail=frozenset({"g3"}))
    try:
        got = gather_windowed([f"g{i}" for i in range(6)], lambda k: service.request((k,)), 3,
                              Deadline.after(30))  # fmt: skip
    finally:
        service.close()
    assert set(got.results) == {"g0", "g1", "g2", "g4", "g5"}
    assert got.errors == {"g3": "GROUP_AUTHORIZATION_FAILED: Broker: Group authorization failed"}
    assert got.timeouts == 0


def test_each_answer_is_converted_and_a_failed_conversion_fails_only_its_key(
    service: Service,
) -> None:
    def convert(answer: str) -> str:
        if answer == "answer-g2":
            raise ValueError("malformed answer")
        return answer.upper()

    keys = [f"g{i}" for i in range(5)]
    got = gather_windowed(keys, lambda k: service.request((k,)), 2, Deadline.after(30), convert)
    assert got.results == {k: f"ANSWER-{k.upper()}" for k in keys if k != "g2"}
    assert got.errors == {"g2": "ValueError: malformed answer"}
    assert got.timeouts == 0 and got.unfinished == 0


def test_deadline_stops_waiting_and_sending() -> None:
    service = Service(delay=0.5)
    try:
        t0 = time.monotonic()
        got = gather_windowed([f"g{i}" for i in range(100)], lambda k: service.request((k,)), 4,
                              Deadline.after(0.7))  # fmt: skip
        took = time.monotonic() - t0
    finally:
        service.close()
    assert took < 5
    assert 4 <= len(got.results) <= 8
    assert got.unfinished == 100 - len(got.results)
    assert got.timed_out
    assert len(service.sent) <= 12  # nothing is sent once the deadline has passed


def test_a_request_rejected_before_sending() -> None:
    def submit(k: str) -> Mapping[str, Future[Any]]:
        raise ValueError(f"bad {k}")

    got = gather_windowed(["a", "b"], submit, 4, Deadline.after(1))
    assert got.errors == {"a": "ValueError: bad a", "b": "ValueError: bad b"}


def test_is_timeout_error_code_and_describe_error() -> None:
    timed_out = KafkaException(KafkaError(KafkaError._TIMED_OUT))
    assert is_timeout(timed_out) and is_timeout(TimeoutError())
    assert not is_timeout(KafkaException(KafkaError(KafkaError._TRANSPORT)))
    assert not is_timeout(ValueError("x"))
    assert describe_error(timed_out) == "_TIMED_OUT: Local: Timed out"
    assert describe_error(TimeoutError()) == "timed out"
    assert describe_error(RuntimeError("one\ntwo")) == "RuntimeError: one"
    assert describe_error(RuntimeError()) == "RuntimeError"
    # list_consumer_groups() lists its errors as bare KafkaError objects, not exceptions
    assert describe_error(KafkaError(KafkaError._TIMED_OUT)) == "_TIMED_OUT: Local: Timed out"
    assert error_code(KafkaException(KafkaError(KafkaError.NOT_LEADER_FOR_PARTITION))) == 6
    assert error_code(timed_out) == KafkaError._TIMED_OUT
    assert error_code(ValueError("x")) is None and error_code(KafkaException()) is None


def test_deadline_and_outcome() -> None:
    d = Deadline.after(10)
    assert 9 < d.remaining() <= 10 and not d.expired
    assert d.request_timeout(2) == 2
    assert Deadline.after(0).expired and Deadline.after(0).request_timeout(5) == 0.1
    assert StageOutcome("metadata", 0.1).ok and not StageOutcome("metadata", 0.1, "x").ok
