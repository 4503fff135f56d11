"""The real `helm` for the chart tests, built from its Go module into the harness cache.

`fetch()` runs `go install helm.sh/helm/v4/cmd/helm@<HELM_VERSION>` with GOBIN set to
`.cache/helm-<version>/bin/` and writes a marker file once the binary is complete, so later runs
reuse it (a cold build takes minutes; with Go's build cache warm, under a minute). `helm_binary()`
is the path, or a HarnessError that says how to get it.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import subprocess
from pathlib import Path

from harness.jars import cache_dir
from harness.procs import HarnessError

log = logging.getLogger(__name__)

HELM_VERSION = "v4.3.2"
MODULE = "helm.sh/helm/v4/cmd/helm"
INSTALL_HINT = "run `make setup` (builds helm from its Go module with the `go` toolchain)"


def helm_home() -> Path:
    return cache_dir() / f"helm-{HELM_VERSION}"


def _marker() -> Path:
    return helm_home() / ".complete"


def helm_binary() -> Path:
    """The cached helm binary, or HarnessError naming the fix."""
    path = helm_home() / "bin" / "helm"
    if not _marker().is_file() or not path.is_file():
        raise HarnessError(f"helm {HELM_VERSION} is not built at {path}: {INSTALL_HINT}")
    return path


def fetch(force: bool = False, timeout: float = 1800.0) -> Path:
    """Build helm unless the marker says it is there; return the binary's path."""
    home = helm_home()
    home.mkdir(parents=True, exist_ok=True)
    with (home / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _marker().is_file() and not force:
            return helm_binary()
        go = shutil.which("go")
        if go is None:
            raise HarnessError(
                f"'go' not found on PATH: install Go 1.26 or newer (helm {HELM_VERSION} asks for "
                f"it); {INSTALL_HINT}"
            )
        _marker().unlink(missing_ok=True)
        env = {**os.environ, "GOBIN": str(home / "bin"), "GOFLAGS": "-buildvcs=false"}
        log.info("building helm version=%s into=%s", HELM_VERSION, home)
        try:
            result = subprocess.run(
                [go, "install", f"{MODULE}@{HELM_VERSION}"],
                env=env,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise HarnessError(f"go install {MODULE}: no result after {timeout:.0f}s") from exc
        if result.returncode != 0:
            tail = result.stderr.strip().splitlines()[-5:]
            raise HarnessError(f"go install {MODULE}@{HELM_VERSION} failed: {' | '.join(tail)}")
        _marker().write_text(HELM_VERSION + "\n")
        return helm_binary()
