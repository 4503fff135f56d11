"""The renderer: golden exposition checked by promtool, escaping round-trips through both
prometheus_client parsers, special values, duplicates, the prefix cache, gzip."""

from __future__ import annotations

import gzip
import math
import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families as parse_text

from exporter import catalog
from exporter.catalog import Metric, admin, own, probe
from exporter.render import (
    Renderer,
    _format_values,
    escape_label_value,
    format_value,
    series_prefix,
)
from exporter.snapshot import Sample, Snapshot, SnapshotBuilder
from tests.exposition_check import check_metrics
from tests.openmetrics import parse_openmetrics
from tests.snapshots import HOSTILE_GROUPS, golden_snapshot

GOLDEN = Path(__file__).parent / "data" / "golden_exposition.prom"


def _expected_samples(snapshot: Snapshot) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """(sample name, labels without empty values) -> value, straight from the snapshot."""
    out: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for metric, samples in snapshot.families.items():
        for s in samples:
            names = metric.labels
            if metric.type == "summary" and not s.suffix:
                names = (*names, "quantile")
            if metric.type == "histogram" and s.suffix == "_bucket":
                names = (*names, "le")
            labels = frozenset((n, v) for n, v in zip(names, s.labels, strict=True) if v)
            out[(metric.name + s.suffix, labels)] = s.value
    return out


def _parsed_samples(families: object) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    out: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for family in families:  # type: ignore[attr-defined]
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def _assert_same_values(
    got: dict[tuple[str, frozenset[tuple[str, str]]], float],
    want: dict[tuple[str, frozenset[tuple[str, str]]], float],
) -> None:
    assert got.keys() == want.keys()
    for key, value in want.items():
        if math.isnan(value):
            assert math.isnan(got[key]), key
        else:
            assert got[key] == value, key


def test_golden_exposition_matches_file_and_passes_promtool() -> None:
    text = Renderer().render(golden_snapshot()).text
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN.write_bytes(text)
    assert text == GOLDEN.read_bytes(), "golden differs; rerun with UPDATE_GOLDEN=1 and review"
    check_metrics(text)


def test_a_second_render_of_the_same_series_writes_the_same_bytes() -> None:
    """The second time a family's series come in the same order, its cached line template is
    filled in; hostile label values (with `%`, quotes, newlines) and every value kind included."""
    renderer = Renderer()
    first = renderer.render(golden_snapshot())
    second = renderer.render(golden_snapshot())
    assert second.text == first.text and second.openmetrics == first.openmetrics


def test_text_format_round_trips_hostile_label_values() -> None:
    snapshot = golden_snapshot()
    text = Renderer().render(snapshot).text.decode("utf-8")
    parsed = _parsed_samples(parse_text(text))
    _assert_same_values(parsed, _expected_samples(snapshot))
    groups = {
        dict(labels)["consumergroup"] for (name, labels) in parsed if name == admin.GROUP_LAG.name
    }
    assert groups == set(HOSTILE_GROUPS)


def test_openmetrics_parses_and_round_trips() -> None:
    snapshot = golden_snapshot()
    exposition = Renderer().render(snapshot)
    om = exposition.openmetrics.decode("utf-8")
    assert om.endswith("# EOF\n")
    families = list(parse_openmetrics(om))
    _assert_same_values(_parsed_samples(families), _expected_samples(snapshot))
    types = {f.name: f.type for f in families}
    assert types["kafka_vitals_poll_errors"] == "counter"  # family name without _total
    assert types["kafka_broker_info"] == "gauge"  # info kept as a gauge with the plain name
    assert types["kafka_network_requestmetrics_totaltimems"] == "summary"
    assert "# TYPE kafka_vitals_poll_errors_total counter" in exposition.text.decode()


def test_every_catalog_family_renders_valid_in_both_formats() -> None:
    b = SnapshotBuilder()
    for m in catalog.ALL:
        labels = tuple(f"v{i}" for i in range(len(m.labels)))
        if m.type == "summary":
            b.add(m, (*labels, "0.99"), 1.5)
            b.add(m, labels, 10, "_sum")
            b.add(m, labels, 3, "_count")
        elif m.type == "histogram":
            b.add_histogram(m, labels, list(range(len(m.buckets) + 1)), 0.5)
        else:
            b.add(m, labels, 1)
    exposition = Renderer().render(b.build(0.0))
    check_metrics(exposition.text)
    names = {f.name for f in parse_openmetrics(exposition.openmetrics.decode())}
    assert names == {m.family for m in catalog.ALL}


def test_histogram_renders_buckets_sum_and_count_in_both_formats() -> None:
    m = probe.END_TO_END_LATENCY
    b = SnapshotBuilder()
    counts = [0, 0, 1, 3, 3, 3, 3, 3, 3, 3, 3, 4, 4, 5]
    b.add_histogram(m, ("1",), counts, 12.75)
    b.add_histogram(m, ("2",), [0] * 14, 0.0)
    exposition = Renderer().render(b.build(0.0))
    text = exposition.text.decode()
    check_metrics(exposition.text)  # promtool check metrics: no finding
    assert f"# TYPE {m.name} histogram\n" in text
    assert f'{m.name}_bucket{{broker="1",le="0.005"}} 1\n' in text
    assert f'{m.name}_bucket{{broker="1",le="+Inf"}} 5\n' in text
    assert f'{m.name}_sum{{broker="1"}} 12.75\n' in text
    assert f'{m.name}_count{{broker="2"}} 0\n' in text
    families = {f.name: f for f in parse_openmetrics(exposition.openmetrics.decode())}
    family = families[m.name]
    assert family.type == "histogram"
    buckets = [
        s for s in family.samples if s.name.endswith("_bucket") and s.labels["broker"] == "1"
    ]
    assert [s.labels["le"] for s in buckets] == [*(repr(x) for x in m.buckets), "+Inf"]
    assert [s.value for s in buckets] == counts
    # the second render reuses the cached lines: the same bytes
    assert Renderer().render(b.build(0.0)).text == exposition.text
    with pytest.raises(ValueError, match="bucket counts"):
        b.add_histogram(m, ("3",), [1, 2], 1.0)
    with pytest.raises(ValueError, match="suffix"):
        b.add(m, ("3",), 1.0)


def test_special_values_and_number_formatting() -> None:
    assert format_value(math.nan) == "NaN"
    assert format_value(math.inf) == "+Inf"
    assert format_value(-math.inf) == "-Inf"
    assert format_value(3.0) == "3"
    assert format_value(0.25) == "0.25"
    assert format_value(-0.0) == "0"
    assert format_value(123456789012.0) == "123456789012"
    assert float(format_value(2.0**63)) == 2.0**63
    text = Renderer().render(golden_snapshot()).text.decode()
    assert 'client_id="nan-client"} NaN\n' in text
    assert 'client_id="inf-client"} +Inf\n' in text
    assert 'client_id="minus-inf-client"} -Inf\n' in text
    assert 'partition="0"} 123456789012\n' in text


def test_escaping_helpers() -> None:
    assert escape_label_value('a"b\\c\nd') == 'a\\"b\\\\c\\nd'
    assert escape_label_value("ünï") == "ünï"
    assert escape_label_value("lone\udc80surrogate") == "lone\ufffdsurrogate"
    assert series_prefix("m", ("a", "b"), ("", "x")) == 'm{b="x"} '
    assert series_prefix("m", ("a",), ("",)) == "m "


def test_duplicate_series_keep_the_first_and_are_counted() -> None:
    lag = admin.GROUP_LAG
    snapshot = Snapshot.of(
        0.0,
        {
            lag: (
                Sample(("g", "t", "0"), 5),
                Sample(("g", "t", "0"), 6),
                Sample(("g", "t", "1"), 7),
                Sample(("g", "t", "0"), 8),
            )
        },
    )
    renderer = Renderer()
    for cycle in (1, 2):  # a cold cache (slow path) and a warm one
        exposition = renderer.render(snapshot)
        text = exposition.text.decode()
        assert 'kafka_consumergroup_lag{consumergroup="g",topic="t",partition="0"} 5\n' in text
        assert "} 6\n" not in text and "} 8\n" not in text
        assert exposition.series == 2
        line = f'{own.SERIES_DUPLICATE.name}{{family="kafka_consumergroup_lag"}} {2 * cycle}\n'
        assert line in text
        check_metrics(exposition.text)
        list(parse_openmetrics(exposition.openmetrics.decode()))


def test_sample_with_wrong_label_count_is_dropped_not_fatal() -> None:
    snapshot = Snapshot.of(
        0.0, {admin.GROUP_LAG: (Sample(("g", "t"), 1), Sample(("g", "t", "0"), 2))}
    )
    text = Renderer().render(snapshot).text.decode()
    assert text.count("kafka_consumergroup_lag{") == 1
    check_metrics(text.encode())


def test_cache_is_pruned_to_the_latest_snapshot_and_values_update() -> None:
    renderer = Renderer()
    first = SnapshotBuilder()
    for p in range(100):
        first.add(admin.GROUP_LAG, ("g", "t", str(p)), p)
    renderer.render(first.build(1.0))
    assert renderer.cached_series == 100
    second = SnapshotBuilder()
    for p in range(10):
        second.add(admin.GROUP_LAG, ("g", "t", str(p)), p + 0.5)
    text = renderer.render(second.build(2.0)).text.decode()
    assert renderer.cached_series == 10
    assert 'partition="3"} 3.5\n' in text
    assert 'partition="50"}' not in text


def test_gzip_bodies_decompress_to_the_plain_ones() -> None:
    exposition = Renderer().render(golden_snapshot())
    assert gzip.decompress(exposition.text_gzip) == exposition.text
    assert gzip.decompress(exposition.openmetrics_gzip) == exposition.openmetrics
    assert b"".join(exposition.body(openmetrics=True, gzipped=False)) == exposition.openmetrics


def test_empty_snapshot_is_valid() -> None:
    exposition = Renderer().render(Snapshot(0.0, {}))
    assert exposition.text == b""
    assert exposition.openmetrics == b"# EOF\n"
    assert list(parse_openmetrics(exposition.openmetrics.decode())) == []


def test_steady_state_and_reordered_series_render_current_values() -> None:
    def snap(order: list[int], offset: float) -> Snapshot:
        b = SnapshotBuilder()
        for p in order:  # fresh label strings every cycle, as from a new poll
            b.add(admin.GROUP_LAG, ("".join(["g"]), "t", str(p)), p + offset)
        return b.build(0.0)

    renderer = Renderer()
    renderer.render(snap([0, 1, 2], 0))
    for order, offset in (([0, 1, 2], 10), ([2, 0, 1], 20), ([2, 0, 1], 30)):
        text = renderer.render(snap(order, offset)).text.decode()
        for p in order:
            assert f'partition="{p}"}} {p + offset}\n' in text
        assert text.index('partition="2"') < text.index('partition="0"') or order[0] == 0


VALUES = st.floats(allow_nan=True, allow_infinity=True) | st.integers(-(2**60), 2**60).map(float)


@given(st.lists(VALUES))
def test_a_family_is_written_as_format_value_writes_each_value(values: list[float]) -> None:
    """Whole families are filled in at once (integers apart); each line must read as if the value
    had gone through `format_value`. The label holds a `%`, escaped in the template."""
    template = "".join(f'm{{i="{i}%%"}} %r\n' for i in range(len(values)))
    lines = _format_values(template, values).splitlines()
    assert lines == [f'm{{i="{i}%"}} {format_value(v)}' for i, v in enumerate(values)]


LABEL_TEXT = st.sampled_from(["g", "a b", "100% %r", 'q"x', "n\nl", "", "ü 😀", "t\\"])


@given(st.lists(st.lists(st.tuples(LABEL_TEXT, st.integers(0, 3), VALUES), max_size=8),
                min_size=1, max_size=5))  # fmt: skip
def test_cycles_of_changing_series_render_as_a_fresh_renderer_does(
    cycles: list[list[tuple[str, int, float]]],
) -> None:
    """Whatever changes from one snapshot to the next (series added, gone, reordered or
    repeated, values, labels holding spaces, `%`, quotes, newlines), the kept renderer writes
    what a new one writes: the prefixes read back from last cycle's lines are the right ones."""
    renderer = Renderer()
    for rows in cycles:
        b = SnapshotBuilder()
        for group, partition, value in rows:
            b.add(admin.GROUP_LAG, (group, "t p", str(partition)), value)
            b.add(admin.GROUP_MEMBERS, (group,), 1.0)
        snapshot = b.build(0.0)
        # the duplicate counts are the renderer's own, summed over its life: left out
        kept, fresh = (_without_duplicate_counts(r.render(snapshot).text)
                       for r in (renderer, Renderer()))  # fmt: skip
        assert kept == fresh


def _without_duplicate_counts(text: bytes) -> list[bytes]:
    name = own.SERIES_DUPLICATE.name.encode()
    return [line for line in text.split(b"\n") if name not in line]


def test_the_cache_keeps_the_last_snapshots_columns_and_no_object_per_series() -> None:
    """Between cycles a family's cache holds the last snapshot's own label and value columns
    (not the equal ones of an older snapshot, which are then freed) and its lines: nothing
    per series."""
    renderer = Renderer()
    for cycle in range(3):
        b = SnapshotBuilder()
        for p in range(50):  # fresh, equal label tuples every cycle; values change once
            b.add(admin.GROUP_LAG, ("g", "t", str(p)), p + min(cycle, 1))
        snapshot = b.build(0.0)
        renderer.render(snapshot)
        cache = renderer._caches[admin.GROUP_LAG]
        family = snapshot.columns[admin.GROUP_LAG]
        assert cache.keys is family.labels
        assert cache.values is family.values
        assert set(cache.__slots__) == {"keys", "body", "values", "_template"}


def test_unchanged_families_are_reused_and_changed_ones_written_again() -> None:
    """A family with the same series and values as last time is not formatted again; whatever
    changed (a value, NaN, the order) is. Each render equals a fresh renderer's output."""

    def snap(lags: list[float], offsets: list[float]) -> Snapshot:
        b = SnapshotBuilder()
        for p, v in enumerate(lags):
            b.add(admin.GROUP_LAG, ("g", "t", str(p)), v)
        for p, v in enumerate(offsets):
            b.add(admin.GROUP_CURRENT_OFFSET, ("g", "t", str(p)), v)
        return b.build(0.0)

    renderer = Renderer()
    steps: list[tuple[list[float], list[float]]] = [
        ([1, 2, 3], [10, 20, 30]),
        ([1, 2, 3], [10, 20, 30]),  # nothing changed
        ([1, 2, 4], [10, 20, 30]),  # one value of one family
        ([1, 2, 4], [10, 20, 30]),
        ([1, math.nan, 4], [10, 20, 30]),  # NaN never equals itself: written again
        ([1, math.nan, 4], [10, 20, 30]),
        ([0.0, 2, 4], [10, 20, 30]),
        ([-0.0, 2, 4], [10, 20, 30]),  # equal to 0.0, and written alike
        ([1, 2], [10, 20, 30]),  # a series gone
    ]
    previous: dict[Metric, bytes] = {}
    for lags, offsets in steps:
        snapshot = snap(lags, offsets)
        got = renderer.render(snapshot).text
        assert got == Renderer().render(snapshot).text
        bodies = {m: c.body for m, c in renderer._caches.items()}
        if offsets == [10, 20, 30] and admin.GROUP_CURRENT_OFFSET in previous:
            assert bodies[admin.GROUP_CURRENT_OFFSET] is previous[admin.GROUP_CURRENT_OFFSET]
        previous = bodies
