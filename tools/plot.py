"""Pictures of the dashboards from live Prometheus data, laid out as Grafana lays them out.

Grafana is not needed: every panel's queries (the same JSON Grafana imports, variables expanded)
run against Prometheus's HTTP API, and matplotlib draws each panel in its grid position.

    python -m tools.plot --prometheus http://127.0.0.1:9090 --job kafka-vitals --out docs/img

matplotlib comes with the `test` extra (`pip install -e '.[test]'`).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from bundle.dashboards.output import build_all
from bundle.dashboards.queries import expand, panels

log = logging.getLogger(__name__)

Fetch = Callable[[str, bool], list[Any]]
"""(expr, instant) -> the series the query returned (`plot_panels.Series`)."""
COL_IN, ROW_IN = 0.85, 0.30
"""Inches per grid column and per grid row: Grafana's 24 columns by 30-pixel rows."""


class PlotError(RuntimeError):
    """A query failed or Prometheus could not be reached."""


def variables(job: str, rate_interval: str) -> dict[str, str]:
    """Values for every dashboard variable: the job, and "All" (`.*`) for the rest."""
    return {
        "job": job, "cluster": ".*", "consumergroup": ".*", "topic": ".*", "broker": ".*",
        "__rate_interval": rate_interval, "datasource": "",
    }  # fmt: skip


def prometheus_fetch(url: str, start: float, end: float, step: float) -> Fetch:
    """A fetcher running range queries over [start, end] (instant ones at `end`)."""
    from tools.plot_panels import Series

    def fetch(expr: str, instant: bool) -> list[Series]:
        if instant:
            path, params = "query", {"query": expr, "time": f"{end:.3f}"}
        else:
            path = "query_range"
            params = {"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}",
                      "step": f"{step:g}"}  # fmt: skip
        full = f"{url.rstrip('/')}/api/v1/{path}?{urllib.parse.urlencode(params)}"
        try:
            with urllib.request.urlopen(full, timeout=30) as resp:
                body = json.load(resp)
        except urllib.error.HTTPError as exc:
            raise PlotError(f"query failed ({exc.code}): {expr}: {exc.read()[:300]!r}") from exc
        except (urllib.error.URLError, OSError) as exc:
            raise PlotError(f"cannot reach Prometheus at {url}: {exc}") from exc
        if body.get("status") != "success":
            raise PlotError(f"query failed: {expr}: {body.get('error')}")
        out = []
        for item in body["data"]["result"]:
            points = item["values"] if "values" in item else [item["value"]]
            out.append(Series("", item["metric"], tuple(float(t) for t, _ in points),
                              tuple(float(v) for _, v in points)))  # fmt: skip
        return out

    return fetch


def results_of(panel: Mapping[str, Any], fetch: Fetch, values: Mapping[str, str]) -> dict[str, Any]:
    """Every query of the panel, run: refId -> series (refId filled in)."""
    from tools.plot_panels import Series

    out: dict[str, list[Series]] = {}
    for target in panel.get("targets", []):
        series = fetch(expand(target["expr"], values), bool(target.get("instant")))
        out[target["refId"]] = [Series(target["refId"], s.labels, s.times, s.values)
                                for s in series]  # fmt: skip
    return out


def render(dashboard: Mapping[str, Any], fetch: Fetch, values: Mapping[str, str], out: Path,
           subtitle: str = "") -> Path:  # fmt: skip
    """Draw every panel of `dashboard` at its grid position into the PNG `out`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from tools import plot_panels as pp

    items = list(panels(dashboard))
    rows = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in items)
    head = 1.6  # grid rows of title band
    total = rows + head
    fig = plt.figure(figsize=(24 * COL_IN, total * ROW_IN), facecolor=pp.BG)
    fig.text(0.008, 1 - 0.55 / total, dashboard["title"], fontsize=15, color=pp.TEXT,
             fontweight="bold", va="center")  # fmt: skip
    fig.text(0.008, 1 - 1.2 / total, subtitle, fontsize=9, color=pp.MUTED, va="center")
    for panel in items:
        gp = panel["gridPos"]
        x, w = gp["x"] / 24 + 0.002, gp["w"] / 24 - 0.004
        y = 1 - (head + gp["y"] + gp["h"]) / total + 0.002
        h = gp["h"] / total - 0.004
        if panel["type"] == "row":
            fig.text(x, y + h / 2, panel["title"], fontsize=11, color=pp.TEXT,
                     fontweight="bold", va="center")  # fmt: skip
            continue
        frame = fig.add_axes((x, y, w, h))
        frame.set_facecolor(pp.PANEL)
        frame.set_xticks([]), frame.set_yticks([])
        for spine in frame.spines.values():
            spine.set_color(pp.GRID)
        title_h = 0.75 / total
        fig.text(x + 0.004, y + h - title_h / 2, panel["title"], fontsize=8.5, color=pp.TEXT,
                 va="center", fontweight="bold")  # fmt: skip
        box = (x, y, w, h - title_h)
        results = results_of(panel, fetch, values)
        draw = {"stat": pp.draw_stat, "timeseries": pp.draw_timeseries, "table": pp.draw_table,
                "state-timeline": pp.draw_timeline}[panel["type"]]  # fmt: skip
        draw(fig, box, panel, results)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=80, facecolor=pp.BG)
    plt.close(fig)
    log.info("dashboard pictured uid=%s path=%s", dashboard["uid"], out)
    return out


def render_all(prometheus: str, job: str, out_dir: Path, minutes: float = 15.0,
               rate_interval: str = "1m", uids: Sequence[str] = ()) -> list[Path]:  # fmt: skip
    """A PNG per dashboard (`<uid>.png`) of the last `minutes` of data."""
    end = time.time()
    start = end - minutes * 60
    fetch = prometheus_fetch(prometheus, start, end, max(5.0, minutes * 60 / 240))
    values = variables(job, rate_interval)
    subtitle = (
        f"live data, {minutes:g} minutes to "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(end))}, job={job}"
    )
    return [
        render(d, fetch, values, out_dir / f"{uid}.png", subtitle)
        for uid, d in build_all().items()
        if not uids or uid in uids
    ]  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.plot", description=__doc__)
    parser.add_argument("--prometheus", required=True, help="Prometheus base URL")
    parser.add_argument("--job", default="kafka-vitals", help="value of the $job variable")
    parser.add_argument("--out", type=Path, default=Path("docs/img"), help="output directory")
    parser.add_argument("--minutes", type=float, default=15.0, help="time range to draw")
    parser.add_argument("--rate-interval", default="1m", help="value of $__rate_interval")
    parser.add_argument("--uid", action="append", default=[], help="only this dashboard")
    args = parser.parse_args(argv)
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        sys.stderr.write("error: matplotlib is missing: pip install -e '.[test]'\n")
        return 2
    try:
        for path in render_all(args.prometheus, args.job, args.out, args.minutes,
                               args.rate_interval, args.uid):  # fmt: skip
            sys.stdout.write(f"{path}\n")
    except PlotError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
