"""Build the project's Dockerfile, inspect the image, and run commands in it.

There is no container engine daemon here and `podman run` does not work, so the image is built
with `podman build --isolation chroot` and commands run in a working container made by
`buildah from`, with `buildah run --isolation chroot --network host`: the command sees the image's
filesystem, user and environment, and shares the host's network (loopback included).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import signal
import ssl
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.procs import HarnessError, Managed, spawn, tail
from tests.container.base import REPO_ROOT, build_lock, cache_dir, ensure_base, run, tool

log = logging.getLogger(__name__)

IMAGE = "localhost/kafka-vitals:test"


def ca_bundle() -> Path | None:
    """The CA bundle that Python on this machine trusts (pip's, else OpenSSL's default).

    Handed to the build as the `pip-ca` secret, so the build's pip trusts what the host trusts
    (a TLS-intercepting proxy included)."""
    for candidate in (os.environ.get("PIP_CERT"), ssl.get_default_verify_paths().cafile):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


@dataclass(frozen=True, slots=True)
class Built:
    tag: str
    seconds: float
    log_path: Path


def build_image(tag: str = IMAGE, timeout: float = 1500.0) -> Built:
    """Build the repository's Dockerfile, unchanged, into `tag` (layers cached between runs)."""
    ensure_base()
    podman = tool("podman")
    cmd = [podman, "build", "--isolation", "chroot", "--network", "host", "--format", "docker",
           "--layers", "--tag", tag]  # fmt: skip
    if (ca := ca_bundle()) is not None:
        cmd += ["--secret", f"id=pip-ca,src={ca}"]
    cmd.append(str(REPO_ROOT))
    log_path = cache_dir() / "build.log"
    started = time.monotonic()
    with build_lock(), log_path.open("wb") as out:
        try:
            result = subprocess.run(
                cmd, stdout=out, stderr=subprocess.STDOUT, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired as exc:
            raise HarnessError(f"podman build of {tag} took over {timeout:.0f}s") from exc
    if result.returncode != 0:
        raise HarnessError(
            f"podman build of {tag} failed (exit {result.returncode}); the end of {log_path}:\n"
            + tail(log_path, 25)
        )
    seconds = time.monotonic() - started
    log.info("image built tag=%s seconds=%.0f", tag, seconds)
    return Built(tag, seconds, log_path)


def inspect(tag: str = IMAGE) -> dict[str, Any]:
    """`buildah inspect --type image`: Docker-format config (with Healthcheck) and OCI config."""
    data: dict[str, Any] = json.loads(
        run([tool("buildah"), "inspect", "--type", "image", tag], f"buildah inspect {tag}")
    )
    return data


def podman_inspect(tag: str = IMAGE) -> dict[str, Any]:
    """`podman image inspect` of one image (Config, Size, ...)."""
    data: list[dict[str, Any]] = json.loads(
        run([tool("podman"), "image", "inspect", tag], f"podman image inspect {tag}")
    )
    return data[0]


def image_size(tag: str = IMAGE) -> int:
    """The image's size in bytes, as podman reports it (uncompressed layers)."""
    return int(podman_inspect(tag)["Size"])


# ---- running things in the image ----------------------------------------------------------------


def _mounts(volumes: Mapping[Path, str]) -> list[str]:
    return [arg for host, inside in volumes.items() for arg in ("-v", f"{host}:{inside}:ro")]


def _env(env: Mapping[str, str]) -> list[str]:
    return [arg for key, value in env.items() for arg in ("-e", f"{key}={value}")]


def _buildah_run(container: str, args: Sequence[str], volumes: Mapping[Path, str],
                 env: Mapping[str, str]) -> list[str]:  # fmt: skip
    return [tool("buildah"), "run", "--isolation", "chroot", "--network", "host",
            *_mounts(volumes), *_env(env), container, "--", *args]  # fmt: skip


@dataclass(eq=False, slots=True)
class WorkingContainer:
    """A `buildah from` container of an image; remove it with `remove()`."""

    name: str
    image: str
    processes: list[Managed] = field(default_factory=list)

    @classmethod
    def create(cls, image: str = IMAGE) -> WorkingContainer:
        name = f"kafka-vitals-test-{secrets.token_hex(4)}"
        run([tool("buildah"), "from", "--pull-never", "--name", name, image],
            f"buildah from {image}", timeout=120)  # fmt: skip
        return cls(name, image)

    def exec(
        self,
        args: Sequence[str],
        *,
        volumes: Mapping[Path, str] | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float = 120.0,
    ) -> subprocess.CompletedProcess[str]:
        """Run a command to completion in the container; the completed process (not checked)."""
        cmd = _buildah_run(self.name, args, volumes or {}, env or {})
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired as exc:
            what = f"{' '.join(args)} in {self.image}"
            raise HarnessError(f"{what} took over {timeout:.0f}s") from exc

    def start(
        self,
        args: Sequence[str],
        *,
        log_path: Path,
        volumes: Mapping[Path, str] | None = None,
        env: Mapping[str, str] | None = None,
        ports: Sequence[int] = (),
    ) -> Managed:
        """Start a long-running command in the container (its process group is the harness's
        to stop: SIGTERM reaches the command itself)."""
        proc = spawn(
            f"container-{args[0]}",
            _buildah_run(self.name, args, volumes or {}, env or {}),
            log_path=log_path,
            ports=ports,
        )
        self.processes.append(proc)
        return proc

    def terminate(self, proc: Managed, timeout: float = 30.0) -> int:
        """SIGTERM the command itself (not buildah, whose runtime would SIGKILL it), wait for it
        to exit, and return its exit code; kill the whole group if it outlives `timeout`."""
        for pid in command_pids(proc.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        try:
            proc.wait(timeout)
        except HarnessError:
            proc.kill()
            raise
        assert proc.popen is not None
        return int(proc.popen.returncode)

    def remove(self) -> None:
        """Stop what still runs and delete the working container."""
        for proc in self.processes:
            if proc.alive():
                with contextlib.suppress(HarnessError):
                    self.terminate(proc)
        subprocess.run([tool("buildah"), "rm", self.name], capture_output=True, timeout=120,
                       check=False)  # fmt: skip


def command_pids(root: int) -> list[int]:
    """The command run in the container: the first processes below `root` that are not buildah's
    own helpers (their children, e.g. the exporter's query JVMs, are left to the command)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(stat.parent.name))
    found: list[int] = []
    todo = list(children.get(root, []))
    while todo:
        pid = todo.pop()
        with contextlib.suppress(OSError):
            argv0 = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0", 1)[0]
            if Path(argv0.decode(errors="replace")).name.startswith("buildah"):
                todo += children.get(pid, [])
            else:
                found.append(pid)
    return found
