"""Dead-letter topics: naming rules, linking, inflow, depth, and the newest-message history."""

from __future__ import annotations

import pytest

from exporter.domain import dead_letters as dl
from exporter.domain.dead_letters import DeadLetterTopic, Seen
from exporter.sources.admin_model import Offsets

BUILTIN = dl.compile_patterns()


@pytest.mark.parametrize(
    ("topic", "expected"),
    [
        ("payments.DLT", ("dlt", "payments")),
        ("payments-dlt", ("dlt", "payments")),
        ("payments.RETRY-1", ("retry", "payments")),
        ("payments.RETRY-12", ("retry", "payments")),
        ("payments-retry-0", ("retry", "payments")),
        ("orders.v2.DLT", ("dlt", "orders.v2")),
        ("a-retry-1-dlt", ("dlt", "a-retry-1")),
        ("payments.dlt", None),  # the dot form is upper case only
        ("payments-DLT", None),
        ("payments.RETRY", None),
        ("payments-retry-x", None),
        ("payments.RETRY-", None),
        (".DLT", None),  # no source name
        ("-dlt", None),
        ("DLT", None),
        ("payments", None),
        ("payments.DLT.archive", None),
    ],
)
def test_builtin_names(topic: str, expected: tuple[str, str] | None) -> None:
    assert dl.classify(topic, BUILTIN) == expected


def test_user_patterns_come_after_builtin_ones() -> None:
    patterns = dl.compile_patterns(
        dead_letter=[r"(?P<source>.+)_deadletter", r"dlq\.(?P<source>.+)"],
        retry=[r"(?P<source>.+)_retry_\d+"],
    )
    assert dl.classify("orders_deadletter", patterns) == ("dlt", "orders")
    assert dl.classify("dlq.orders", patterns) == ("dlt", "orders")
    assert dl.classify("orders_retry_3", patterns) == ("retry", "orders")
    assert dl.classify("orders.DLT", patterns) == ("dlt", "orders")


def test_user_pattern_with_empty_source_does_not_match() -> None:
    patterns = dl.compile_patterns(dead_letter=[r"(?P<source>.*)dead"])
    assert dl.classify("dead", patterns) is None
    assert dl.classify("xdead", patterns) == ("dlt", "x")


def test_user_pattern_matching_itself_is_ignored() -> None:
    patterns = dl.compile_patterns(dead_letter=[r"(?P<source>.+)"])
    assert dl.classify("orders", patterns) is None


def test_bad_patterns_are_reported_with_their_key() -> None:
    errors = dl.pattern_errors("lessons.dead_letter_patterns", ["(?P<source>.+)-x", "(", "x.+"])
    assert errors == [
        "lessons.dead_letter_patterns[1]: not a regular expression "
        "(missing ), unterminated subpattern at position 0)",
        "lessons.dead_letter_patterns[2]: needs a named group (?P<source>...) for the source topic",
    ]
    with pytest.raises(ValueError, match=r"lessons.retry_topic_patterns\[0\]: needs a named"):
        dl.compile_patterns(retry=["x"])


def test_find_links_to_existing_sources_only() -> None:
    topics = ["payments", "payments.DLT", "payments-retry-1", "ghost.DLT", "orders"]
    assert dl.find_dead_letter_topics(topics, BUILTIN) == [
        DeadLetterTopic("ghost.DLT", "", "dlt"),
        DeadLetterTopic("payments-retry-1", "payments", "retry"),
        DeadLetterTopic("payments.DLT", "payments", "dlt"),
    ]


def test_find_with_no_topics() -> None:
    assert dl.find_dead_letter_topics([], BUILTIN) == []


OFFSETS = {
    ("d", 0): Offsets(start=0, end=10),
    ("d", 1): Offsets(start=4, end=7),
    ("x", 0): Offsets(start=-1, end=-1),
}


def test_messages_in_sums_log_ends() -> None:
    assert dl.messages_in("d", [0, 1], OFFSETS) == 17
    assert dl.messages_in("d", [], OFFSETS) == 0


def test_messages_in_is_none_if_any_partition_is_missing() -> None:
    assert dl.messages_in("d", [0, 1, 2], OFFSETS) is None
    assert dl.messages_in("x", [0], OFFSETS) is None


def test_depth_from_log_start_without_replay_group() -> None:
    assert dl.depth("d", [0, 1], OFFSETS, None) == 10 + 3


def test_depth_from_replay_group_commits() -> None:
    assert dl.depth("d", [0, 1], OFFSETS, {("d", 0): 8}) == 2 + 3  # p1 uncommitted: log start
    assert dl.depth("d", [0, 1], OFFSETS, {("d", 0): 10, ("d", 1): 7}) == 0


def test_depth_commit_behind_retention_counts_from_log_start() -> None:
    assert dl.depth("d", [1], OFFSETS, {("d", 1): 1}) == 3


def test_depth_commit_beyond_log_end_is_zero() -> None:
    assert dl.depth("d", [0], OFFSETS, {("d", 0): 12}) == 0


def test_depth_is_none_if_any_partition_is_missing() -> None:
    assert dl.depth("d", [0, 5], OFFSETS, None) is None
    assert dl.depth("x", [0], OFFSETS, None) is None


def test_depth_with_unknown_log_start() -> None:
    assert dl.depth("e", [0], {("e", 0): Offsets(start=-1, end=5)}, None) == 5


def test_observe_first_sighting_knows_no_move() -> None:
    assert dl.observe(None, 5, 100.0) == Seen(5, None)


def test_observe_stamps_the_poll_that_sees_a_move() -> None:
    seen = dl.observe(None, 5, 100.0)
    seen = dl.observe(seen, 5, 130.0)
    assert seen == Seen(5, None)
    seen = dl.observe(seen, 7, 160.0)
    assert seen == Seen(7, 160.0)
    seen = dl.observe(seen, 7, 190.0)
    assert seen == Seen(7, 160.0)


def test_observe_recreated_topic() -> None:
    assert dl.observe(Seen(7, 160.0), 0, 200.0) == Seen(0, None)
    assert dl.observe(Seen(7, 160.0), 2, 200.0) == Seen(2, 200.0)
