"""Parsers of Kafka tool output (no broker needed): consumer-groups describe and the producer
performance summary."""

from __future__ import annotations

import pytest

from harness.procs import HarnessError
from harness.tools import GroupOffsetRow, parse_group_describe, parse_producer_perf

DESCRIBE = """
Consumer group 'orders' has no active members.

GROUP           TOPIC           PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG             CONSUMER-ID     HOST            CLIENT-ID
orders          payments        1          0               34              34              -               -               -
orders          payments        0          5               34              29              -               -               -

GROUP           TOPIC           PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG             CONSUMER-ID                                HOST            CLIENT-ID
my group        payments        2          -               32              -               cid-2-4dd71723-faa6-4a62-af07-8409d4990f20 /127.0.0.1      cid 2
"""  # noqa: E501


def test_describe_rows_with_dashes_spaces_and_several_groups() -> None:
    rows = parse_group_describe(DESCRIBE)
    assert rows == [
        GroupOffsetRow("orders", "payments", 1, 0, 34, 34, None, None, None),
        GroupOffsetRow("orders", "payments", 0, 5, 34, 29, None, None, None),
        GroupOffsetRow(
            "my group", "payments", 2, None, 32, None,
            "cid-2-4dd71723-faa6-4a62-af07-8409d4990f20", "/127.0.0.1", "cid 2",
        ),
    ]  # fmt: skip


def test_describe_pads_by_utf16_length_like_java() -> None:
    # "\U0001f680" is one Python character but two UTF-16 units: Java pads it as two
    header = f"{'GROUP':<12}{'TOPIC':<8}{'PARTITION':<11}{'CURRENT-OFFSET':<16}"
    header += f"{'LOG-END-OFFSET':<16}{'LAG':<5}{'CONSUMER-ID':<13}{'HOST':<6}CLIENT-ID"
    group = "g-\U0001f680-x"  # 5 Python characters, 6 UTF-16 units
    row = f"{group}{' ' * (12 - 6)}{'t':<8}{'0':<11}{'4':<16}{'10':<16}{'6':<5}{'-':<13}{'-':<6}-"
    assert parse_group_describe(f"{header}\n{row}\n") == [
        GroupOffsetRow(group, "t", 0, 4, 10, 6, None, None, None)
    ]


def test_describe_without_table_is_empty() -> None:
    assert parse_group_describe("\nConsumer group 'x' has no active members.\n") == []


def test_describe_bad_row_names_the_line() -> None:
    bad = DESCRIBE.replace(
        "orders          payments        1 ", "orders          payments        x "
    )
    with pytest.raises(HarnessError, match="unparsable consumer-groups row"):
        parse_group_describe(bad)


def test_producer_perf_summary() -> None:
    out = (
        "1496 records sent, 299.1 records/sec (0.03 MB/sec), 12.5 ms avg latency, 610.0 ms max"
        " latency.\n"
        "3000 records sent, 967.1 records/sec (0.09 MB/sec), 52.05 ms avg latency, 610.00 ms max"
        " latency, 3 ms 50th, 350 ms 95th, 590 ms 99th, 610 ms 99.9th.\n"
    )
    result = parse_producer_perf(out)
    assert (result.records, result.records_per_sec, result.mb_per_sec) == (3000, 967.1, 0.09)
    assert (result.avg_latency_ms, result.max_latency_ms) == (52.05, 610.0)


def test_producer_perf_without_summary_fails_clearly() -> None:
    with pytest.raises(HarnessError, match="no summary line"):
        parse_producer_perf("org.apache.kafka.common.errors.TimeoutException\n")
