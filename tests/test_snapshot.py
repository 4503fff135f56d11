"""SnapshotBuilder: `add_rows` writes what the same `add` calls would, with the same checks."""

from __future__ import annotations

import pytest

from exporter.catalog import admin as cat
from exporter.catalog import jmx
from exporter.snapshot import Sample, Snapshot, SnapshotBuilder

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


def test_columns_give_back_the_samples_added_summaries_included() -> None:
    out = SnapshotBuilder()
    out.add(jmx.REQUEST_TOTAL_TIME, ("b", "Produce", "0.99"), 12.5)
    out.add(jmx.REQUEST_TOTAL_TIME, ("b", "Produce"), 3, "_count")
    out.add_rows(cat.GROUP_LAG, LABELS[:2], VALUES[:2])
    other = SnapshotBuilder()
    other.add(jmx.REQUEST_TOTAL_TIME, ("b", "Fetch"), 7, "_sum")
    out.merge(other)
    snap = out.build(5.0)
    assert snap.samples(jmx.REQUEST_TOTAL_TIME) == (
        Sample(("b", "Produce", "0.99"), 12.5, ""),
        Sample(("b", "Produce"), 3.0, "_count"),
        Sample(("b", "Fetch"), 7.0, "_sum"),
    )
    assert snap.columns[cat.GROUP_LAG].suffixes is None
    assert snap.value(jmx.REQUEST_TOTAL_TIME, "b", "Fetch", suffix="_sum") == 7.0
    assert snap.series_count == 5
    again = Snapshot.of(5.0, snap.families)
    assert again.families == snap.families and again.columns == snap.columns


def test_a_suffix_outside_a_summary_is_refused() -> None:
    out = SnapshotBuilder()
    with pytest.raises(ValueError, match="suffix"):
        out.add(cat.GROUP_LAG, ("g", "t", "0"), 1, "_sum")
    assert out.build(0.0).series_count == 0
