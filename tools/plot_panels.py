"""Drawing one Grafana panel with matplotlib, from the panel's JSON and the series its queries
returned: stat panels as big numbers coloured by their thresholds, time series as lines with the
alert threshold drawn, tables, and state timelines. Used by `tools.plot`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import matplotlib.dates as mdates
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter
from matplotlib.transforms import Bbox

BG, PANEL, TEXT, MUTED, GRID = "#111217", "#181b1f", "#ccccdc", "#8e8e9e", "#2c3235"
NAMED = {
    "green": "#73BF69", "red": "#F2495C", "orange": "#FF9830", "yellow": "#FADE2A",
    "blue": "#5794F2", "purple": "#B877D9", "gray": "#808080", "dark-red": "#C4162A",
}  # fmt: skip
PALETTE = ("#7EB26D", "#EAB839", "#6ED0E0", "#EF843C", "#E24D42", "#1F78C1", "#BA43A9",
           "#705DA0", "#508642", "#CCA300")  # fmt: skip
MAX_ROWS = 7


@dataclass(frozen=True, slots=True)
class Series:
    """One series a query returned: its labels and (time, value) points."""

    ref: str
    labels: Mapping[str, str]
    times: Sequence[float] = field(default_factory=tuple)
    values: Sequence[float] = field(default_factory=tuple)

    def name(self, legend: str) -> str:
        text = re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: self.labels.get(m.group(1), ""), legend)
        return text.strip() or ", ".join(f"{k}={v}" for k, v in sorted(self.labels.items()))

    @property
    def last(self) -> float | None:
        finite = [v for v in self.values if not math.isnan(v)]
        return finite[-1] if finite else None


def _day(unix: float) -> float:
    """Unix seconds as matplotlib's date number (days since 1970-01-01)."""
    return unix / 86400.0


def color(name: str) -> str:
    return NAMED.get(name, name)


def fmt(value: float | None, unit: str, decimals: int | None = None) -> str:
    """A value as Grafana would print it for the units our dashboards use."""
    if value is None or math.isnan(value):
        return "no data"
    if value == 0 and unit in ("s", "ms", "bytes", "Bps"):
        return f"0 {'B/s' if unit == 'Bps' else 'B' if unit == 'bytes' else unit}"
    if unit == "percentunit":
        return f"{value * 100:.{1 if decimals is None else decimals}f}%"
    if unit == "dateTimeAsIso":
        return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%d %H:%M:%S")
    if unit in ("s", "ms"):
        secs = value / 1000 if unit == "ms" else value
        for limit, div, suffix in ((1e-3, 1e-6, "µs"), (1, 1e-3, "ms"), (60, 1, "s"),
                                   (3600, 60, "min"), (math.inf, 3600, "h")):  # fmt: skip
            if abs(secs) < limit:
                return f"{_num(secs / div, decimals)} {suffix}"
    if unit in ("bytes", "Bps"):
        text = _scaled(value, 1024, ("B", "KiB", "MiB", "GiB", "TiB"), decimals)
        return text + ("/s" if unit == "Bps" else "")
    suffix = {"mps": " msg/s", "reqps": " req/s", "ops": " ops/s", "cpm": " /min"}.get(unit, "")
    return _scaled(value, 1000, ("", "K", "Mil", "Bil"), decimals).strip() + suffix


def _num(value: float, decimals: int | None) -> str:
    if decimals is not None:
        return f"{value:.{decimals}f}"
    if value == int(value) and abs(value) < 1e6:
        return str(int(value))
    return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"


def _scaled(value: float, base: int, suffixes: Sequence[str], decimals: int | None) -> str:
    i = 0
    while abs(value) >= base and i < len(suffixes) - 1:
        value, i = value / base, i + 1
    return f"{_num(value, decimals)} {suffixes[i]}"


def steps_color(steps: Sequence[Mapping[str, Any]], value: float | None) -> str:
    """The colour of the highest step whose value is at or below `value` (Grafana's rule)."""
    chosen = steps[0]["color"] if steps else "green"
    if value is None:
        return MUTED
    for step in steps:
        if step["value"] is None or value >= step["value"]:
            chosen = step["color"]
    return color(chosen)


def _field(panel: Mapping[str, Any], ref: str) -> tuple[str, list[Any], int | None]:
    """(unit, threshold steps, decimals) of one query's values, per-query overrides applied."""
    defaults = panel["fieldConfig"]["defaults"]
    unit, steps = defaults.get("unit", ""), defaults["thresholds"]["steps"]
    decimals = defaults.get("decimals")
    for override in panel["fieldConfig"].get("overrides", []):
        if override["matcher"] == {"id": "byFrameRefID", "options": ref}:
            for prop in override["properties"]:
                if prop["id"] == "unit":
                    unit = prop["value"]
                elif prop["id"] == "thresholds":
                    steps = prop["value"]["steps"]
                elif prop["id"] == "decimals":
                    decimals = prop["value"]
    return unit, steps, decimals


def _mapped(panel: Mapping[str, Any], value: float | None) -> tuple[str, str] | None:
    for mapping in panel["fieldConfig"]["defaults"].get("mappings", []):
        option = mapping.get("options", {}).get(_num(value, None) if value is not None else "")
        if option:
            return option["text"], color(option["color"])
    return None


def draw_stat(fig: Figure, box: Sequence[float], panel: Mapping[str, Any],
              results: Mapping[str, list[Series]]) -> None:  # fmt: skip
    legends = {t["refId"]: t.get("legendFormat", "") for t in panel["targets"]}
    cells: list[tuple[str, Series | None]] = [
        (ref, s) for ref, series in results.items() for s in series
    ] or [("A", None)]
    x, y, w, h = box
    cell_w = w / len(cells)
    for i, (ref, s) in enumerate(cells):
        unit, steps, decimals = _field(panel, ref)
        value = s.last if s else None
        text, fill = fmt(value, unit, decimals), steps_color(steps, value)
        if (mapped := _mapped(panel, value)) is not None:
            text, fill = mapped
        ax = fig.add_axes((x + i * cell_w + 0.002, y, cell_w - 0.004, h))
        ax.set_facecolor(fill if value is not None else PANEL)
        ax.set_xticks([]), ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_visible(False)
        if s and len(s.values) > 1:
            ax.fill_between(s.times, s.values, color="white", alpha=0.18, linewidth=0)
            ax.set_xlim(s.times[0], s.times[-1])
            top = max((v for v in s.values if not math.isnan(v)), default=1.0)
            ax.set_ylim(0, (top or 1.0) * 1.8)
        size = max(11.0, min(26.0, 260 * cell_w))
        ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes,
                fontsize=size, fontweight="bold", color="white")  # fmt: skip
        if len(cells) > 1 or "{{" in legends.get(ref, ""):
            name = s.name(legends.get(ref, "")) if s else legends.get(ref, "")
            ax.text(0.5, 0.12, name[:28], ha="center", va="center", transform=ax.transAxes,
                    fontsize=7.5, color="white")  # fmt: skip


def draw_timeseries(fig: Figure, box: Sequence[float], panel: Mapping[str, Any],
                    results: Mapping[str, list[Series]]) -> None:  # fmt: skip
    defaults = panel["fieldConfig"]["defaults"]
    legends = {t["refId"]: t.get("legendFormat", "") for t in panel["targets"]}
    x, y, w, h = box
    ax = fig.add_axes((x + 0.03, y + h * 0.34, w - 0.04, h * 0.62))
    _style(ax)
    dashed = [
        (re.compile(o["matcher"]["options"]), o)
        for o in panel["fieldConfig"].get("overrides", [])
        if o["matcher"]["id"] == "byRegexp"
    ]
    lines, top, times = [], 0.0, [t for ss in results.values() for s in ss for t in s.times]
    _minutes_axis(ax, times)
    for i, (ref, s) in enumerate((r, s) for r, ss in results.items() for s in ss):
        name = s.name(legends.get(ref, ""))
        line_color, line_style = PALETTE[i % len(PALETTE)], "-"
        for pattern, override in dashed:
            if pattern.fullmatch(name):
                line_color = color(override["properties"][1]["value"]["fixedColor"])
                line_style = "--"
        (line,) = ax.plot([_day(t) for t in s.times], s.values, label=name[:40],
                          color=line_color, linestyle=line_style, linewidth=1.3)  # fmt: skip
        lines.append(line)
        top = max([top, *(v for v in s.values if not math.isnan(v))])
    unit = defaults.get("unit", "")
    if defaults["custom"]["thresholdsStyle"]["mode"] != "off":
        for step in defaults["thresholds"]["steps"]:
            if step["value"] is not None:
                ax.axhline(step["value"], color=color(step["color"]), linewidth=1.6)
                ax.annotate(f"alert {fmt(step['value'], unit)}", (1.0, step["value"]),
                            xycoords=("axes fraction", "data"), xytext=(-4, 3),
                            textcoords="offset points", ha="right", fontsize=7,
                            color=color(step["color"]))  # fmt: skip
                top = max(top, step["value"])
    ax.set_ylim(bottom=0, top=(top or 1.0) * 1.15)
    if defaults.get("max") is not None:
        ax.set_ylim(top=max(defaults["max"], top * 1.15))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: fmt(v, unit)))
    if not lines:
        ax.set_xticks([])
        ax.text(0.5, 0.5, "no data", ha="center", va="center", color=MUTED,
                transform=ax.transAxes)  # fmt: skip
        return
    ncol = 3 if w > 0.3 else 2
    shown = lines[: ncol * 2]
    labels = [str(ln.get_label()) for ln in shown]
    if len(lines) > len(shown):
        labels[-1] = f"{labels[-1]}  (+{len(lines) - len(shown)} more)"
    ax.legend(shown, labels, loc="upper left", bbox_to_anchor=(0.0, -0.14), ncol=ncol,
              fontsize=7, frameon=False, labelcolor=TEXT, handlelength=1.5)  # fmt: skip


def _style(ax: Axes) -> None:
    ax.set_facecolor(PANEL)
    ax.tick_params(colors=MUTED, labelsize=7)
    ax.grid(color=GRID, linewidth=0.6)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M"))  # type: ignore[no-untyped-call]


def _minutes_axis(ax: Axes, times: Sequence[float]) -> None:
    """Ticks on whole minutes, about six of them, whatever the range."""
    if times:
        span = (max(times) - min(times)) / 60
        step = next((s for s in (1, 2, 5, 10, 15, 30, 60, 120) if span / s <= 7), 240)
        locator: mdates.DateLocator
        if step < 60:
            locator = mdates.MinuteLocator(interval=step)  # type: ignore[no-untyped-call]
        else:
            locator = mdates.HourLocator(interval=step // 60)  # type: ignore[no-untyped-call]
        ax.xaxis.set_major_locator(locator)


def draw_table(fig: Figure, box: Sequence[float], panel: Mapping[str, Any],
               results: Mapping[str, list[Series]]) -> None:  # fmt: skip
    organize = next(t["options"] for t in panel["transformations"] if t["id"] == "organize")
    hidden, rename = set(organize["excludeByName"]), organize["renameByName"]
    refs = [t["refId"] for t in panel["targets"]]
    label_sets = [set(s.labels) - hidden for r in refs for s in results.get(r, [])]
    common = set.intersection(*label_sets) if label_sets else set()
    if len(refs) == 1:  # no merge: one row per series
        common = set().union(*label_sets)
    rows: dict[tuple[str, ...], dict[str, str]] = {}
    for ref in refs:
        value_col = "Value" if len(refs) == 1 else f"Value #{ref}"
        unit, _steps, decimals = _field(panel, ref)
        for s in results.get(ref, []):
            key = tuple(s.labels.get(k, "") for k in sorted(common))
            row = rows.setdefault(key, {})
            row.update({k: v for k, v in s.labels.items() if k not in hidden})
            if value_col not in hidden:
                column = rename.get(value_col, value_col)
                row[column] = fmt(s.last, _unit(panel, column, unit), decimals)
    x, y, w, h = box
    ax = fig.add_axes((x + 0.005, y + 0.004, w - 0.01, h * 0.86))
    ax.axis("off")
    if not rows:
        ax.text(0.5, 0.5, "no rows", ha="center", va="center", color=MUTED)
        return
    columns = list(dict.fromkeys(k for row in rows.values() for k in row))
    body = [[row.get(c, "")[:40] for c in columns] for row in list(rows.values())[:MAX_ROWS]]
    if len(rows) > MAX_ROWS:
        body.append([f"+{len(rows) - MAX_ROWS} more"] + [""] * (len(columns) - 1))
    rows_h = min(1.0, (len(body) + 1) * 0.19 / (h * fig.get_figheight() * 0.86))
    place = Bbox.from_bounds(0, 1 - rows_h, 1, rows_h)
    widths = [max(len(c), *(len(r[i]) for r in body)) + 2 for i, c in enumerate(columns)]
    table = ax.table(cellText=body, colLabels=columns, bbox=place, cellLoc="left",
                     colWidths=[n / sum(widths) for n in widths])  # fmt: skip
    table.auto_set_font_size(False)
    table.set_fontsize(7)
    for (r, _c), cell in table.get_celld().items():
        cell.set_edgecolor(GRID)
        cell.set_facecolor("#22252b" if r == 0 else PANEL)
        cell.get_text().set_color(TEXT)


def _unit(panel: Mapping[str, Any], column: str, default: str) -> str:
    for override in panel["fieldConfig"].get("overrides", []):
        if override["matcher"] == {"id": "byName", "options": column}:
            for prop in override["properties"]:
                if prop["id"] == "unit":
                    return str(prop["value"])
    return default


def draw_timeline(fig: Figure, box: Sequence[float], panel: Mapping[str, Any],
                  results: Mapping[str, list[Series]]) -> None:  # fmt: skip
    legends = {t["refId"]: t.get("legendFormat", "") for t in panel["targets"]}
    options = panel["fieldConfig"]["defaults"]["mappings"][0]["options"]
    series = [(r, s) for r, ss in results.items() for s in ss][:MAX_ROWS]
    x, y, w, h = box
    ax = fig.add_axes((x + w * 0.22, y + h * 0.3, w * 0.76, h * 0.62))
    _style(ax)
    ax.grid(False)
    _minutes_axis(ax, [t for _r, s in series for t in s.times])
    seen: dict[str, str] = {}
    for i, (_ref, s) in enumerate(series):
        for t0, t1, v in zip(s.times, [*s.times[1:], s.times[-1] + 15], s.values, strict=True):
            option = options.get(_num(v, None)) if not math.isnan(v) else None
            if option:
                seen[option["text"]] = color(option["color"])
                ax.barh(i, _day(t1) - _day(t0), left=_day(t0), height=0.8,
                        color=color(option["color"]), linewidth=0)  # fmt: skip
    ax.set_yticks(range(len(series)), [s.name(legends.get(r, ""))[:24] for r, s in series],
                  fontsize=7, color=TEXT)  # fmt: skip
    ax.invert_yaxis()
    stamps = [t for _r, s in series for t in s.times]
    if stamps:
        ax.set_xlim(_day(min(stamps)), _day(max(stamps)))
    if not series:
        ax.text(0.5, 0.5, "no data", ha="center", va="center", color=MUTED,
                transform=ax.transAxes)  # fmt: skip
    at = x + 0.01
    for name, fill in seen.items():
        fig.text(at, y + 0.006, "■", fontsize=9, color=fill)
        fig.text(at + 0.008, y + 0.006, name, fontsize=7, color=TEXT)
        at += 0.014 + 0.0031 * len(name)
