"""`python -m bench.soak [--minutes 6] [--groups 200] [--interval 1]`: months of churn, compressed.

Against a real one-broker cluster, `kafka-vitals serve` polls every `--interval` seconds while:
- every cycle `--groups` new consumer group ids commit offsets (each id used once) and the ones
  of the cycle before are deleted;
- every 10 s a topic is created and the one before deleted;
- halfway, the broker is restarted: the Admin API and the broker's JMX target go away and come
  back (cycles during the outage are expected to fail; the others must not);
- 10 scrapers read /metrics once a second.

Each cycle records the exporter's RSS (and its Admin API child's), open descriptors, threads,
the series served and the cycle time. Writes bench/results/soak.json and docs/img/soak.png, and
prints the slope of each after the warm-up (the first third), per 10,000 group ids churned for
the RSS. `--minutes` compresses months: what matters is the number of ids churned and cycles run.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import threading
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench import probe
from bench.exporter_proc import Exporter
from bench.soak_drivers import Churn, ClientJvm
from harness import clients
from harness.cluster import KafkaCluster
from harness.procs import HarnessError

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
log = logging.getLogger(__name__)


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def _count(path: str) -> int:
    try:
        return len(os.listdir(path))
    except OSError:
        return 0


def _scrapers(port: int, stop: threading.Event, failures: list[str]) -> list[threading.Thread]:
    def scrape() -> None:
        while not stop.wait(1.0):
            try:
                probe.fetch(port, timeout=5)
            except Exception as exc:
                failures.append(f"{time.strftime('%H:%M:%S')} {exc!r}"[:200])

    threads = [threading.Thread(target=scrape, daemon=True) for _ in range(10)]
    for t in threads:
        t.start()
    return threads


def _slope(xs: list[float], ys: list[float]) -> float:
    n = len(xs)
    if n < 2:
        return 0.0
    mx, my = sum(xs) / n, sum(ys) / n
    var = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / var if var else 0.0


class Sampler:
    """One sample per finished cycle of the exporter."""

    def __init__(self, exporter: Exporter, churn: Churn, t0: float, failures: list[str]) -> None:
        self.exporter, self.churn, self.t0, self.failures = exporter, churn, t0, failures
        self.samples: list[dict[str, Any]] = []
        self._last_poll = 0.0

    def take(self) -> dict[str, Any] | None:
        try:
            got = probe.fetch(self.exporter.port, timeout=5)
        except Exception as exc:
            self.failures.append(f"{time.strftime('%H:%M:%S')} {exc!r}"[:200])
            return None
        taken = got.value("kafka_vitals_last_poll_timestamp_seconds") or 0.0
        if taken == self._last_poll:
            return None
        self._last_poll = taken
        pid = self.exporter.pid
        kids = _children(pid)
        sample = {
            "t": round(time.monotonic() - self.t0, 2),
            "rss_mib": probe.memory_mib(pid)[0],
            "child_rss_mib": sum(probe.memory_mib(k)[0] for k in kids),
            "fds": _count(f"/proc/{pid}/fd"),
            "threads": _count(f"/proc/{pid}/task"),
            "series": got.series,
            "cycle_s": got.value("kafka_vitals_poll_duration_seconds", stage="cycle"),
            "admin_up": got.value("kafka_vitals_up", source="admin"),  # target="" is left out
            "broker_jmx_up": got.value("kafka_vitals_up", source="jmx", target="broker-1"),
            "client_jmx_up": got.value("kafka_vitals_up", source="jmx", target="client-1"),
            "groups_churned": self.churn.created,
            "groups_deleted": self.churn.deleted,
            "delete_errors": self.churn.delete_errors,
        }
        self.samples.append(sample)
        return sample

    def cycles(self, count: int, timeout: float) -> dict[str, Any] | None:
        """Wait for `count` more cycles; the last sample."""
        last, seen, end = None, 0, time.monotonic() + timeout
        while seen < count and time.monotonic() < end:
            time.sleep(0.25)
            if (got := self.take()) is not None:
                last, seen = got, seen + 1
        return last


def _slope_at_equal(xs: list[float], zs: list[float], ys: list[float]) -> float:
    """The slope of y over x with z held equal (least squares y = a + b*x + c*z): the memory per
    group id churned apart from the memory the size of the current snapshot (z) takes."""
    n = len(xs)
    if n < 3:
        return 0.0
    mx, mz, my = sum(xs) / n, sum(zs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    szz = sum((z - mz) ** 2 for z in zs)
    sxz = sum((x - mx) * (z - mz) for x, z in zip(xs, zs, strict=True))
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    szy = sum((z - mz) * (y - my) for z, y in zip(zs, ys, strict=True))
    det = sxx * szz - sxz * sxz
    return (sxy * szz - szy * sxz) / det if det else 0.0


def _series_names(port: int) -> set[str]:
    """Every series served (name and labels), for telling what stayed after the churn."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:
        text = resp.read().decode("utf-8", "replace")
    return {line.rsplit(" ", 1)[0] for line in text.splitlines() if line and line[0] != "#"}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("--minutes", type=float, default=6.0)
    parser.add_argument("--groups", type=int, default=200, help="group ids churned per cycle")
    parser.add_argument("--interval", type=float, default=1.0, help="poll interval in seconds")
    parser.add_argument("--jmx-period", type=float, default=30.0,
                        help="seconds the client JVM runs, then stays stopped")  # fmt: skip
    parser.add_argument("--no-restart", action="store_true", help="leave the broker running")
    parser.add_argument("--json", type=Path, default=RESULTS / "soak.json")
    parser.add_argument("--picture", type=Path, default=ROOT / "docs" / "img" / "soak.png")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    cluster = KafkaCluster(1).up()
    scrape_failures: list[str] = []
    restart: dict[str, Any] = {}
    end_state: dict[str, Any] = {}
    try:
        bootstrap = cluster.bootstrap_servers
        clients.create_topic(bootstrap, "soak", 1, 1)
        node = cluster.nodes[0]
        work = RESULTS / "soak-work"
        jvm = ClientJvm(bootstrap, args.jmx_period, work)
        config = {
            "kafka": {"bootstrap_servers": bootstrap, "request_timeout_seconds": 5},
            "poll": {"interval_seconds": args.interval, "stage_timeout_seconds": 10},
            "jmx": {"targets": [{"url": node.jmx_url, "role": "broker", "name": "broker-1"},
                                {"url": jvm.url, "role": "client", "name": "client-1"}]},
            "log": {"level": "debug"},
        }  # fmt: skip
        exporter = Exporter(work, config)
        exporter.wait_serving(120)
        churn = Churn(bootstrap, args.groups, args.interval)
        t0 = time.monotonic()
        sampler = Sampler(exporter, churn, t0, scrape_failures)
        before = sampler.cycles(3, 120)
        end_state["series_before"] = before["series"] if before else None
        names_before = _series_names(exporter.port)
        churn.start()
        jvm.start()
        stop = threading.Event()
        _scrapers(exporter.port, stop, scrape_failures)
        end = time.monotonic() + args.minutes * 60
        restarted = args.no_restart
        while time.monotonic() < end:
            if not restarted and time.monotonic() - t0 > args.minutes * 30:
                restarted = True
                churn.paused.set()
                restart["from"] = time.monotonic() - t0
                cluster.stop(node)
                try:
                    cluster.start(node, timeout=300)
                except HarnessError as exc:  # recorded; the broker may still come back
                    restart["error"] = str(exc)[:300]
                restart["to"] = time.monotonic() - t0
                churn.renew()  # the driver's client would keep the retired broker's handles
                churn.paused.clear()
            time.sleep(args.interval / 4)
            sampler.take()
        churn.stop()
        jvm.stop()
        churn.undeleted.append("soak-jmx-client")
        end_state["undeleted"] = churn.finish()
        end_state["churn_end"] = round(time.monotonic() - t0, 2)
        after = sampler.cycles(max(5, int(10 / args.interval)), 120)  # the gone groups go away
        end_state["series_after"] = after["series"] if after else None
        names_after = _series_names(exporter.port)
        end_state["series_new_after_churn"] = sorted(names_after - names_before)[:60]
        end_state["series_gone_after_churn"] = sorted(names_before - names_after)[:60]
        end_state["client_jvm_starts"] = jvm.starts
        end_state["driver_client_renewals"] = churn.renewals
        end_state["delete_error_times"] = [round(x - t0, 1) for x in churn.delete_error_times]
        end_state["last_delete_error"] = churn.last_delete_error
        stop.set()
        exporter.proc.stop(30)
    finally:
        cluster.down()
    result = _summarise(sampler.samples, restart, scrape_failures, args, end_state)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1) + "\n")
    _picture(sampler.samples, restart, args.picture)
    print(json.dumps(result["summary"], indent=2))
    if result["problems"]:
        print("SOAK FAILED: " + "; ".join(result["problems"]), file=sys.stderr)
        return 1
    return 0


def _summarise(samples: list[dict[str, Any]], restart: dict[str, Any], failures: list[str],
               args: argparse.Namespace, end: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
    churning = [s for s in samples if s["t"] <= end.get("churn_end", float("inf"))]
    warm = churning[len(churning) // 3 :]
    t = [s["t"] for s in warm]
    churned = [s["groups_churned"] for s in warm]
    outage = (float(restart.get("from", 0.0)), float(restart.get("to", 0.0)) + 30.0)

    def outside(at: float) -> bool:
        return not outage[0] <= at <= outage[1]

    failed = [s for s in samples if s["admin_up"] != 1]
    unexpected = [s for s in failed if outside(s["t"]) and s["t"] > 10]
    broker_jmx = [s for s in samples if s["broker_jmx_up"] != 1 and outside(s["t"]) and s["t"] > 10]
    delete_errors = [x for x in end.get("delete_error_times", []) if outside(x)]
    summary = {
        "minutes": args.minutes,
        "cycles": len(samples),
        "group_ids_churned": churning[-1]["groups_churned"] if churning else 0,
        "rss_mib_per_10k_groups": 1e4 * _slope(churned, [s["rss_mib"] for s in warm]),
        "child_rss_mib_per_10k_groups": 1e4 * _slope(churned, [s["child_rss_mib"] for s in warm]),
        "rss_mib_per_10k_groups_at_equal_series": 1e4 * _slope_at_equal(
            churned, [s["series"] for s in warm], [s["rss_mib"] for s in warm]
        ),
        "child_rss_mib_per_10k_groups_at_equal_series": 1e4 * _slope_at_equal(
            churned, [s["series"] for s in warm], [s["child_rss_mib"] for s in warm]
        ),
        "fds_per_minute": 60 * _slope(t, [s["fds"] for s in warm]),
        "threads_per_minute": 60 * _slope(t, [s["threads"] for s in warm]),
        "series_per_minute": 60 * _slope(t, [s["series"] for s in warm]),
        "cycle_s_per_minute": 60 * _slope(t, [s["cycle_s"] or 0.0 for s in warm]),
        "rss_mib_first_last": [samples[0]["rss_mib"], samples[-1]["rss_mib"]] if samples else [],
        "fds_min_max": [min(s["fds"] for s in warm), max(s["fds"] for s in warm)] if warm else [],
        "threads_min_max": [min(s["threads"] for s in warm), max(s["threads"] for s in warm)]
        if warm else [],
        "series_before_churn_after": [end.get("series_before"), end.get("series_after")],
        "series_new_after_churn": end.get("series_new_after_churn", []),
        "series_gone_after_churn": end.get("series_gone_after_churn", []),
        "failed_cycles": len(failed),
        "failed_cycles_outside_the_restart": len(unexpected),
        "broker_jmx_down_outside_the_restart": len(broker_jmx),
        "client_jmx_up_down_cycles": [sum(s["client_jmx_up"] == 1 for s in samples),
                                      sum(s["client_jmx_up"] == 0 for s in samples)],
        "client_jvm_starts": end.get("client_jvm_starts"),
        "delete_errors": len(end.get("delete_error_times", [])),
        "delete_errors_outside_the_restart": len(delete_errors),
        "ids_left_undeleted": len(end.get("undeleted", [])),
        "driver_client_renewals": end.get("driver_client_renewals"),
        "last_delete_error": end.get("last_delete_error", ""),
        "broker_restart_seconds": restart,
        "scrape_failures": len(failures),
        "load": os.getloadavg(),
    }  # fmt: skip
    problems = []
    if delete_errors or end.get("undeleted"):
        problems.append(f"{len(delete_errors)} group deletes failed outside the restart, "
                        f"{len(end.get('undeleted', []))} ids left in the cluster")  # fmt: skip
    if unexpected:
        problems.append(f"{len(unexpected)} cycles failed outside the restart")
    return {"summary": summary, "problems": problems, "samples": samples,
            "scrape_failures": failures[:20]}  # fmt: skip


def _picture(samples: list[dict[str, Any]], restart: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = (("rss_mib", "RSS MiB (exporter)"), ("child_rss_mib", "RSS MiB (admin child)"),
            ("fds", "open descriptors"), ("threads", "threads"), ("series", "series served"),
            ("cycle_s", "cycle seconds"))  # fmt: skip
    fig, axes = plt.subplots(len(keys), 1, figsize=(9, 12), sharex=True)
    t = [s["t"] / 60 for s in samples]
    for ax, (key, label) in zip(axes, keys, strict=True):
        ax.plot(t, [s[key] or 0 for s in samples], lw=1)
        ax.set_ylabel(label, fontsize=8)
        if restart:
            ax.axvspan(restart["from"] / 60, restart["to"] / 60, color="orange", alpha=0.2)
    axes[-1].set_xlabel("minutes (orange: broker restart)")
    fig.suptitle("kafka-vitals soak: group ids and topics churned every cycle, 10 scrapers")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)


if __name__ == "__main__":
    raise SystemExit(main())
