"""The targets, and a run's result as a plain-text table (the JSON holds everything)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

RSS_SERIES = 100_000
"""The scrape and RSS targets are stated for this many series."""


def _near_target_series(series: float) -> bool:
    return 0.9 * RSS_SERIES <= series <= 1.1 * RSS_SERIES


def _large(result: dict[str, Any]) -> bool:
    """The cycle targets are stated for the large scenario."""
    return bool(result["scenario"].get("name") == "large")


def _at_series(ok: bool, series: float) -> bool | None:
    """`ok`, where the run has about the target's series; None (n/a) elsewhere."""
    return ok if _near_target_series(series) else None


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    limit: str
    value: Callable[[dict[str, Any]], float | None]
    ok: Callable[[float, dict[str, Any]], bool | None]
    """Whether the value meets the limit; None where the limit does not apply to this run."""
    unit: str


def _get(result: dict[str, Any], *keys: str) -> float | None:
    value: Any = result
    for key in keys:
        if not isinstance(value, dict) or value.get(key) is None:
            return None
        value = value[key]
    return float(value)


def _scrape(section: dict[str, Any] | None, concurrency: int, gzipped: bool) -> float | None:
    if not section:
        return None
    for run in section.get("scrape", []):
        if run["concurrency"] == concurrency and run["gzip"] == gzipped:
            return float(run["p99_ms"])
    return None


TARGETS = (
    Target(
        "large: full poll cycle (median)",
        "<= 10 s",
        lambda r: _get(r, "cycles", "full_seconds", "median"),
        lambda v, r: v <= 10.0 if _large(r) else None,
        "s",
    ),
    Target(
        "large: full cycle / floor (medians)",
        "<= 1.5x",
        lambda r: r.get("ratio_to_floor"),
        lambda v, r: v <= 1.5 if _large(r) else None,
        "x",
    ),
    Target(
        "scrape p99 at 100k series, synthetic, 10 scrapers, gzip",
        "<= 25 ms",
        lambda r: _scrape(r.get("synthetic"), 10, True),
        lambda v, r: _at_series(v <= 25.0, r["synthetic"]["series"]),
        "ms",
    ),
    Target(
        "scrape p99 at 100k series, synthetic, 10 scrapers, plain",
        "<= 25 ms",
        lambda r: _scrape(r.get("synthetic"), 10, False),
        lambda v, r: _at_series(v <= 25.0, r["synthetic"]["series"]),
        "ms",
    ),
    Target(
        "RSS, synthetic",
        "<= 250 MiB at 100k series",
        lambda r: _get(r, "synthetic", "memory_mib", "hwm"),
        lambda v, r: _at_series(v <= 250.0, r["synthetic"]["series"]),
        "MiB",
    ),
    Target(
        "RSS peak, exporter",
        "<= 250 MiB at 100k series",
        lambda r: _get(r, "memory_mib", "hwm"),
        lambda v, r: _at_series(v <= 250.0, r["series"]),
        "MiB",
    ),
    Target(
        "JMX poll of the broker (median)",
        "<= 1.5 s",
        lambda r: _get(r, "jmx_poll_seconds", "median"),
        lambda v, r: v <= 1.5,
        "s",
    ),
)


def evaluate(result: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for t in TARGETS:
        value = t.value(result)
        rows.append(
            {
                "target": t.name,
                "limit": t.limit,
                "value": value,
                "unit": t.unit,
                "met": None if value is None else t.ok(value, result),
            }
        )
    return rows


def _fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    text = f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"
    return f"{text} {unit}".rstrip()


def _table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=True)]

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    out = [line(header), line(tuple("-" * w for w in widths))]
    return "\n".join([*out, *(line(row) for row in rows)])


def render(result: dict[str, Any]) -> str:
    parts = _exporter_part(result) if "cycles" in result else [
        f"synthetic only; load average at start {result['load']['start']}, at end "
        f"{result['load']['end']} on {result['machine']['cpus']} cores"
    ]  # fmt: skip
    syn = result.get("synthetic")
    if syn:
        parts.append("")
        parts.append(
            f"synthetic: {syn['series']:,} series, render {syn['render_seconds']:.3f} s, "
            f"{syn['response_bytes']['plain'] / 1e6:.1f} MB plain / "
            f"{syn['response_bytes']['gzip'] / 1e6:.2f} MB gzip, RSS {syn['memory_mib']['rss']} "
            f"MiB, peak {syn['memory_mib']['hwm']} MiB"
        )
        parts.append(_scrape_table("scrapes of the synthetic exporter", syn["scrape"]))
    parts.append("")
    target_rows = [
        (t["target"], t["limit"], _fmt(t["value"], t["unit"]),
         {True: "met", False: "NOT MET", None: "n/a"}[t["met"]])
        for t in result["targets"]
    ]  # fmt: skip
    parts.append(_table(("target", "limit", "measured", ""), target_rows))
    return "\n".join(parts)


def _exporter_part(result: dict[str, Any]) -> list[str]:
    s = result["scenario"]
    cyc = result["cycles"]
    parts = [
        f"scenario {s['name']}: {s['topics']} topics x {s['partitions']} partitions, "
        f"{s['groups']} groups ({s['groups'] * s['partitions']:,} committed partitions), "
        f"{result['series']:,} series",
        f"load average at start {result['load']['start']}, at end {result['load']['end']} "
        f"on {result['machine']['cpus']} cores; broker data "
        f"{'reused' if result['setup']['reused'] else 'laid out'} in "
        f"{result['setup']['total_seconds']:.0f} s {result['setup']['seconds']}",
    ]
    lagging = result.get("lagging")
    if lagging is not None:
        share = "all" if lagging["fraction"] is None else f"fraction {lagging['fraction']}"
        moved = lagging.get("move_seconds")
        moving = (
            f", moved after each cycle (commit median {moved['median']:.2f} s)" if moved else ""
        )
        parts.append(f"lagging ({share}): {lagging['partitions']:,} committed partitions behind"
                     f"{moving}; lag_seconds_mode {lagging['lag_seconds_mode']}")  # fmt: skip
    parts.append("")
    rows: list[tuple[str, ...]] = [
        ("full cycle (publish - start)", _fmt(cyc["full_seconds"]["median"], "s"),
         _fmt(cyc["full_seconds"]["max"], "s"), _fmt(result["floor"]["total"]["median"], "s")),
    ]  # fmt: skip
    floor_steps = result["floor"]["steps"]
    for stage, v in cyc["stages"].items():
        f = floor_steps.get(stage, {}).get("median")
        rows.append((f"  stage {stage}", _fmt(v["median"], "s"), _fmt(v["max"], "s"), _fmt(f, "s")))
    warm = cyc["warmup"]["stages"]
    if "message_times" in warm:  # the first cycle reads every lagging partition once
        rows.append(("  stage message_times, first cycle (every read)",
                     _fmt(warm["message_times"], "s"), "", ""))  # fmt: skip
    after = cyc["after_cycle_stage_seconds"]
    rows.append(("  after stage cycle (own, build, render, gzip)", _fmt(after["median"], "s"),
                 _fmt(after["max"], "s"), ""))  # fmt: skip
    cpu = cyc["cpu_seconds_per_cycle"]
    floor_cpu = result["floor"]["cpu_seconds"]["median"]
    rows.append(("exporter CPU per cycle", _fmt(cpu["median"], "s"), _fmt(cpu["max"], "s"),
                 _fmt(floor_cpu, "s")))  # fmt: skip
    mem = result["memory_mib"]
    rows.append(("exporter RSS / peak", _fmt(mem["rss"], "MiB"), _fmt(mem["hwm"], "MiB"), ""))
    size = result["response_bytes"]
    rows.append(("response plain / gzip", _fmt(size["plain"] / 1e6, "MB"),
                 _fmt(size["gzip"] / 1e6, "MB"), ""))  # fmt: skip
    parts.append(_table(("exporter", "median", "max", "floor (median)"), rows))
    parts.append("")
    parts.append(_scrape_table("scrapes of the exporter", result["scrape"]))
    return parts


def _scrape_table(title: str, runs: list[dict[str, Any]]) -> str:
    rows = [
        (str(r["concurrency"]), "gzip" if r["gzip"] else "plain", str(r["requests"]),
         str(r["errors"]), _fmt(r["p50_ms"], "ms"), _fmt(r["p99_ms"], "ms"),
         _fmt(r["max_ms"], "ms"))
        for r in runs
    ]  # fmt: skip
    return _table((title, "encoding", "requests", "errors", "p50", "p99", "max"), rows)
