"""The part of a scrape made at the scrape: the exporter's own `process_*` and `python_*`, read
through prometheus-client's collectors, after the body rendered once per cycle. Each scrape reads
them again; a family the snapshot also has (a JVM's `process_cpu_seconds_total`) is written once;
gzip answers are one gzip member any reader takes; promtool finds nothing."""

from __future__ import annotations

import itertools
import zlib
from collections.abc import Iterator

from prometheus_client.parser import text_string_to_metric_families as parse_text

from exporter.catalog import Metric, jvm, process
from exporter.render import Fresh, Renderer
from exporter.snapshot import Snapshot, SnapshotBuilder
from exporter.sources.process import FAMILIES, OwnProcess
from tests.exposition_check import check_metrics
from tests.openmetrics import parse_openmetrics
from tests.snapshots import golden_snapshot


def _counting() -> Fresh:
    """A `Fresh` whose CPU seconds grow by one at every read."""
    ticks: Iterator[int] = itertools.count(1)

    def read() -> dict[Metric, list[tuple[tuple[str, ...], float]]]:
        return {jvm.CPU_SECONDS: [(("",), float(next(ticks)))],
                process.GC_COLLECTIONS: [(("0",), 3.0), (("1",), 1.0)]}  # fmt: skip

    return Fresh(FAMILIES, read)


def _with_jvm() -> Snapshot:
    b = SnapshotBuilder()
    b.add(jvm.CPU_SECONDS, ("broker-1",), 12.5)
    b.add(jvm.THREADS, ("broker-1",), 80)
    return b.build(1.0)


def _one_member(data: bytes) -> bytes:
    """Decompress a gzip body, failing unless it is exactly one member."""
    d = zlib.decompressobj(31)
    out = d.decompress(data) + d.flush()
    assert d.eof and d.unused_data == b"", "not exactly one gzip member"
    return out


def test_each_scrape_reads_the_fresh_part_again() -> None:
    exposition = Renderer(fresh=_counting()).render(_with_jvm())
    first = b"".join(exposition.body(openmetrics=False, gzipped=False)).decode()
    second = b"".join(exposition.body(openmetrics=False, gzipped=False)).decode()
    assert "process_cpu_seconds_total 1\n" in first
    assert "process_cpu_seconds_total 2\n" in second
    assert first.replace(" 1\n", " 2\n") != first


def test_a_family_of_both_is_written_once_with_the_snapshot_series_first() -> None:
    exposition = Renderer(fresh=_counting()).render(_with_jvm())
    for text, parse in ((exposition.text, parse_text), (exposition.openmetrics, parse_openmetrics)):
        body = text.decode()
        assert body.count("# TYPE process_cpu_seconds") == 1
        cpu = body.index('process_cpu_seconds_total{target="broker-1"} 12.5\n')
        assert cpu < body.index("\nprocess_cpu_seconds_total ")
        families = {f.name: f for f in parse(body)}
        assert {s.labels.get("target", "") for s in families["process_cpu_seconds"].samples} == {
            "broker-1", ""}  # fmt: skip
    assert exposition.openmetrics.endswith(b"# EOF\n")
    check_metrics(exposition.text)


def test_gzip_answers_are_one_member_of_the_body_and_the_fresh_part() -> None:
    for fresh in (_counting(), None):
        exposition = Renderer(fresh=fresh).render(golden_snapshot())
        for om in (False, True):
            body, tail = exposition.body(openmetrics=om, gzipped=True)
            plain = _one_member(body + tail).decode()
            cycle_part = exposition.body(openmetrics=om, gzipped=False)[:-1]
            assert plain.startswith(b"".join(cycle_part).decode())
            assert plain.endswith("# EOF\n") == om
            # the cycle's compressed part is made once and shared by every scrape
            assert exposition.body(openmetrics=om, gzipped=True)[0] is body


def test_without_fresh_the_exposition_is_the_cycle_alone() -> None:
    exposition = Renderer().render(_with_jvm())
    assert exposition.body(openmetrics=False, gzipped=False)[-1] == b""
    assert 'process_cpu_seconds_total{target="broker-1"} 12.5' in exposition.text.decode()


def test_a_failing_read_keeps_the_scrape_and_the_snapshot_series() -> None:
    def broken() -> dict[Metric, list[tuple[tuple[str, ...], float]]]:
        raise OSError("no /proc")

    exposition = Renderer(fresh=Fresh(FAMILIES, broken)).render(_with_jvm())
    text = exposition.text.decode()
    assert 'process_cpu_seconds_total{target="broker-1"} 12.5' in text
    assert "jvm_threads_current" in text


def test_prometheus_client_collectors_give_every_family_and_promtool_is_clean() -> None:
    exposition = Renderer(fresh=Fresh(FAMILIES, OwnProcess().read)).render(_with_jvm())
    text = exposition.text
    names = {f.name for f in parse_text(text.decode())}
    assert {"process_cpu_seconds", "process_resident_memory_bytes", "process_open_fds",
            "python_info", "python_gc_collections"} <= names  # fmt: skip
    check_metrics(text)
    check_metrics(_one_member(b"".join(exposition.body(openmetrics=False, gzipped=True))))
