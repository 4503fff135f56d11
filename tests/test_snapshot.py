"""SnapshotBuilder: `add_rows` writes what the same `add` calls would, with the same checks."""

from __future__ import annotations

import pytest

from exporter.catalog import admin as cat
from exporter.catalog import jmx
from exporter.snapshot import Sample, SnapshotBuilder

LABELS = [("g", "t", str(p)) for p in range(5)]
VALUES = [0, 1.5, 2, float("nan"), 4]


def test_add_rows_equals_adding_one_by_one() -> None:
    one, rows = SnapshotBuilder(), SnapshotBuilder()
    for labels, value in zip(LABELS, VALUES, strict=True):
        one.add(cat.GROUP_LAG, labels, value)
    rows.add_rows(cat.GROUP_LAG, LABELS, VALUES)
    a, b = one.build(1.0).samples(cat.GROUP_LAG), rows.build(1.0).samples(cat.GROUP_LAG)
    assert [s.labels for s in a] == [s.labels for s in b] == LABELS
    assert [repr(s.value) for s in a] == [repr(s.value) for s in b]
    assert all(type(s) is Sample and type(s.value) is float and s.suffix == "" for s in b)


def test_add_rows_keeps_the_cap_and_counts_what_it_dropped() -> None:
    out = SnapshotBuilder(series_cap=4)
    out.add(cat.GROUP_LAG, ("g", "t", "9"), 9)
    out.add_rows(cat.GROUP_LAG, LABELS, VALUES)
    assert len(out.build(0.0).samples(cat.GROUP_LAG)) == 4
    assert out.dropped == {cat.GROUP_LAG.name: 2}
    out.add_rows(cat.GROUP_LAG, LABELS[:1], VALUES[:1])
    assert out.dropped == {cat.GROUP_LAG.name: 3}


def test_add_rows_with_nothing_adds_nothing() -> None:
    out = SnapshotBuilder()
    out.add_rows(cat.GROUP_LAG, [], [])
    assert out.build(0.0).series_count == 0


@pytest.mark.parametrize(
    ("metric", "labels", "values", "message"),
    [
        (cat.GROUP_LAG, [("g", "t")], [1], "got 2 label values"),
        (cat.GROUP_LAG, [("g", "t", "0"), ("g", "t", "1", "x")], [1, 2], "got 4 label values"),
        (cat.GROUP_LAG, [("g", "t", "0")], [1, 2], "1 label tuples for 2 values"),
        (jmx.REQUEST_TOTAL_TIME, [("b", "0.99")], [1], "not a summary"),
    ],
)
def test_add_rows_rejects_what_add_rejects(
    metric: object, labels: list[tuple[str, ...]], values: list[float], message: str
) -> None:
    out = SnapshotBuilder()
    with pytest.raises(ValueError, match=message):
        out.add_rows(metric, labels, values)  # type: ignore[arg-type]
    assert out.build(0.0).series_count == 0
