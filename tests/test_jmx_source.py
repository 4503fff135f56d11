"""The JMX source's process handling, with a stand-in `java` executable (a real process).

The stand-in reads the argument file exactly as the real launcher would and behaves by the target
URL: answer, hang, print garbage, or exit with an error. These tests cover deadlines, killing,
concurrency, the argument file that keeps passwords off the command line, and target config.
Real JVMs and brokers are in test_jmx_kafka.py.
"""

from __future__ import annotations

import json
import os
import stat
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from exporter.config import JmxConfig, JmxTarget, Secret
from exporter.sources.admin_model import Broker, ClusterView
from exporter.sources.jmx import (
    JAR_PATH,
    JmxSource,
    argfile_text,
    config_problems,
    default_name,
    service_url,
)

FAKE_JAVA = textwrap.dedent(
    """\
    #!{python}
    import json, os, sys, time
    argfile = [a for a in sys.argv[1:] if a.startswith("@")][-1][1:]
    text = open(argfile, encoding="utf-8").read()
    args = []
    for line in text.splitlines():
        body = line[1:-1]
        out, i = [], 0
        while i < len(body):
            if body[i] == "\\\\":
                out.append({{"n": "\\n", "r": "\\r"}}.get(body[i + 1], body[i + 1])); i += 2
            else:
                out.append(body[i]); i += 1
        args.append("".join(out))
    url = args[args.index("-url") + 1]
    log = os.environ.get("FAKE_JAVA_LOG")
    if log:
        with open(log, "a") as fh:
            fh.write(json.dumps({{"argv": sys.argv, "args": args, "pid": os.getpid(),
                                 "nice": os.nice(0)}}) + "\\n")
    if "hang" in url:
        time.sleep(120)
    elif "garbage" in url:
        print("{{{{not json at all")
    elif "refused" in url:
        print('{{ "error": "connection-error", "message":"java.net.ConnectException: '
              'Connection refused"}}')
        sys.exit(2)
    elif "parts" in url:  # a broker holding the number of partitions after "parts"
        held = url.split("parts")[1].split(":")[0]
        print('[{{"mBeanName" : "kafka.server:type=ReplicaManager,name=PartitionCount", '
              '"attribute" : "Value", "attributeType" : "Integer", "value" : ' + held + '}}]')
    elif "crash" in url:
        sys.stderr.write("Error: Could not create the Java Virtual Machine.\\n")
        sys.exit(1)
    else:
        print("[")
        print('{{"mBeanName" : "kafka.server:type=ReplicaManager,name=UnderReplicatedPartitions", '
              '"attribute" : "Value", "attributeType" : "Integer", "value" : 7}}]')
    """
)


@pytest.fixture
def fake_java(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, Path]:
    path = tmp_path / "java"
    path.write_text(FAKE_JAVA.format(python=sys.executable))
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    log = tmp_path / "calls.jsonl"
    monkeypatch.setenv("FAKE_JAVA_LOG", str(log))
    return str(path), log


def calls(log: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in log.read_text().splitlines()] if log.exists() else []


def url(host: str) -> str:
    return f"service:jmx:rmi:///jndi/rmi://{host}:9999/jmxrmi"


def source(java: str, *targets: JmxTarget, **kw: object) -> JmxSource:
    return JmxSource(JmxConfig(targets=targets, java=java, **kw))  # type: ignore[arg-type]


def test_one_poll_runs_one_jvm_per_target_with_every_query(fake_java: tuple[str, Path]) -> None:
    java, log = fake_java
    src = source(java, JmxTarget(url=url("ok"), role="broker", name="b1"))
    results = src.poll(timeout=30)
    r = results["b1"]
    assert r.ok, r.detail
    assert [(v.key("name"), v.value) for v in r.values] == [("UnderReplicatedPartitions", 7.0)]
    (call,) = calls(log)
    args = call["args"]
    assert isinstance(args, list)
    assert args[:2] == ["-jar", str(JAR_PATH)]
    query = args[args.index("-q") + 1]
    assert query.count(";") > 20  # every broker query in one call
    assert r.errors_total == {}


@pytest.mark.parametrize("niceness", [0, 7, 30])
def test_the_query_jvm_runs_at_lower_cpu_priority(
    fake_java: tuple[str, Path], niceness: int
) -> None:
    java, log = fake_java
    src = source(java, JmxTarget(url=url("ok"), role="broker", name="b1"), niceness=niceness)
    assert src.poll(timeout=30)["b1"].ok
    assert [c["nice"] for c in calls(log)] == [min(19, os.nice(0) + niceness)]


def test_password_goes_in_the_argument_file_never_on_the_command_line(
    fake_java: tuple[str, Path], tmp_path: Path
) -> None:
    java, log = fake_java
    secret = 'p"a\\ss w#rd\n2'
    src = source(
        java,
        JmxTarget(url=url("ok"), role="broker", name="b", username="mon", password=Secret(secret)),
    )
    assert src.poll(timeout=30)["b"].ok
    (call,) = calls(log)
    argv, args = call["argv"], call["args"]
    assert isinstance(argv, list) and isinstance(args, list)
    assert not any(secret in a or a == "mon" for a in argv)
    assert args[args.index("-u") + 1] == "mon"
    assert args[args.index("-p") + 1] == secret
    # the argument file is gone once the query ends
    argfile = Path(next(a for a in argv if a.startswith("@"))[1:])
    assert not argfile.exists()
    assert stat.S_IMODE(argfile.parent.stat().st_mode) == 0o700
    src.close()
    assert not argfile.parent.exists()


def test_password_file_is_read_at_each_poll(fake_java: tuple[str, Path], tmp_path: Path) -> None:
    java, log = fake_java
    pw = tmp_path / "pw"
    pw.write_text("first\n")
    src = source(
        java, JmxTarget(url=url("ok"), role="client", name="c", username="u", password_file=str(pw))
    )
    assert src.poll(timeout=30)["c"].ok
    pw.write_text("second\n")
    assert src.poll(timeout=30)["c"].ok
    got = [c["args"][c["args"].index("-p") + 1] for c in calls(log)]
    assert got == ["first", "second"]
    pw.unlink()
    r = src.poll(timeout=30)["c"]
    assert (r.ok, r.reason) == (False, "config")
    assert "first" not in r.detail and str(pw) in r.detail
    pw.write_bytes(b"\xff\xfe")
    r = src.poll(timeout=30)["c"]
    assert (r.ok, r.reason, r.errors_total) == (False, "config", {"config": 2})


def test_password_loaded_with_the_config_is_the_fallback_of_a_vanished_file(
    fake_java: tuple[str, Path], tmp_path: Path
) -> None:
    java, log = fake_java
    # the config loader reads `password_file` into `password` and keeps both
    target = JmxTarget(url=url("ok"), role="client", name="c", username="u",
                       password=Secret("loaded"), password_file=str(tmp_path / "gone"))  # fmt: skip
    assert source(java, target).poll(timeout=30)["c"].ok
    (call,) = calls(log)
    assert call["args"][call["args"].index("-p") + 1] == "loaded"


def test_hung_target_is_killed_at_its_deadline_and_others_stay_healthy(
    fake_java: tuple[str, Path],
) -> None:
    java, log = fake_java
    src = source(
        java,
        JmxTarget(url=url("hang"), role="broker", name="hung", timeout_seconds=2.0),
        JmxTarget(url=url("ok"), role="broker", name="fine"),
        JmxTarget(url=url("garbage"), role="client", name="junk"),
        JmxTarget(url=url("refused"), role="broker", name="closed"),
        JmxTarget(url=url("crash"), role="broker", name="nojvm"),
        max_concurrency=5,
    )
    started = time.monotonic()
    results = src.poll(timeout=30)
    elapsed = time.monotonic() - started
    assert elapsed < 10, f"poll took {elapsed:.1f}s with a 2 s target timeout"
    assert results["fine"].ok
    assert (results["hung"].ok, results["hung"].reason) == (False, "timeout")
    assert results["hung"].duration_seconds >= 2.0
    assert (results["junk"].ok, results["junk"].reason) == (False, "malformed")
    assert (results["closed"].ok, results["closed"].reason) == (False, "refused")
    assert (results["nojvm"].ok, results["nojvm"].reason) == (False, "java")
    # the hung process is dead, not left behind
    hung_pid = next(c["pid"] for c in calls(log) if "hang" in str(c["args"]))
    assert isinstance(hung_pid, int)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _alive(hung_pid):
        time.sleep(0.05)
    assert not _alive(hung_pid)
    # errors accumulate per target and reason
    again = src.poll(timeout=30)
    assert again["junk"].errors_total == {"malformed": 2}
    assert again["fine"].errors_total == {}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    return state != "Z"


def test_poll_deadline_bounds_everything_even_when_the_pool_is_full(
    fake_java: tuple[str, Path],
) -> None:
    java, _ = fake_java
    src = source(
        java,
        *(JmxTarget(url=url(f"hang{i}"), role="broker", name=f"h{i}") for i in range(3)),
        max_concurrency=1,
    )
    started = time.monotonic()
    results = src.poll(timeout=2.0)
    assert time.monotonic() - started < 8
    assert {r.reason for r in results.values()} == {"timeout"}
    assert not any(r.ok for r in results.values())


def test_missing_java_is_reason_java() -> None:
    src = source("/nonexistent/java", JmxTarget(url=url("ok"), role="broker", name="b"))
    r = src.poll(timeout=10)["b"]
    assert (r.ok, r.reason) == (False, "java")
    assert "/nonexistent/java" in r.detail


def test_argfile_text_quotes_every_argument() -> None:
    assert argfile_text(["a b", 'q"', "back\\slash", "nl\nx"]) == (
        '"a b"\n"q\\""\n"back\\\\slash"\n"nl\\nx"\n'
    )


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("kafka-0.kafka:9999", "service:jmx:rmi:///jndi/rmi://kafka-0.kafka:9999/jmxrmi"),
        ("[::1]:7071", "service:jmx:rmi:///jndi/rmi://[::1]:7071/jmxrmi"),
        (url("x"), url("x")),
    ],
)
def test_service_url(given: str, expected: str) -> None:
    assert service_url(given) == expected


@pytest.mark.parametrize("bad", ["", "host", "host:port", "http://x:1", "a b:1"])
def test_service_url_rejects(bad: str) -> None:
    with pytest.raises(ValueError):
        service_url(bad)


def test_default_name_is_host_port() -> None:
    assert default_name(url("kafka-1")) == "kafka-1:9999"
    assert default_name("service:jmx:jmxmp://x") == "service:jmx:jmxmp://x"


def test_config_problems_name_each_key() -> None:
    cfg = JmxConfig(
        targets=(
            JmxTarget(url="nope", role="broker"),
            JmxTarget(url="a:1", role="server"),  # type: ignore[arg-type]
            JmxTarget(url="a:1", role="broker", timeout_seconds=0),
            JmxTarget(url="b:1", role="broker", password=Secret("x")),
        ),
        max_concurrency=0,
        discover_brokers_port=70000,
        partition_mbeans_max_partitions=-1,
    )
    problems = config_problems(cfg)
    text = "\n".join(f"{path}: {message}" for path, message in problems)
    assert "jmx.targets[0].url" in text
    assert "jmx.targets[1].role" in text
    assert "jmx.targets[2].timeout_seconds" in text
    assert "jmx.targets[2].name: 'a:1' is already used by jmx.targets[1]" in text
    assert "jmx.targets[3].username" in text
    assert "jmx.max_concurrency" in text
    assert "jmx.discover_brokers_port" in text
    assert "jmx.partition_mbeans_max_partitions: must be 0 (no limit) or more, got -1" in text
    with pytest.raises(ValueError, match=r"jmx\.targets\[0\]\.url"):
        JmxSource(cfg)
    assert config_problems(JmxConfig()) == []


def test_discovered_brokers_join_the_configured_targets_and_survive_an_admin_outage() -> None:
    src = JmxSource(
        JmxConfig(
            targets=(JmxTarget(url="k1:7071", role="broker", name="k1"),),
            discover_brokers_port=7071,
        )
    )
    view = ClusterView(
        taken_at=0.0,
        brokers=(Broker(1, "k1", 9092), Broker(2, "k2", 9092), Broker(3, "k3", 9092)),
    )
    names = [t.name for t in src.targets(view)]
    assert names == ["k1", "k2:7071", "k3:7071"]  # k1 is configured already: not twice
    assert all(t.role == "broker" for t in src.targets(view))
    assert [t.name for t in src.targets(ClusterView(taken_at=1.0))] == names
    assert [t.name for t in src.targets(None)] == names
    smaller = ClusterView(taken_at=2.0, brokers=(Broker(2, "k2", 9092),))
    assert [t.name for t in src.targets(smaller)] == ["k1", "k2:7071"]


@pytest.mark.parametrize(
    "jmx_yaml",
    [
        "discover_brokers_port: 70000",
        "discover_timeout_seconds: 0",
        "max_concurrency: 0",
        "targets: [{url: 'a:1', role: broker, password: x}]",
        "targets: [{url: 'a:1', role: broker}, "
        "{url: 'service:jmx:rmi:///jndi/rmi://a:1/jmxrmi', role: client}]",
        "targets: [{url: 'nope', role: broker}]",
        "targets: [{url: 'a:1', role: broker, timeout_seconds: 0}]",
    ],
)
def test_config_loader_rejects_what_the_source_would_refuse(jmx_yaml: str, tmp_path: Path) -> None:
    """A config the JMX source cannot take never gets past loading (no traceback at start)."""
    from exporter.configure import ConfigError, load_config

    path = tmp_path / "config.yaml"
    path.write_text(f"kafka: {{bootstrap_servers: '127.0.0.1:9092'}}\njmx: {{{jmx_yaml}}}\n")
    with pytest.raises(ConfigError) as err:
        load_config(str(path))
    assert any(p.startswith("jmx.") for p in err.value.problems), err.value.problems


def _reads_partitions(call: dict[str, Any]) -> bool:
    args = call["args"]
    return "kafka.log:type=Log,name=Size" in args[args.index("-q") + 1]


def test_per_partition_mbeans_stop_once_a_broker_holds_more_than_the_limit(
    fake_java: tuple[str, Path],
) -> None:
    java, log = fake_java
    small = JmxTarget(url=url("parts10"), role="broker", name="small")
    large = JmxTarget(url=url("parts5000"), role="broker", name="large")
    src = source(java, small, large, partition_mbeans_max_partitions=600)
    for _ in range(2):
        src.poll(timeout=30)
    by_target: dict[str, list[bool]] = {}
    for call in calls(log):
        name = "small" if "parts10:" in " ".join(call["args"]) else "large"
        by_target.setdefault(name, []).append(_reads_partitions(call))
    # unknown at the first poll: read; then only where the broker holds at most the limit
    assert by_target == {"small": [True, True], "large": [True, False]}
    assert src.reads_partition_mbeans("small") and not src.reads_partition_mbeans("large")
    # no limit, or switched off
    assert source(java, large, partition_mbeans_max_partitions=0).reads_partition_mbeans("large")
    assert not source(java, small, partition_mbeans=False).reads_partition_mbeans("small")


def test_a_first_broker_poll_that_times_out_stops_the_per_partition_mbeans(
    fake_java: tuple[str, Path],
) -> None:
    java, _ = fake_java
    hung = JmxTarget(url=url("hang"), role="broker", name="hung", timeout_seconds=1)
    src = source(java, hung)
    assert src.reads_partition_mbeans("hung")
    assert not src.poll(timeout=30)["hung"].ok
    assert not src.reads_partition_mbeans("hung")
