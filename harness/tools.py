"""Kafka's own Java tools, run from the cached jars: consumers, load and consumer-groups.

Long-running clients (console consumer, consumer and producer performance tools) start with JMX on
and come back as a `JavaClient` handle that can be paused, resumed and stopped. The consumer-groups
tool runs to completion and its `--describe` output is parsed into `GroupOffsetRow`s, the reference
that exporter lag is compared with.
"""

from __future__ import annotations

import atexit
import itertools
import logging
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from harness import jars
from harness.procs import HarnessError, Managed, free_ports, spawn, tail

log = logging.getLogger(__name__)

GROUP_COMMAND = "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand"
CONSOLE_CONSUMER = "org.apache.kafka.tools.consumer.ConsoleConsumer"
PRODUCER_PERF = "org.apache.kafka.tools.ProducerPerformance"
NOOP_FORMATTER = "org.apache.kafka.tools.consumer.NoOpMessageFormatter"

_counter = itertools.count(1)
_work_dir: Path | None = None


def work_dir() -> Path:
    """A directory for client configs and outputs, removed when Python exits."""
    global _work_dir
    if _work_dir is None:
        _work_dir = Path(tempfile.mkdtemp(prefix="kafka-vitals-clients-"))
        atexit.register(shutil.rmtree, _work_dir, True)
    return _work_dir


# ---- long-running clients --------------------------------------------------------------------


@dataclass(eq=False, slots=True)
class JavaClient:
    """A Kafka Java client process started by the harness."""

    name: str
    process: Managed
    output_path: Path
    jmx_port: int | None
    group: str | None = None
    client_id: str | None = None

    @property
    def jmx_url(self) -> str:
        if self.jmx_port is None:
            raise HarnessError(f"{self.name} was started without JMX")
        return jars.jmx_url(self.jmx_port)

    @property
    def alive(self) -> bool:
        return self.process.alive()

    def output(self) -> str:
        return self.output_path.read_text(errors="replace")

    def stop(self, timeout: float = 30.0) -> None:
        self.process.stop(timeout)

    def kill(self) -> None:
        self.process.resume()
        self.process.kill()

    def pause(self) -> None:
        self.process.pause()

    def resume(self) -> None:
        self.process.resume()

    def wait(self, timeout: float) -> int:
        """Wait for the client to exit on its own; return its exit code."""
        self.process.wait(timeout)
        assert self.process.popen is not None
        return int(self.process.popen.returncode)


def _properties_file(name: str, props: Mapping[str, str]) -> Path:
    path = work_dir() / f"{name}.properties"
    path.write_text("".join(f"{k}={v}\n" for k, v in props.items()))
    return path


def _consumer_config(client_id: str, properties: Mapping[str, str] | None) -> Path:
    props = {"client.id": client_id, **(properties or {})}
    return _properties_file(f"consumer-{next(_counter)}", props)


def _start(
    kind: str, main_class: str, args: list[str], jmx: bool, heap: tuple[str, str] = ("64m", "256m")
) -> tuple[str, Managed, Path, int | None]:
    name = f"{kind}-{next(_counter)}"
    jmx_port = free_ports(1)[0] if jmx else None
    out = work_dir() / f"{name}.out"
    cmd = jars.java_command(
        main_class, args, log_file=work_dir() / f"{name}.log", jmx_port=jmx_port, heap=heap
    )
    proc = spawn(name, cmd, log_path=out, ports=(jmx_port,) if jmx_port else ())
    return name, proc, out, jmx_port


def start_console_consumer(
    bootstrap: str,
    topic: str,
    group: str,
    client_id: str | None = None,
    *,
    properties: Mapping[str, str] | None = None,
    from_beginning: bool = True,
    max_messages: int | None = None,
    print_messages: bool = False,
    jmx: bool = True,
) -> JavaClient:
    """Start Kafka's console consumer in `group`; it runs until stopped (or `max_messages`).

    Messages are printed to the output file only with `print_messages`. Extra consumer
    `properties` (e.g. max.poll.records) go into its config file.
    """
    client_id = client_id or f"{group}-client"
    config = _consumer_config(client_id, properties)
    args = ["--bootstrap-server", bootstrap, "--topic", topic, "--group", group,
            "--consumer.config", str(config)]  # fmt: skip
    if from_beginning:
        args.append("--from-beginning")
    if max_messages is not None:
        args += ["--max-messages", str(max_messages)]
    if not print_messages:
        args += ["--formatter", NOOP_FORMATTER]
    name, proc, out, port = _start("console-consumer", CONSOLE_CONSUMER, args, jmx)
    return JavaClient(name, proc, out, port, group, client_id)


@dataclass(frozen=True, slots=True)
class ProducerPerfResult:
    records: int
    records_per_sec: float
    mb_per_sec: float
    avg_latency_ms: float
    max_latency_ms: float


_PERF_SUMMARY = re.compile(
    r"^(?P<records>\d+) records sent, (?P<rps>[\d.]+) records/sec \((?P<mbps>[\d.]+) MB/sec\), "
    r"(?P<avg>[\d.]+) ms avg latency, (?P<max>[\d.]+) ms max latency",
    re.MULTILINE,
)


def parse_producer_perf(output: str) -> ProducerPerfResult:
    """The final summary line of ProducerPerformance (the one with percentiles)."""
    finals = [m for m in _PERF_SUMMARY.finditer(output) if "50th" in output[m.end() : m.end() + 80]]
    if not finals:
        raise HarnessError(f"no summary line in producer performance output:\n{output[-2000:]}")
    m = finals[-1]
    return ProducerPerfResult(
        int(m["records"]), float(m["rps"]), float(m["mbps"]), float(m["avg"]), float(m["max"])
    )


def start_producer_perf(
    bootstrap: str,
    topic: str,
    num_records: int,
    *,
    throughput: int = -1,
    record_size: int = 100,
    properties: Mapping[str, str] | None = None,
    jmx: bool = False,
) -> JavaClient:
    """Start ProducerPerformance in the background: `num_records` at `throughput` records/s
    (-1: as fast as possible). `parse_producer_perf(client.output())` after it exits."""
    props = {"bootstrap.servers": bootstrap, "acks": "all", **(properties or {})}
    args = ["--topic", topic, "--num-records", str(num_records),
            "--throughput", str(throughput), "--record-size", str(record_size),
            "--producer-props", *(f"{k}={v}" for k, v in props.items())]  # fmt: skip
    name, proc, out, port = _start("producer-perf", PRODUCER_PERF, args, jmx)
    return JavaClient(name, proc, out, port)


def run_producer_perf(
    bootstrap: str,
    topic: str,
    num_records: int,
    *,
    throughput: int = -1,
    record_size: int = 100,
    properties: Mapping[str, str] | None = None,
    timeout: float = 300.0,
) -> ProducerPerfResult:
    """Run ProducerPerformance to completion and return its summary."""
    client = start_producer_perf(
        bootstrap, topic, num_records, throughput=throughput, record_size=record_size,
        properties=properties,
    )  # fmt: skip
    try:
        code = client.wait(timeout)
    except HarnessError:
        client.kill()
        raise
    if code != 0:
        raise HarnessError(f"producer performance exited with {code}:\n{tail(client.output_path)}")
    return parse_producer_perf(client.output())


# ---- consumer-groups tool --------------------------------------------------------------------


def run_tool(main_class: str, args: list[str], timeout: float = 120.0) -> str:
    """Run a Kafka tool to completion; return stdout, or raise HarnessError with its output."""
    short = main_class.rsplit(".", 1)[-1]
    cmd = jars.java_command(main_class, args, log_file=work_dir() / f"{short}.log")
    try:
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise HarnessError(f"{short} {' '.join(args)} did not finish in {timeout:.0f}s") from exc
    # the tool prints "Error: ..." (and a stack trace) yet may exit with 0
    errors = [ln for ln in result.stdout.splitlines() if ln.startswith("Error:")]
    if result.returncode != 0 or errors:
        detail = errors[0] if errors else (result.stdout + result.stderr).strip()[-1500:]
        raise HarnessError(f"{short} {' '.join(args)} failed (exit {result.returncode}): {detail}")
    return result.stdout


@dataclass(frozen=True, slots=True)
class GroupOffsetRow:
    """One row of `kafka-consumer-groups --describe` ('-' becomes None)."""

    group: str
    topic: str
    partition: int
    current_offset: int | None
    log_end_offset: int | None
    lag: int | None
    consumer_id: str | None
    host: str | None
    client_id: str | None


_DESCRIBE_COLUMNS = ("GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG",
                     "CONSUMER-ID", "HOST", "CLIENT-ID")  # fmt: skip


def _opt_int(text: str) -> int | None:
    return None if text == "-" else int(text)


def _opt_str(text: str) -> str | None:
    return None if text in ("-", "") else text


def parse_group_describe(output: str) -> list[GroupOffsetRow]:
    """Parse the offsets table(s) printed by `--describe` (one or several groups).

    Columns are cut at the positions of the header words, so values with spaces survive.
    Positions count UTF-16 code units, as Java pads its columns: a character outside the Basic
    Multilingual Plane (an emoji in a group id) takes two.
    """
    rows: list[GroupOffsetRow] = []
    starts: list[int] | None = None
    for line in output.splitlines():
        words = line.split()
        if words[:2] == ["GROUP", "TOPIC"]:
            if words != list(_DESCRIBE_COLUMNS):
                raise HarnessError(f"unexpected consumer-groups header: {line!r}")
            starts = []
            for col in _DESCRIBE_COLUMNS:
                starts.append(line.index(col, starts[-1] if starts else 0))
            continue
        if not words:  # a blank line ends a table
            starts = None
        if starts is None or not words:
            continue
        units = line.encode("utf-16-le", "surrogatepass")
        bounds = [*(2 * b for b in starts[1:]), None]
        cells = [
            units[2 * a : b].decode("utf-16-le", "surrogatepass").strip()
            for a, b in zip(starts, bounds, strict=True)
        ]
        try:
            rows.append(
                GroupOffsetRow(
                    group=cells[0],
                    topic=cells[1],
                    partition=int(cells[2]),
                    current_offset=_opt_int(cells[3]),
                    log_end_offset=_opt_int(cells[4]),
                    lag=_opt_int(cells[5]),
                    consumer_id=_opt_str(cells[6]),
                    host=_opt_str(cells[7]),
                    client_id=_opt_str(cells[8]),
                )
            )
        except ValueError as exc:
            raise HarnessError(f"unparsable consumer-groups row: {line!r}") from exc
    return rows


def describe_group(bootstrap: str, group: str | None = None) -> list[GroupOffsetRow]:
    """`--describe --group G` (or `--all-groups` when group is None), parsed into rows."""
    target = ["--group", group] if group is not None else ["--all-groups"]
    out = run_tool(GROUP_COMMAND, ["--bootstrap-server", bootstrap, "--describe", *target])
    return parse_group_describe(out)


def delete_group(bootstrap: str, group: str) -> None:
    """`--delete --group G` (the group must be empty)."""
    run_tool(GROUP_COMMAND, ["--bootstrap-server", bootstrap, "--delete", "--group", group])


def reset_offsets(
    bootstrap: str, group: str, topic: str, *, to_offset: int | None = None
) -> dict[int, int]:
    """`--reset-offsets --execute` to the earliest offset, or to `to_offset`; returns the new
    offset per partition as printed by the tool."""
    how = ["--to-earliest"] if to_offset is None else ["--to-offset", str(to_offset)]
    out = run_tool(
        GROUP_COMMAND,
        ["--bootstrap-server", bootstrap, "--reset-offsets", "--group", group, "--topic", topic,
         *how, "--execute"],
    )  # fmt: skip
    result: dict[int, int] = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[1] == topic and parts[2].isdigit():
            result[int(parts[2])] = int(parts[3])
    if not result:
        raise HarnessError(f"reset-offsets printed no partitions for {group!r}/{topic!r}: {out!r}")
    return result
