"""The demo (`make demo`): started as a user would, driven until the lag alert and the schema
contract alert (raw JSON on `clicks`, sampled beside registered Avro on `orders`) fire, stopped
with Ctrl-C (SIGINT), and checked to leave no process and no listening port behind."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import pytest

from exporter.catalog.jmx import UNDER_REPLICATED
from harness.demo import LAG_ALERT, LAGGING_GROUP
from harness.demo_contract import AVRO_TOPIC, CONTRACT_ALERT, RAW_TOPIC
from harness.procs import HarnessError, pid_alive, port_open, wait_for

pytestmark = [pytest.mark.kafka, pytest.mark.prometheus]

ROOT = Path(__file__).resolve().parents[1]
DEMO = [sys.executable, "-m", "harness", "demo"]


class Output:
    """Collects a subprocess's output lines in a thread."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        self._proc = proc
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def text(self) -> str:
        return "\n".join(self.lines)

    def join(self) -> None:
        self._thread.join(10)


def children_map() -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        out.setdefault(ppid, []).append(int(stat.parent.name))
    return out


def command(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return None


def descendants(root: int) -> dict[int, str]:
    """pid -> command line of every process below `root`."""
    children, found, todo = children_map(), {}, [root]
    while todo:
        for pid in children.get(todo.pop(), []):
            if (cmd := command(pid)) is not None:
                found[pid] = cmd
                todo.append(pid)
    return found


def listening_ports(pids: set[int]) -> set[int]:
    """TCP ports in LISTEN state whose sockets belong to `pids`."""
    inodes: set[str] = set()
    for pid in pids:
        try:
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        except OSError:
            continue
    ports: set[int] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def firing(prometheus: str, alertname: str = LAG_ALERT, **labels: str) -> bool:
    labels = labels or {"consumergroup": LAGGING_GROUP}
    with urllib.request.urlopen(f"{prometheus}/api/v1/alerts", timeout=10) as resp:
        alerts = json.load(resp)["data"]["alerts"]
    return any(
        a["labels"].get("alertname") == alertname
        and all(a["labels"].get(k) == v for k, v in labels.items())
        and a["state"] == "firing"
        for a in alerts
    )


def broker_jmx_targets(metrics_url: str) -> set[str]:
    """The `target` labels of one sidecar's broker JMX series (one per broker it reads)."""
    with urllib.request.urlopen(metrics_url, timeout=10) as resp:
        body = resp.read().decode()
    name = re.escape(UNDER_REPLICATED.name)
    return set(re.findall(rf'^{name}\{{[^}}]*target="([^"]+)"', body, re.MULTILINE))


def test_demo_fires_the_lag_alert_and_stops_cleanly() -> None:
    """The demo runs a sidecar per broker (broker scope), each reading its own broker's JMX only;
    the shipped lag alert fires for the lagging group, and Ctrl-C leaves nothing behind."""
    proc = subprocess.Popen(
        [*DEMO, "--no-tty", "--refresh", "5"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    out = Output(proc)
    seen: dict[int, str] = {}
    ports: set[int] = set()

    def running() -> None:
        if proc.poll() is not None:
            raise HarnessError(f"the demo exited with {proc.returncode}:\n{out.text()[-3000:]}")
        now = descendants(proc.pid)
        seen.update(now)
        ports.update(listening_ports(set(now)))

    try:
        url = wait_for(
            lambda: next(
                (
                    m.group(1)
                    for line in out.lines
                    if (m := re.search(r"Prometheus +(http\S+)$", line))
                ),
                None,
            ),
            300,
            "the demo to print the Prometheus URL",
            check=running,
        )
        wait_for(
            lambda: firing(url), 600, f"{LAG_ALERT} firing in {url}", interval=5, check=running
        )
        wait_for(
            lambda: firing(url, CONTRACT_ALERT, topic=RAW_TOPIC),
            300,
            f"{CONTRACT_ALERT} firing for {RAW_TOPIC} in {url}",
            interval=5,
            check=running,
        )
        assert not firing(url, CONTRACT_ALERT, topic=AVRO_TOPIC)
        wait_for(
            lambda: any(ln.startswith("alerts firing") and LAG_ALERT in ln for ln in out.lines),
            60,
            f"the summary to show {LAG_ALERT} firing",
            check=running,
        )
        sidecars = wait_for(
            lambda: next(
                (
                    re.findall(r"(http://\S+/metrics)", line)
                    for line in out.lines
                    if re.search(r"\] kafka-vitals +http", line)
                ),
                None,
            ),
            10,
            "the demo to print the kafka-vitals URLs",
        )
        assert len(sidecars) == 3, f"one sidecar per broker expected: {sidecars}"
        # a JMX read can time out on a loaded machine: wait until every sidecar has served one
        read = wait_for(
            lambda: r if all(r := [broker_jmx_targets(u) for u in sidecars]) else None,
            180,
            "every sidecar to serve its broker's JMX",
            interval=5,
            check=running,
        )
        for url, targets in zip(sidecars, read, strict=True):
            assert len(targets) == 1, f"{url} reads the JMX of {sorted(targets)}, not one broker's"
        assert len(set().union(*read)) == 3, f"every broker's JMX read once: {read}"
        commands = " ".join(seen.values())
        for part in ("kafka.Kafka", "ConsoleConsumer", "ProducerPerformance", "prometheus ",
                     "prometheus-alertmanager", "kafka-vitals serve",
                     "quarkus-run.jar"):  # fmt: skip
            assert part in commands, f"the demo runs no {part}: {sorted(set(seen.values()))}"
        assert len(ports) >= 11, f"listening ports of the demo: {sorted(ports)}"

        proc.send_signal(signal.SIGINT)
        assert proc.wait(180) == 0, out.text()[-3000:]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(30)
        out.join()
    text = out.text()
    assert re.search(rf"^{re.escape(LAGGING_GROUP)} +Empty +0 +[\d,]+", text, re.MULTILINE), text
    assert "alerts firing" in text and "stopped" in out.lines[-1], text[-2000:]
    assert "Traceback" not in text
    still = {pid: cmd for pid, cmd in seen.items() if pid_alive(pid) and command(pid) == cmd}
    assert not still, f"the demo left processes running: {still}"
    busy = sorted(p for p in ports if port_open(p))
    assert not busy, f"ports of the demo still listening: {busy}"


def test_demo_says_what_is_missing(tmp_path: Path) -> None:
    """Without Prometheus and Alertmanager on PATH: one line each, exit 1, nothing started."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("java", "mvn", "setpriv"):
        found = subprocess.run(["which", tool], capture_output=True, text=True, check=False)
        if found.stdout.strip():
            (bin_dir / tool).symlink_to(found.stdout.strip())
    env = {**os.environ, "PATH": str(bin_dir)}
    result = subprocess.run(
        [*DEMO, "--no-tty"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1, result
    assert "'prometheus' not found" in result.stderr, result.stderr
    assert "'prometheus-alertmanager' not found" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and "starting" not in result.stdout
