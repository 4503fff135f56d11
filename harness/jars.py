"""The Kafka jars: fetching them once with Maven, and the `java` command line that runs them.

The broker, the storage tool and Kafka's command-line tools run from the jars of one pinned Kafka
release plus a log4j2 backend (the published POMs do not bring one). Maven copies them into
`.cache/kafka-<version>/libs`; a marker file written after a successful copy makes later runs reuse
the directory. `java_command()` builds the command for any main class, with JMX on loopback.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import subprocess
import time
from pathlib import Path

from harness.procs import HarnessError

log = logging.getLogger(__name__)

KAFKA_VERSION = "4.1.1"
LOG4J_VERSION = "2.24.3"
SLF4J_VERSION = "1.7.36"

# (groupId, artifactId, version)
ARTIFACTS: tuple[tuple[str, str, str], ...] = (
    ("org.apache.kafka", "kafka_2.13", KAFKA_VERSION),
    ("org.apache.kafka", "kafka-tools", KAFKA_VERSION),
    ("org.apache.logging.log4j", "log4j-api", LOG4J_VERSION),
    ("org.apache.logging.log4j", "log4j-core", LOG4J_VERSION),
    ("org.apache.logging.log4j", "log4j-slf4j-impl", LOG4J_VERSION),
    # Kafka logs through the SLF4J 1.x API; a 2.x API would find no binding and log nothing.
    ("org.slf4j", "slf4j-api", SLF4J_VERSION),
)

REPO_ROOT = Path(__file__).resolve().parents[1]
HARNESS_DIR = Path(__file__).resolve().parent
LOG4J_CONFIG = HARNESS_DIR / "log4j2.properties"
INSTALL_HINT = "run `make setup` (installs Java 17 and Maven, then fetches the Kafka jars)"


def cache_dir() -> Path:
    """The harness cache: `$KAFKA_VITALS_CACHE` or `.cache/` at the repository root."""
    return Path(os.environ.get("KAFKA_VITALS_CACHE", REPO_ROOT / ".cache"))


def kafka_home() -> Path:
    return cache_dir() / f"kafka-{KAFKA_VERSION}"


def libs_dir() -> Path:
    return kafka_home() / "libs"


def _marker() -> Path:
    return kafka_home() / ".complete"


def jars_present() -> bool:
    return _marker().is_file()


def classpath() -> str:
    """The Java class path for every Kafka class, or HarnessError when the jars are missing."""
    if not jars_present():
        raise HarnessError(f"Kafka {KAFKA_VERSION} jars missing in {libs_dir()}: {INSTALL_HINT}")
    return str(libs_dir() / "*")


def java() -> str:
    """Path of the `java` binary (17 or newer), or HarnessError saying how to install it."""
    path = shutil.which("java")
    if path is None:
        raise HarnessError(
            f"'java' not found on PATH (Kafka {KAFKA_VERSION} needs 17+): {INSTALL_HINT}"
        )
    return path


def pom_xml() -> str:
    """A dependency-only POM listing the pinned artifacts."""
    deps = "\n".join(
        "    <dependency><groupId>{}</groupId><artifactId>{}</artifactId>"
        "<version>{}</version></dependency>".format(*artifact)
        for artifact in ARTIFACTS
    )
    return (
        '<project xmlns="http://maven.apache.org/POM/4.0.0">\n'
        "  <modelVersion>4.0.0</modelVersion>\n"
        "  <groupId>kafka-vitals.test</groupId><artifactId>kafka-jars</artifactId>\n"
        "  <version>0</version><packaging>pom</packaging>\n"
        f"  <dependencies>\n{deps}\n  </dependencies>\n"
        "</project>\n"
    )


def fetch(force: bool = False, timeout: float = 900.0) -> Path:
    """Copy the jars into the cache with Maven unless they are already there; return libs dir.

    A file lock makes concurrent callers wait for one download instead of racing.
    """
    home = kafka_home()
    home.mkdir(parents=True, exist_ok=True)
    with (home / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if jars_present() and not force:
            log.info("jars present dir=%s", libs_dir())
            return libs_dir()
        mvn = shutil.which("mvn")
        if mvn is None:
            raise HarnessError(f"'mvn' (Maven) not found on PATH: {INSTALL_HINT}")
        _marker().unlink(missing_ok=True)
        shutil.rmtree(libs_dir(), ignore_errors=True)
        (home / "pom.xml").write_text(pom_xml())
        cmd = [
            mvn, "-B", "-q", "-f", str(home / "pom.xml"),
            "dependency:copy-dependencies",
            f"-DoutputDirectory={libs_dir()}", "-DincludeScope=runtime",
        ]  # fmt: skip
        started = time.monotonic()
        try:
            result = subprocess.run(
                cmd, capture_output=True, text=True, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired as exc:
            raise HarnessError(f"Maven did not finish fetching the jars in {timeout:.0f}s") from exc
        if result.returncode != 0:
            detail = (result.stdout + result.stderr).strip().splitlines()[-15:]
            raise HarnessError("Maven failed to fetch the Kafka jars:\n" + "\n".join(detail))
        jars = sorted(libs_dir().glob("*.jar"))
        if not any(j.name == f"kafka_2.13-{KAFKA_VERSION}.jar" for j in jars):
            raise HarnessError(f"Maven finished but kafka_2.13-{KAFKA_VERSION}.jar is missing")
        _marker().write_text(f"{len(jars)} jars\n")
        log.info(
            "jars fetched count=%d dir=%s seconds=%.1f",
            len(jars), libs_dir(), time.monotonic() - started,
        )  # fmt: skip
        return libs_dir()


def jmx_url(port: int) -> str:
    """The JMX service URL of a JVM started with `java_command(..., jmx_port=port)`."""
    return f"service:jmx:rmi:///jndi/rmi://127.0.0.1:{port}/jmxrmi"


def java_command(
    main_class: str,
    args: list[str],
    *,
    log_file: Path | None = None,
    jmx_port: int | None = None,
    heap: tuple[str, str] = ("64m", "256m"),
) -> list[str]:
    """The command line that runs `main_class` from the Kafka jars.

    log4j2 writes warnings to `log_file`; with `jmx_port` the JVM serves JMX without
    authentication on 127.0.0.1 only (the way Kafka's start scripts do, bound to loopback).
    """
    cmd = [
        java(),
        f"-Xms{heap[0]}",
        f"-Xmx{heap[1]}",
        "-XX:+ExitOnOutOfMemoryError",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={LOG4J_CONFIG}",
    ]
    if log_file is not None:
        cmd.append(f"-Dkafka.vitals.log.file={log_file}")
    if jmx_port is not None:
        cmd += [
            "-Dcom.sun.management.jmxremote=true",
            "-Dcom.sun.management.jmxremote.authenticate=false",
            "-Dcom.sun.management.jmxremote.ssl=false",
            f"-Dcom.sun.management.jmxremote.port={jmx_port}",
            f"-Dcom.sun.management.jmxremote.rmi.port={jmx_port}",
            "-Dcom.sun.management.jmxremote.host=127.0.0.1",
            "-Djava.rmi.server.hostname=127.0.0.1",
        ]
    return [*cmd, "-cp", classpath(), main_class, *args]
