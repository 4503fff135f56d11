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
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from bench import probe
from bench.exporter_proc import Exporter
from tests.harness import clients
from tests.harness.cluster import KafkaCluster
from tests.harness.procs import HarnessError

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


class Churn:
    """Group ids and topics created and deleted in a thread."""

    def __init__(self, bootstrap: str, groups: int, interval: float) -> None:
        self.admin = AdminClient({"bootstrap.servers": bootstrap})
        self.groups, self.interval = groups, interval
        self.created = self.deleted = self.delete_errors = 0
        self.last_delete_error = ""
        self.topics = 0
        self.paused = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(60)

    def _run(self) -> None:
        previous: list[str] = []
        last_topic = ""
        topic_at = 0.0
        n = 0
        while not self._stop.wait(self.interval):
            if self.paused.is_set():
                continue
            try:
                now = time.monotonic()
                if now - topic_at >= 10:
                    name = f"soak-t{self.topics:05d}"
                    self.admin.create_topics([NewTopic(name, 3, 1)])[name].result(30)
                    if last_topic:
                        self.admin.delete_topics([last_topic])[last_topic].result(30)
                    last_topic, topic_at = name, now
                    self.topics += 1
                batch = [f"soak-g{n + i:08d}" for i in range(self.groups)]
                n += self.groups
                # librdkafka takes one group per call: the calls go out together
                futures = [
                    fut
                    for g in batch
                    for fut in self.admin.alter_consumer_group_offsets(
                        [ConsumerGroupTopicPartitions(g, [TopicPartition("soak", 0, 1)])],
                        request_timeout=30,
                    ).values()
                ]
                for fut in futures:
                    fut.result(30)
                self.created += len(batch)
                if previous:
                    gone = self.admin.delete_consumer_groups(previous, request_timeout=30)
                    for fut in gone.values():
                        try:
                            fut.result(30)
                            self.deleted += 1
                        except Exception as exc:  # counted and shown: the ids stay in the cluster
                            self.delete_errors += 1
                            self.last_delete_error = repr(exc)[:200]
                previous = batch
            except Exception as exc:  # the broker restart: try again next time
                log.warning("churn step failed: %r", exc)


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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("--minutes", type=float, default=6.0)
    parser.add_argument("--groups", type=int, default=200, help="group ids churned per cycle")
    parser.add_argument("--interval", type=float, default=1.0, help="poll interval in seconds")
    parser.add_argument("--no-restart", action="store_true", help="leave the broker running")
    parser.add_argument("--json", type=Path, default=RESULTS / "soak.json")
    parser.add_argument("--picture", type=Path, default=ROOT / "docs" / "img" / "soak.png")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    cluster = KafkaCluster(1).up()
    samples: list[dict[str, Any]] = []
    scrape_failures: list[str] = []
    last_delete_error = ""
    restart: dict[str, Any] = {}
    try:
        bootstrap = cluster.bootstrap_servers
        clients.create_topic(bootstrap, "soak", 1, 1)
        node = cluster.nodes[0]
        config = {
            "kafka": {"bootstrap_servers": bootstrap, "request_timeout_seconds": 5},
            "poll": {"interval_seconds": args.interval, "stage_timeout_seconds": 10},
            "jmx": {"targets": [{"url": node.jmx_url, "role": "broker", "name": "broker-1"}]},
            "log": {"level": "debug"},
        }
        exporter = Exporter(RESULTS / "soak-work", config)
        exporter.wait_serving(120)
        churn = Churn(bootstrap, args.groups, args.interval)
        churn.start()
        stop = threading.Event()
        _scrapers(exporter.port, stop, scrape_failures)
        t0 = time.monotonic()
        end = t0 + args.minutes * 60
        restarted = args.no_restart
        last_poll = 0.0
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
                churn.paused.clear()
            time.sleep(args.interval / 4)
            try:
                got = probe.fetch(exporter.port, timeout=5)
            except Exception as exc:
                scrape_failures.append(f"{time.strftime('%H:%M:%S')} {exc!r}"[:200])
                continue
            taken = got.value("kafka_vitals_last_poll_timestamp_seconds") or 0.0
            if taken == last_poll:
                continue
            last_poll = taken
            pid = exporter.pid
            kids = _children(pid)
            up = got.value("kafka_vitals_up", source="admin")  # the empty target is left out
            samples.append({
                "t": round(time.monotonic() - t0, 2),
                "rss_mib": probe.memory_mib(pid)[0],
                "child_rss_mib": sum(probe.memory_mib(k)[0] for k in kids),
                "fds": _count(f"/proc/{pid}/fd"),
                "threads": _count(f"/proc/{pid}/task"),
                "series": got.series,
                "cycle_s": got.value("kafka_vitals_poll_duration_seconds", stage="cycle"),
                "admin_up": up,
                "groups_churned": churn.created,
                "groups_deleted": churn.deleted,
                "delete_errors": churn.delete_errors,
            })  # fmt: skip
        stop.set()
        churn.stop()
        last_delete_error = churn.last_delete_error
        exporter.proc.stop(30)
    finally:
        cluster.down()
    result = _summarise(samples, restart, scrape_failures, args)
    result["summary"]["last_delete_error"] = last_delete_error
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1) + "\n")
    _picture(samples, restart, args.picture)
    print(json.dumps(result["summary"], indent=2))
    return 0


def _summarise(samples: list[dict[str, Any]], restart: dict[str, Any], failures: list[str],
               args: argparse.Namespace) -> dict[str, Any]:  # fmt: skip
    warm = samples[len(samples) // 3 :]
    t = [s["t"] for s in warm]
    churned = [s["groups_churned"] for s in warm]
    outage = (float(restart.get("from", 0.0)), float(restart.get("to", 0.0)) + 30.0)
    failed = [s for s in samples if s["admin_up"] != 1]
    unexpected = [s for s in failed if not outage[0] <= s["t"] <= outage[1] and s["t"] > 10]
    summary = {
        "minutes": args.minutes,
        "cycles": len(samples),
        "group_ids_churned": samples[-1]["groups_churned"] if samples else 0,
        "rss_mib_per_10k_groups": 1e4 * _slope(churned, [s["rss_mib"] for s in warm]),
        "child_rss_mib_per_10k_groups": 1e4 * _slope(churned, [s["child_rss_mib"] for s in warm]),
        "fds_per_minute": 60 * _slope(t, [s["fds"] for s in warm]),
        "threads_per_minute": 60 * _slope(t, [s["threads"] for s in warm]),
        "series_per_minute": 60 * _slope(t, [s["series"] for s in warm]),
        "cycle_s_per_minute": 60 * _slope(t, [s["cycle_s"] or 0.0 for s in warm]),
        "rss_mib_first_last": [samples[0]["rss_mib"], samples[-1]["rss_mib"]] if samples else [],
        "series_first_last": [samples[0]["series"], samples[-1]["series"]] if samples else [],
        "failed_cycles": len(failed),
        "failed_cycles_outside_the_restart": len(unexpected),
        "broker_restart_seconds": restart,
        "scrape_failures": len(failures),
        "load": os.getloadavg(),
    }
    return {"summary": summary, "samples": samples, "scrape_failures": failures[:20]}


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
