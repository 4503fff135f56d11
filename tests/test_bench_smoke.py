"""Smoke test of the benchmark harness: `python -m bench --scenario small` end to end.

Runs the small scenario for two cycles against its own cached 1-node broker (the benchmark
starts and stops it), with a small synthetic case, and checks that the JSON result has every
field with sane values. It asserts nothing about speed: benchmarks are not timed tests.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench.report import TARGETS

REPO = Path(__file__).resolve().parents[1]
STAGES = {"metadata", "groups", "committed", "offsets", "topic_configs", "jmx", "cycle"}

pytestmark = pytest.mark.kafka


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str]:
    out = tmp_path_factory.mktemp("bench") / "small.json"
    cmd = [sys.executable, "-m", "bench", "--scenario", "small", "--cycles", "2",
           "--synthetic-series", "2000", "--scrape-seconds", "1", "--json", str(out)]  # fmt: skip
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=900, check=False)
    if done.returncode != 0:
        pytest.fail(f"python -m bench failed ({done.returncode}):\n{done.stderr[-3000:]}",
                    pytrace=False)  # fmt: skip
    return json.loads(out.read_text()), done.stdout


def _positive(section: dict[str, Any], *keys: str) -> None:
    for key in keys:
        assert section[key] > 0, (key, section)


def test_cycles_and_stages(result: tuple[dict[str, Any], str]) -> None:
    r, _ = result
    assert r["scenario"]["name"] == "small"
    cycles = r["cycles"]
    assert len(cycles["measured"]) == 2
    for cycle in [cycles["warmup"], *cycles["measured"]]:
        assert set(cycle["stages"]) >= STAGES, cycle["stages"]
        assert 0 < cycle["stages"]["cycle"] <= cycle["full_seconds"] < 120
        assert cycle["published_at"] > cycle["started_at"] > 1.6e9
        assert cycle["series"] > 1000
        assert cycle["gzip_bytes"] < cycle["plain_bytes"]
        assert len(cycle["load"]) == 3
    for stats in (cycles["full_seconds"], cycles["cpu_seconds_per_cycle"], cycles["rss_mib"]):
        assert 0 < stats["min"] <= stats["median"] <= stats["max"]
    assert set(cycles["stages"]) >= STAGES


def test_floor_and_ratio(result: tuple[dict[str, Any], str]) -> None:
    r, _ = result
    floor = r["floor"]
    assert len(floor["runs"]) == 3
    for run in floor["runs"]:
        _positive(run, "metadata", "groups", "committed", "offsets", "total")
        assert run["groups_listed"] >= 10
        assert run["partitions"] >= 100
    assert floor["total"]["median"] > 0
    assert r["ratio_to_floor"] == pytest.approx(
        r["cycles"]["full_seconds"]["median"] / floor["total"]["median"], rel=0.01
    )


def test_scrapes_sizes_memory(result: tuple[dict[str, Any], str]) -> None:
    r, _ = result
    for section in (r, r["synthetic"]):
        runs = {(x["concurrency"], x["gzip"]): x for x in section["scrape"]}
        assert set(runs) == {(1, True), (10, True), (1, False), (10, False)}
        for run in runs.values():
            assert run["requests"] >= run["concurrency"]
            assert run["errors"] == 0
            assert 0 < run["p50_ms"] <= run["p99_ms"] <= run["max_ms"]
            assert run["body_bytes"] > 0
        assert runs[(1, True)]["body_bytes"] < runs[(1, False)]["body_bytes"]
        assert 0 < section["response_bytes"]["gzip"] < section["response_bytes"]["plain"]
        assert 10 < section["memory_mib"]["rss"] <= section["memory_mib"]["hwm"] < 4096
    assert r["synthetic"]["series"] >= 2000
    assert r["series"] > 1000


def test_setup_jmx_targets_and_table(result: tuple[dict[str, Any], str]) -> None:
    r, stdout = result
    assert r["setup"]["seconds"]["broker_start"] > 0
    assert isinstance(r["setup"]["reused"], bool)
    assert r["jmx_poll_seconds"]["median"] > 0
    assert len(r["load"]["start"]) == 3 and len(r["load"]["end"]) == 3
    assert [t["target"] for t in r["targets"]] == [t.name for t in TARGETS]
    for t in r["targets"]:
        assert t["met"] in (True, False, None)
        assert t["value"] is None or t["value"] >= 0
    assert "full cycle" in stdout and "target" in stdout and "synthetic" in stdout
