"""kafka-vitals against an authenticated, authorizing broker: SASL_SSL with SCRAM-SHA-512 (password
from the environment or from a file), mutual TLS with an encrypted client key, and the least
privilege documented in the README, applied with Kafka's own kafka-acls tool.

One 1-node cluster serves the module (harness.security): the harness helpers use its
PLAINTEXT super-user listener, kafka-vitals only ever the SASL_SSL and SSL listeners, as
principals holding nothing but the ACLs from the README.
"""

from __future__ import annotations

import re
import shlex
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, Producer

from exporter.config import KafkaConfig, Secret
from harness import clients, jars
from harness.procs import HarnessError, wait_for
from harness.security import TLS_CLIENT_CN, Pki, ScramUser, SecureCluster, make_pki
from harness.tools import run_tool
from tests.exporter_probe import Exporter, Scrape

pytestmark = pytest.mark.kafka

ROOT = Path(__file__).resolve().parents[1]
ACL_COMMAND = "org.apache.kafka.tools.AclCommand"
TOPIC, GROUP = "orders", "billing"
LIVE_GROUPS = {"live-classic": "classic", "live-next": "consumer"}
README_PRINCIPAL = "User:kafka-vitals"
MINIMUM_ACLS = [("GROUP", "*", "DESCRIBE"), ("TOPIC", "*", "DESCRIBE"),
                ("TOPIC", "*", "DESCRIBE_CONFIGS")]  # fmt: skip


@dataclass
class Secure:
    cluster: SecureCluster
    pki: Pki
    sasl_user: ScramUser
    readme_user: ScramUser


def readme_acl_commands() -> list[list[str]]:
    """The kafka-acls commands of the README's "Least privilege" section, as argument lists."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## Least privilege", 1)[1].split("\n## ", 1)[0]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    return [shlex.split(cmd) for cmd in block.replace("\\\n", " ").splitlines() if cmd.strip()]


def apply_readme_acls(bootstrap: str) -> None:
    for argv in readme_acl_commands():
        assert argv[0] == "kafka-acls.sh", argv
        args = argv[1:]
        for flag in ("--bootstrap-server", "--command-config"):
            i = args.index(flag)
            del args[i : i + 2]
        run_tool(ACL_COMMAND, ["--bootstrap-server", bootstrap, *args])


def _live_consumer(bootstrap: str, group: str, protocol: str) -> Consumer:
    conf: dict[str, Any] = {
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
    }
    if protocol == "consumer":
        conf["group.protocol"] = "consumer"
    consumer = Consumer(conf)
    consumer.subscribe([TOPIC])

    def assigned() -> bool:
        consumer.poll(0.5)
        return bool(consumer.assignment())

    wait_for(assigned, 60, f"consumer of group {group!r} to get partitions", interval=0.1)
    return consumer


@pytest.fixture(scope="module")
def secure(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Secure]:
    try:
        jars.java()
        jars.fetch()
        pki = make_pki(tmp_path_factory.mktemp("pki"))
        cluster = SecureCluster(pki, authorizer=True).up()
    except HarnessError as exc:
        pytest.fail(f"cannot start an authenticated Kafka: {exc}", pytrace=False)
    consumers: list[Consumer] = []
    try:
        admin = cluster.admin_bootstrap
        clients.create_topic(admin, TOPIC, partitions=2)
        for partition in (0, 1):
            clients.produce_messages(admin, TOPIC, 10, partition=partition)
        clients.commit_offsets(admin, GROUP, {(TOPIC, 0): 3, (TOPIC, 1): 5})
        consumers = [_live_consumer(admin, g, p) for g, p in LIVE_GROUPS.items()]
        sasl_user = cluster.add_scram_user("vitals-sasl")
        readme_user = cluster.add_scram_user("kafka-vitals")
        for principal in (f"User:{sasl_user.name}", f"User:{TLS_CLIENT_CN}"):
            cluster.allow(principal, MINIMUM_ACLS)
        apply_readme_acls(admin)
        yield Secure(cluster, pki, sasl_user, readme_user)
    finally:
        for consumer in consumers:
            consumer.close()
        cluster.down()


def exporter_config(bootstrap: str, **kafka: Any) -> dict[str, Any]:
    return {
        "kafka": {"bootstrap_servers": bootstrap, "request_timeout_seconds": 5, **kafka},
        "poll": {"interval_seconds": 2, "stage_timeout_seconds": 8},
        "log": {"level": "debug"},
    }


def sasl_config(secure: Secure, user: ScramUser, **extra: Any) -> dict[str, Any]:
    return exporter_config(
        secure.cluster.sasl_bootstrap, security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-512", sasl_username=user.name,
        tls_ca_file=str(secure.pki.ca_cert), **extra,
    )  # fmt: skip


def scram_kafka(secure: Secure, name: str, user: ScramUser) -> KafkaConfig:
    """The exporter's Kafka settings for SCRAM user `name` over SASL_SSL, 5 s requests."""
    return KafkaConfig(
        bootstrap_servers=secure.cluster.sasl_bootstrap, security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-512", sasl_username=name, sasl_password=Secret(user.password),
        tls_ca_file=str(secure.pki.ca_cert), request_timeout_seconds=5,
    )  # fmt: skip


def healthy(s: Scrape) -> bool:
    lag = [s.value("kafka_consumergroup_lag", consumergroup=GROUP, topic=TOPIC, partition=p)
           for p in ("0", "1")]  # fmt: skip
    return s.up() == 1 and lag == [7, 5]


def assert_full_view(s: Scrape) -> None:
    assert s.up() == 1
    assert not any(s.errors().values()), s.errors()
    assert s.value("kafka_topic_min_insync_replicas", topic=TOPIC) == 1
    assert s.value("kafka_topic_partitions", topic=TOPIC) == 2
    groups = {x.labels["consumergroup"]: x.labels["type"] for x in s.samples
              if x.name == "kafka_consumergroup_info"}  # fmt: skip
    assert groups == {GROUP: "classic", **LIVE_GROUPS}
    for group in LIVE_GROUPS:
        assert s.value("kafka_consumergroup_members", consumergroup=group) == 1


def run_exporter(tmp_path: Path, config: dict[str, Any], env: dict[str, str] | None,
                 secret: str) -> Scrape:  # fmt: skip
    exporter = Exporter(tmp_path, config, env)
    try:
        scrape = exporter.wait_scrape("up=1 and the lag of every partition", healthy, 120)
        assert_full_view(scrape)
        assert secret not in exporter.cmdline()
    finally:
        exporter.stop()
    assert secret not in exporter.output()
    assert secret not in exporter.config_path.read_text()
    return scrape


def newer_than(taken: float | None) -> Callable[[Scrape], bool]:
    return lambda s: (s.value("kafka_vitals_last_poll_timestamp_seconds") or 0) > (taken or 0)


def test_sasl_scram_password_from_the_environment(secure: Secure, tmp_path: Path) -> None:
    user = secure.sasl_user
    env = {"KAFKA_VITALS_KAFKA_SASL_PASSWORD": user.password}
    run_exporter(tmp_path, sasl_config(secure, user), env, user.password)


def test_sasl_scram_password_from_a_file(secure: Secure, tmp_path: Path) -> None:
    user = secure.sasl_user
    password_file = tmp_path / "sasl-password"
    password_file.write_text(user.password + "\n")
    config = sasl_config(secure, user, sasl_password_file=str(password_file))
    run_exporter(tmp_path, config, None, user.password)


def test_mutual_tls_with_an_encrypted_client_key(secure: Secure, tmp_path: Path) -> None:
    pki = secure.pki
    config = exporter_config(
        secure.cluster.ssl_bootstrap, security_protocol="SSL", tls_ca_file=str(pki.ca_cert),
        tls_cert_file=str(pki.client_cert), tls_key_file=str(pki.client_key),
        tls_key_password_file=str(pki.client_key_password_file),
    )  # fmt: skip
    run_exporter(tmp_path, config, None, pki.client_key_password)
    assert secure.cluster.denied(f"User:{TLS_CLIENT_CN}") == []


def test_least_privilege_from_the_readme_is_enough_and_nothing_is_denied(
    secure: Secure, tmp_path: Path
) -> None:
    cluster = secure.cluster
    assert cluster.acls(README_PRINCIPAL) == MINIMUM_ACLS  # exactly what the README grants
    user = secure.readme_user
    password_file = tmp_path / "sasl-password"
    password_file.write_text(user.password)
    exporter = Exporter(tmp_path, sasl_config(secure, user, sasl_password_file=str(password_file)))
    try:
        first = exporter.wait_scrape("up=1 and the lag of every partition", healthy, 120)
        taken = first.value("kafka_vitals_last_poll_timestamp_seconds")
        # two more full cycles after the first healthy one
        for _ in range(2):
            last = exporter.wait_scrape("the next poll cycle", newer_than(taken), 30)
            taken = last.value("kafka_vitals_last_poll_timestamp_seconds")
            assert_full_view(last)
    finally:
        exporter.stop()
    time.sleep(1.0)  # the broker's log is written asynchronously
    assert cluster.denied(README_PRINCIPAL) == []

    # the check can see a denial: the same principal trying to write is refused and logged
    producer = Producer({**cluster.sasl_properties(user), "message.timeout.ms": 10000})
    errors: list[str] = []
    producer.produce(TOPIC, b"x", on_delivery=lambda err, _m: errors.append(str(err)))
    producer.flush(20)
    assert errors and "authoriz" in errors[0].lower(), errors
    denied = wait_for(lambda: cluster.denied(README_PRINCIPAL), 30, "the denied write in the log")
    assert any(re.search(r"operation = WRITE .* Topic:LITERAL:orders", ln) for ln in denied), denied


@pytest.mark.parametrize("missing", MINIMUM_ACLS, ids=lambda a: f"{a[0]}-{a[2]}")
def test_each_acl_of_the_minimum_is_needed(secure: Secure, missing: tuple[str, str, str]) -> None:
    """Without any one of the three grants the view is incomplete: the minimum is exact."""
    from exporter.catalog import admin, own
    from exporter.config import Config, PollConfig
    from exporter.poller import Poller

    cluster = secure.cluster
    name = f"probe-{missing[0]}-{missing[2]}".lower()
    user = cluster.add_scram_user(name)
    cluster.allow(f"User:{name}", [a for a in MINIMUM_ACLS if a != missing])
    kafka = scram_kafka(secure, name, user)
    config = Config(kafka=kafka, poll=PollConfig(stage_timeout_seconds=8))

    def incomplete() -> tuple[str, ...]:
        poller = Poller(config)
        try:
            snap = poller.poll_once()
            failed = tuple(s.stage for s in poller.last_stages if not s.ok)
        finally:
            poller.stop()
        assert snap.value(own.UP, "admin", "") == 1  # authenticated and answering
        missing_topic = snap.value(admin.TOPIC_PARTITIONS, TOPIC) is None
        missing_lag = snap.value(admin.GROUP_LAG, GROUP, TOPIC, "0") is None
        return (
            failed
            + (("topic hidden",) if missing_topic else ())
            + (("lag missing",) if missing_lag else ())
        )

    found = wait_for(incomplete, 30, f"an incomplete view without {missing}", interval=1)
    assert found


def polled_with_and_without_read(
    secure: Secure, prefix: str, make: Callable[[Any], Any], reads: Any
) -> dict[str, tuple[Any, list[str]]]:
    """Two principals, `<prefix>-read` (the minimum and Read on topics) and `<prefix>-no-read`
    (the minimum alone), each polled with `make(KafkaConfig)` until the counter `reads` has a
    found or a denied read: by name, that snapshot and the stages that failed in its cycle."""
    from exporter.poller import Poller

    cluster = secure.cluster
    results = {}
    for name, grants in ((f"{prefix}-read", [*MINIMUM_ACLS, ("TOPIC", "*", "READ")]),
                         (f"{prefix}-no-read", MINIMUM_ACLS)):  # fmt: skip
        user = cluster.add_scram_user(name)
        cluster.allow(f"User:{name}", grants)
        kafka = scram_kafka(secure, name, user)
        poller = Poller(make(kafka))

        def read_once(p: Any = poller) -> Any:
            s = p.poll_once()
            return s if s.value(reads, "found") or s.value(reads, "denied") else None

        try:
            snap = wait_for(read_once, 60, f"a message read by {name}", interval=1)
            failed = [s.stage for s in poller.last_stages if not s.ok]
        finally:
            poller.stop()
        results[name] = (snap, failed)
    return results


def test_exact_lag_seconds_needs_read_and_falls_back_without_it(secure: Secure) -> None:
    """`poll.lag_seconds_mode: exact` reads the message at each lagging committed offset: with
    Read on topics added to the minimum nothing is denied and the lag in seconds is exact; with
    the minimum alone the read is denied, said in kafka_vitals_message_reads_total, and the lag
    in seconds falls back to interpolation without failing the cycle."""
    from exporter.catalog import admin, own
    from exporter.config import Config, PollConfig

    cluster = secure.cluster
    results = polled_with_and_without_read(
        secure, "exact", lambda k: Config(kafka=k, poll=PollConfig(lag_seconds_mode="exact")),
        own.MESSAGE_READS,
    )  # fmt: skip
    time.sleep(1.0)  # the broker's log is written asynchronously

    snap, failed = results["exact-read"]
    assert failed == [] and cluster.denied("User:exact-read") == []
    assert snap.value(own.MESSAGE_READS, "denied") == 0
    assert (snap.value(own.LAG_SECONDS_METHOD, "exact") or 0) >= 2  # both partitions of GROUP
    snap, failed = results["exact-no-read"]
    assert failed == []  # a denied read never fails the cycle
    assert (snap.value(own.MESSAGE_READS, "denied") or 0) >= 1
    assert snap.value(own.LAG_SECONDS_METHOD, "exact") == 0
    assert (snap.value(own.LAG_SECONDS_METHOD, "interpolated") or 0) >= 2
    assert snap.value(admin.GROUP_LAG, GROUP, TOPIC, "0") == 7
    assert wait_for(lambda: cluster.denied("User:exact-no-read"), 30, "the denied read")


def test_payload_sampling_needs_read_and_skips_the_topic_without_it(secure: Secure) -> None:
    """`schema_registry.payload_sampling` reads the newest messages: with Read on topics the raw
    messages of TOPIC (`message-<i>`, 10 per partition) are all counted without the wire format;
    with the minimum alone the reads are denied, said in
    kafka_vitals_payload_sample_reads_total, no payload series is served, and no stage fails.
    Raw payloads need no schema id look-up: the registry URL points nowhere, and only the
    registry's own stage fails."""
    from exporter.catalog import registry as cat
    from exporter.config import Config, SchemaRegistryConfig
    from harness.procs import free_ports

    cluster = secure.cluster
    [dead] = free_ports(1)
    registry = SchemaRegistryConfig(url=f"http://127.0.0.1:{dead}", timeout_seconds=2,
                                    payload_sampling=True, payload_sample_messages=4)  # fmt: skip
    results = polled_with_and_without_read(
        secure, "sample", lambda k: Config(kafka=k, schema_registry=registry),
        cat.PAYLOAD_SAMPLE_READS,
    )  # fmt: skip

    snap, failed = results["sample-read"]
    assert failed == ["schema_registry"]
    assert snap.value(cat.PAYLOAD_SAMPLE_READS, "denied") == 0
    assert snap.value(cat.PAYLOAD_SAMPLED, TOPIC) == 8  # the newest 4 of each partition
    assert snap.value(cat.PAYLOAD_WITHOUT_WIRE_FORMAT, TOPIC) == 8
    assert snap.value(cat.PAYLOAD_UNKNOWN_SCHEMA_ID, TOPIC) == 0
    snap, failed = results["sample-no-read"]
    assert failed == ["schema_registry"]  # a denied read never fails the cycle
    assert (snap.value(cat.PAYLOAD_SAMPLE_READS, "denied") or 0) >= 1
    assert list(snap.samples(cat.PAYLOAD_SAMPLED)) == []
    assert wait_for(lambda: cluster.denied("User:sample-no-read"), 30, "the denied read")


# ---- secrets never show ------------------------------------------------------------------

WEB_USER = "prometheus"


def _descendants_cmdlines(pid: int) -> list[str]:
    """Command lines of `pid` and every process below it (the JMX query JVMs among them)."""
    out: list[str] = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if int(proc.name) == pid or int(stat[1]) == pid or int(stat[2]) == pid:
            out.append(cmdline)
    return out


def test_secrets_never_appear_in_output_pages_or_command_lines(
    secure: Secure, tmp_path: Path
) -> None:
    import base64

    import bcrypt
    import yaml

    from tests import cli_run

    pki, user = secure.pki, secure.sasl_user
    node = secure.cluster.cluster.nodes[0]
    jmx_secret, jmx_file_secret = "jmx-" + "a1" * 8, "jmxfile-" + "b2" * 8
    web_secret, wrong_web, wrong_sasl = "web-" + "c3" * 8, "wrongweb-" + "d4" * 8, "bad-" + "e5" * 8
    secrets = [user.password, pki.client_key_password, jmx_secret, jmx_file_secret, web_secret,
               wrong_web, wrong_sasl]  # fmt: skip
    files = tmp_path / "secrets"
    files.mkdir()
    (files / "sasl").write_text(user.password + "\n")
    (files / "jmx").write_text(jmx_file_secret)
    web = files / "web.yml"
    hashed = bcrypt.hashpw(web_secret.encode(), bcrypt.gensalt(4)).decode()
    web.write_text(yaml.safe_dump({
        "tls_server_config": {"cert_file": str(pki.web_cert), "key_file": str(pki.web_key)},
        "basic_auth_users": {WEB_USER: hashed},
    }))  # fmt: skip
    config = sasl_config(
        secure, user, tls_cert_file=str(pki.client_cert), tls_key_file=str(pki.client_key)
    )
    config["jmx"] = {"targets": [
        {"url": node.jmx_url, "role": "broker", "name": "broker-1", "username": "monitor",
         "password": jmx_secret, "timeout_seconds": 20},
        {"url": "127.0.0.1:9", "role": "broker", "name": "closed", "username": "monitor",
         "password_file": str(files / "jmx"), "timeout_seconds": 5},
    ]}  # fmt: skip
    config["web"] = {"config_file": str(web)}
    env = {"KAFKA_VITALS_KAFKA_SASL_PASSWORD": user.password,
           "KAFKA_VITALS_KAFKA_TLS_KEY_PASSWORD": pki.client_key_password}  # fmt: skip
    seen: list[str] = []  # everything printed and served

    exporter = Exporter(tmp_path, config, env, tls_ca=pki.ca_cert)
    try:
        import ssl
        import urllib.request

        ctx = ssl.create_default_context(cafile=str(pki.ca_cert))

        def fetch(path: str, password: str | None) -> tuple[int, str]:
            req = urllib.request.Request(f"https://127.0.0.1:{exporter.port}{path}")
            if password is not None:
                token = base64.b64encode(f"{WEB_USER}:{password}".encode()).decode()
                req.add_header("Authorization", f"Basic {token}")
            try:
                with urllib.request.urlopen(req, context=ctx, timeout=5) as resp:
                    return resp.status, resp.read().decode(errors="replace")
            except urllib.error.HTTPError as exc:
                return exc.code, exc.read().decode(errors="replace")

        def served_everything() -> Scrape | None:
            status, body = fetch("/metrics", web_secret)
            if status != 200:
                return None
            s = Scrape(body, 0.0)
            ok = s.up() == 1 and s.up("jmx", "broker-1") == 1 and s.up("jmx", "closed") == 0
            return s if ok else None

        wait_for(served_everything, 150, "admin and JMX up over TLS with basic auth", interval=1)
        for path in ("/metrics", "/", "/healthz", "/ready", "/nope"):
            for password in (web_secret, wrong_web, None):
                seen.append(fetch(path, password)[1])
        seen.append(exporter.cmdline())
        seen.extend(_descendants_cmdlines(exporter.process.pid))
    finally:
        exporter.stop()
    seen.append(exporter.output())
    assert "failed" in seen[-1]  # the closed JMX target logged its errors

    # check, with every secret from a file, then with a wrong SASL password from the environment
    check_config = sasl_config(
        secure, user, sasl_password_file=str(files / "sasl"), tls_cert_file=str(pki.client_cert),
        tls_key_file=str(pki.client_key), tls_key_password_file=str(pki.client_key_password_file),
    )  # fmt: skip
    check_config["jmx"] = config["jmx"]
    check_config["log"] = {"level": "debug"}
    check_path = tmp_path / "check.yml"
    check_path.write_text(yaml.safe_dump(check_config))
    good = cli_run.run("check", "--config", str(check_path), timeout=180)
    assert good.returncode == 1, good.stdout + good.stderr  # the closed JMX target is down
    assert "admin" in good.stdout and "closed" in good.stdout
    del check_config["kafka"]["sasl_password_file"]
    check_config["jmx"] = {}
    check_path.write_text(yaml.safe_dump(check_config))
    bad = cli_run.run("check", "--config", str(check_path), timeout=180, env={
        "KAFKA_VITALS_KAFKA_SASL_PASSWORD": wrong_sasl,
        "KAFKA_VITALS_KAFKA_TLS_KEY_PASSWORD": pki.client_key_password,  # and the file: refused
    })  # fmt: skip
    assert bad.returncode == 2 and "not both" in bad.stderr, bad.stderr
    check_config["kafka"]["tls_key_password_file"] = None
    check_path.write_text(yaml.safe_dump(check_config))
    bad = cli_run.run("check", "--config", str(check_path), timeout=180, env={
        "KAFKA_VITALS_KAFKA_SASL_PASSWORD": wrong_sasl,
        "KAFKA_VITALS_KAFKA_TLS_KEY_PASSWORD": pki.client_key_password,
    })  # fmt: skip
    assert bad.returncode == 1 and "DOWN" in bad.stdout, bad.stdout + bad.stderr
    seen += [good.stdout, good.stderr, bad.stdout, bad.stderr]

    everything = "\n".join(seen)
    for secret in secrets:
        assert secret not in everything, f"a secret leaked: {secret[:4]}..."
        assert base64.b64encode(secret.encode()).decode() not in everything


# ---- committed offsets from the offsets log ----------------------------------------------


def readme_log_acl(principal: str) -> tuple[str, str, str]:
    """The README's grant for the offsets log (its second kafka-acls block), for `principal`."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## Least privilege", 1)[1].split("\n## ", 1)[0]
    block = section.split("```sh\n")[2].split("```", 1)[0]
    argv = shlex.split(block.replace("\\\n", " ").replace(README_PRINCIPAL, principal))
    ops = [argv[i + 1] for i, a in enumerate(argv) if a == "--operation"]
    topic = argv[argv.index("--topic") + 1]
    assert ops == ["Read"] and topic == "__consumer_offsets", argv
    return ("TOPIC", topic, "READ")


def test_log_source_least_privilege_and_auto_fallback(secure: Secure) -> None:
    """Read on __consumer_offsets added to the minimum: full cycles from the log, nothing denied;
    `auto` without it uses the Admin API."""
    from exporter.catalog import admin, own
    from exporter.config import CommittedOffsetsConfig, Config, PollConfig
    from exporter.poller import Poller

    cluster = secure.cluster
    for name, source, extra, expected in (
        ("log-reader", "log", True, "log"),
        ("auto-no-read", "auto", False, "admin"),
    ):
        user = cluster.add_scram_user(name)
        principal = f"User:{name}"
        cluster.allow(principal, [*MINIMUM_ACLS, *([readme_log_acl(principal)] if extra else [])])
        kafka = scram_kafka(secure, name, user)
        config = Config(
            kafka=kafka,
            poll=PollConfig(stage_timeout_seconds=8),
            committed_offsets=CommittedOffsetsConfig(source=source),  # type: ignore[arg-type]
        )
        poller = Poller(config)
        try:

            def full(poller: Poller = poller, expected: str = expected) -> bool:
                snap = poller.poll_once()
                return (
                    snap.value(own.COMMITTED_SOURCE, expected) == 1
                    and snap.value(admin.GROUP_LAG, GROUP, TOPIC, "1") == 5
                    and poller.ready
                )

            wait_for(full, 90, f"lag from the {expected} source for {name}", interval=0.5)
        finally:
            poller.stop()
        if extra:
            time.sleep(1.0)  # the broker's log is written asynchronously
            assert cluster.denied(principal) == []


# ---- the end-to-end probe ------------------------------------------------------------------


def readme_probe_acls(principal: str, topic: str, group: str) -> list[tuple[str, str, str]]:
    """The README's grants for the probe (its third kafka-acls block), for `principal` and the
    probe's `topic` and `group` in place of the default names."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## Least privilege", 1)[1].split("\n## ", 1)[0]
    block = section.split("```sh\n")[3].split("```", 1)[0]
    out: list[tuple[str, str, str]] = []
    for cmd in block.replace("\\\n", " ").splitlines():
        argv = shlex.split(cmd.replace(README_PRINCIPAL, principal))
        if not argv:
            continue
        ops = [argv[i + 1].upper() for i, a in enumerate(argv) if a == "--operation"]
        if "--topic" in argv:
            assert argv[argv.index("--topic") + 1] == "kafka-vitals-probe", argv
            out += [("TOPIC", topic, op) for op in ops]
        else:
            assert argv[argv.index("--group") + 1] == "kafka-vitals-probe", argv
            out += [("GROUP", group, op) for op in ops]
    assert sorted(out) == sorted([("TOPIC", topic, "WRITE"), ("TOPIC", topic, "READ"),
                                  ("GROUP", group, "READ")]), out  # fmt: skip
    return out


def test_probe_least_privilege_on_and_off(secure: Secure) -> None:
    """With the README's probe grants (and Create, for `probe.create_topic`) added to the minimum,
    the probe creates its topic, produces, consumes and commits with nothing denied; the same
    principal without them (the minimum: the probe off needs nothing more) loses every probe
    message and the rest of the cycle is unaffected."""
    from exporter.catalog import probe as cat
    from exporter.config import Config, PollConfig, ProbeConfig
    from exporter.poller import Poller

    cluster = secure.cluster
    topic = group = "vitals-probe-acl"
    snaps = {}
    for name, extra in (("probe-on", True), ("probe-no-grants", False)):
        user = cluster.add_scram_user(name)
        principal = f"User:{name}"
        grants = [*readme_probe_acls(principal, topic, group), ("TOPIC", topic, "CREATE")]
        cluster.allow(principal, [*MINIMUM_ACLS, *(grants if extra else [])])
        kafka = scram_kafka(secure, name, user)
        probe = ProbeConfig(enabled=True, topic=topic, group_id=group, create_topic=True,
                            replication_factor=1, min_insync_replicas=1,
                            deadline_seconds=3)  # fmt: skip
        poller = Poller(Config(kafka=kafka, probe=probe, poll=PollConfig(stage_timeout_seconds=8)))
        try:
            for _ in range(3):
                snap = poller.poll_once()
            failed = [s.stage for s in poller.last_stages if not s.ok]
        finally:
            poller.stop()
        snaps[name] = (snap, failed)
    time.sleep(1.0)  # the broker's log is written asynchronously

    snap, failed = snaps["probe-on"]
    assert failed == [] and cluster.denied("User:probe-on") == []
    assert snap.value(cat.UP) == 1 and snap.value(cat.MESSAGES_SENT, "1") == 3
    assert snap.value(cat.MESSAGES_LOST, "1") == 0 and snap.value(cat.COMMIT_FAILURES, "1") == 0
    snap, failed = snaps["probe-no-grants"]
    assert set(failed) <= {"probe"}, failed  # the Admin API stages are not affected
    assert snap.value(cat.MESSAGES_LOST, "1") == snap.value(cat.MESSAGES_SENT, "1") == 3
    assert wait_for(lambda: cluster.denied("User:probe-no-grants"), 30, "the denied produce")
