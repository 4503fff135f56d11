"""Processes the harness starts: spawning, stopping, free ports, waiting, and leftover checks.

Every process the harness starts for a test run is recorded here. It runs in its own process
group (so a stop reaches its children too) and, when spawned from the main thread, dies with the
Python process that started it (parent-death signal through `setpriv`). An `atexit` hook kills
whatever is still running, and `leftovers()` lets the test session assert that nothing stayed
behind. Processes started for the command line (`kafka up`) are detached and not recorded.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

_lock = threading.Lock()
_tracked: list[Managed] = []


class HarnessError(RuntimeError):
    """A part of the test environment is missing, failed to start, or misbehaved."""


@dataclass(eq=False, slots=True)
class Managed:
    """One process started by the harness, with the loopback ports it serves."""

    name: str
    popen: subprocess.Popen[bytes] | None
    pid: int
    ports: tuple[int, ...] = ()
    log_path: Path | None = None
    paused: bool = field(default=False)

    def alive(self) -> bool:
        """True while the process exists (a paused process is alive)."""
        if self.popen is not None:
            return self.popen.poll() is None
        return pid_alive(self.pid)

    def signal(self, sig: int) -> None:
        """Send a signal to the whole process group; a vanished group is ignored."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, sig)

    def pause(self) -> None:
        self.signal(signal.SIGSTOP)
        self.paused = True

    def resume(self) -> None:
        self.signal(signal.SIGCONT)
        self.paused = False

    def kill(self, timeout: float = 10.0) -> None:
        """SIGKILL the process group and wait until the process is gone."""
        self.signal(signal.SIGKILL)
        self.wait(timeout)

    def stop(self, timeout: float = 60.0) -> None:
        """SIGTERM the process group, wait, and fall back to SIGKILL after `timeout` seconds."""
        if not self.alive():
            return
        if self.paused:
            self.resume()
        self.signal(signal.SIGTERM)
        try:
            self.wait(timeout)
        except HarnessError:
            log.warning("stop timed out, killing name=%s pid=%d", self.name, self.pid)
            self.kill()

    def wait(self, timeout: float) -> None:
        """Wait until the process has exited; raise HarnessError after `timeout` seconds."""
        if self.popen is not None:
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired as exc:
                raise HarnessError(f"{self.name} (pid {self.pid}) still running") from exc
            # children left in the group (rare) get the same end
            self.signal(signal.SIGKILL)
            return
        wait_for(lambda: not pid_alive(self.pid), timeout, f"{self.name} (pid {self.pid}) to exit")

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of the process output, for error messages."""
        return tail(self.log_path, lines) if self.log_path else ""


def spawn(
    name: str,
    cmd: Sequence[str],
    *,
    log_path: Path,
    ports: Sequence[int] = (),
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    detach: bool = False,
) -> Managed:
    """Start `cmd` in its own process group with stdout and stderr appended to `log_path`.

    With `detach=False` the process is recorded for cleanup and dies with this Python process;
    with `detach=True` it outlives it (used by the command line).
    """
    argv = list(cmd)
    if shutil.which(argv[0]) is None:
        raise HarnessError(f"cannot start {name}: {argv[0]!r} not found or not executable")
    if not detach and threading.current_thread() is threading.main_thread():
        setpriv = shutil.which("setpriv")
        if setpriv:
            argv = [setpriv, "--pdeathsig", "KILL", "--", *argv]
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as out:
        try:
            popen = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=cwd,
                start_new_session=True,
            )
        except OSError as exc:
            raise HarnessError(f"cannot start {name}: {argv[0]}: {exc.strerror}") from exc
    proc = Managed(name=name, popen=popen, pid=popen.pid, ports=tuple(ports), log_path=log_path)
    if not detach:
        with _lock:
            _tracked.append(proc)
    log.info("started name=%s pid=%d ports=%s", name, popen.pid, list(ports))
    return proc


def tracked() -> list[Managed]:
    """Every process recorded since this Python process started."""
    with _lock:
        return list(_tracked)


def leftovers() -> list[str]:
    """Describe what remains of the recorded processes: a process (or a child in its process
    group) still running, or one of its ports held by a process of those groups.

    A port that another program took after ours closed it is not ours, and is not reported.
    """
    procs = tracked()
    members = _live_group_members({p.pid for p in procs})
    problems: list[str] = []
    for proc in procs:
        if proc.alive():
            problems.append(f"{proc.name} pid={proc.pid} still running")
            continue
        if members.get(proc.pid):
            problems.append(f"{proc.name} left processes {sorted(members[proc.pid])} in its group")
        ours = {pid for pids in members.values() for pid in pids}
        for port in proc.ports:
            if port_open(port) and _listener_pids(port) & ours:
                problems.append(f"{proc.name} port {port} still listening")
    return problems


def _proc_stats() -> list[tuple[int, str, int]]:
    """(pid, state, process group) of every process, from /proc."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        out.append((int(stat.parent.name), fields[0], int(fields[2])))
    return out


def _live_group_members(pgids: set[int]) -> dict[int, set[int]]:
    """Non-zombie processes in each of the given process groups."""
    members: dict[int, set[int]] = {}
    for pid, state, pgid in _proc_stats():
        if pgid in pgids and state != "Z":
            members.setdefault(pgid, set()).add(pid)
    return members


def _listener_pids(port: int) -> set[int]:
    """Processes holding a listening TCP socket on `port` (from /proc/net and /proc/*/fd)."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                cols = line.split()
                if cols[3] == "0A" and int(cols[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(f"socket:[{cols[9]}]")
    pids: set[int] = set()
    for fd_dir in Path("/proc").glob("[0-9]*/fd"):
        with contextlib.suppress(OSError):
            if any(os.readlink(fd) in inodes for fd in fd_dir.iterdir()):
                pids.add(int(fd_dir.parent.name))
    return pids


def kill_all() -> None:
    """Kill every recorded process that is still running."""
    for proc in tracked():
        if proc.alive():
            proc.resume()
            proc.kill()


atexit.register(kill_all)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError):
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        if state == "Z":
            return False
    return True


def free_ports(count: int) -> list[int]:
    """Return `count` distinct loopback TCP ports that were free a moment ago."""
    socks: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            socks.append(sock)
        return [s.getsockname()[1] for s in socks]
    finally:
        for sock in socks:
            sock.close()


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """True when something accepts TCP connections on host:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        return sock.connect_ex((host, port)) == 0


def wait_for(
    condition: Callable[[], T | None],
    timeout: float,
    what: str,
    *,
    interval: float = 0.25,
    check: Callable[[], None] | None = None,
) -> T:
    """Poll `condition` until it returns something truthy and return that value.

    An exception from `condition` counts as "not yet" and is retried; `check` runs before each
    poll and may raise to stop early (e.g. a process died). After `timeout` seconds a
    HarnessError names `what` and the last exception the condition raised.
    """
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while True:
        if check is not None:
            check()
        try:
            value = condition()
            if value:
                return value
        except Exception as exc:
            last_error = exc
        if time.monotonic() >= deadline:
            detail = f" (last error: {last_error})" if last_error else ""
            raise HarnessError(f"timed out after {timeout:.0f}s waiting for {what}{detail}")
        time.sleep(interval)


def tail(path: Path, lines: int = 30) -> str:
    """The last `lines` lines of a text file, or '' when it cannot be read."""
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 64 * 1024))
            data = fh.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(data.splitlines()[-lines:])


def require_binary(name: str, hint: str) -> str:
    """Return the path of executable `name`, or raise HarnessError with an install hint."""
    path = shutil.which(name)
    if path is None:
        raise HarnessError(f"'{name}' not found on PATH: {hint}")
    return path
