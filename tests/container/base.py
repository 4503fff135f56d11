"""The Debian base image the Dockerfile starts FROM, made locally when it cannot be pulled.

Base images cannot be pulled here, so the base is built with `debootstrap --variant=minbase` from
the Debian mirror that apt already uses on this machine (read from the apt sources at run time, or
`$KAFKA_VITALS_DEBIAN_MIRROR`), trimmed like Debian's slim images (no documentation, man pages or
locales), imported into podman's store and tagged with the exact name the Dockerfile's FROM uses.
An image already in the store is reused: the debootstrap runs once per machine.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from harness import jars
from harness.procs import HarnessError

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO_ROOT / "Dockerfile"
APT_SOURCES = Path("/etc/apt")
INSTALL_HINT = "install podman, buildah and debootstrap (`make setup` does, with apt-get)"
IMAGE_ENV = ("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",)

# What Debian's slim images leave out; later apt installs in the build skip the same paths.
DPKG_EXCLUDES = """\
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
"""


def cache_dir() -> Path:
    path = jars.cache_dir() / "container"
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def build_lock() -> Iterator[None]:
    """One base or image build at a time on this machine (concurrent test runs wait)."""
    with (cache_dir() / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def tool(name: str) -> str:
    """Path of a container tool (podman, buildah, debootstrap), or HarnessError with the hint."""
    path = shutil.which(name) or next(
        (str(p) for d in ("/usr/sbin", "/sbin") if (p := Path(d) / name).is_file()), None
    )
    if path is None:
        raise HarnessError(f"'{name}' not found: {INSTALL_HINT}")
    return path


def run(cmd: list[str], what: str, timeout: float = 600.0, stdin: IO[bytes] | None = None) -> str:
    """Run a command to completion; its stdout, or HarnessError with the end of its output."""
    try:
        result = subprocess.run(cmd, stdin=stdin, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise HarnessError(f"{what} did not finish in {timeout:.0f}s") from exc
    out = result.stdout.decode(errors="replace")
    if result.returncode != 0:
        text = out + result.stderr.decode(errors="replace")
        tail = "\n".join(text.strip().splitlines()[-25:])
        raise HarnessError(f"{what} failed (exit {result.returncode}):\n{tail}")
    return out


# ---- which base, from where --------------------------------------------------------------------


def dockerfile_base(dockerfile: Path = DOCKERFILE) -> str:
    """The default of `ARG DEBIAN_IMAGE` in the Dockerfile: the name every FROM uses."""
    match = re.search(r"^ARG DEBIAN_IMAGE=(\S+)\s*$", dockerfile.read_text(), re.MULTILINE)
    if match is None:
        raise HarnessError(f"{dockerfile}: no `ARG DEBIAN_IMAGE=<image>` line")
    return match.group(1)


def suite_of(image: str) -> str:
    """The Debian suite in a tag such as `debian:bookworm-slim` -> `bookworm`."""
    tag = image.rsplit(":", 1)[-1] if ":" in image.rsplit("/", 1)[-1] else ""
    suite = tag.split("-", 1)[0]
    if not suite:
        raise HarnessError(f"cannot tell the Debian suite from the image name {image!r}")
    return suite


@dataclass(frozen=True, slots=True)
class AptSource:
    uri: str
    suites: tuple[str, ...]
    components: tuple[str, ...]


def parse_one_line(text: str) -> list[AptSource]:
    """`deb [options] URI suite component...` lines of a sources.list file."""
    out: list[AptSource] = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        line = re.sub(r"\[[^\]]*\]", " ", line)
        parts = line.split()
        if len(parts) >= 3 and parts[0] == "deb":
            out.append(AptSource(parts[1], (parts[2],), tuple(parts[3:])))
    return out


def parse_deb822(text: str) -> list[AptSource]:
    """Stanzas of a `.sources` file (Types, URIs, Suites, Components)."""
    out: list[AptSource] = []
    for stanza in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        for line in stanza.splitlines():
            if line.startswith("#") or ":" not in line or line[:1].isspace():
                continue
            key, _, value = line.partition(":")
            fields[key.strip().lower()] = value.strip()
        if "deb" not in fields.get("types", "").split() or fields.get("enabled") == "no":
            continue
        for uri in fields.get("uris", "").split():
            out.append(
                AptSource(
                    uri,
                    tuple(fields.get("suites", "").split()),
                    tuple(fields.get("components", "").split()),
                )
            )
    return out


def apt_sources(root: Path = APT_SOURCES) -> list[AptSource]:
    """Every `deb` source configured for apt on this machine, in apt's reading order."""
    files = [root / "sources.list"] if (root / "sources.list").is_file() else []
    if (root / "sources.list.d").is_dir():
        files += sorted((root / "sources.list.d").glob("*"))
    out: list[AptSource] = []
    for path in files:
        with contextlib.suppress(OSError, UnicodeDecodeError):
            if path.suffix == ".sources":
                out += parse_deb822(path.read_text())
            elif path.suffix == ".list" or path.name == "sources.list":
                out += parse_one_line(path.read_text())
    return out


def debian_mirror(sources: list[AptSource] | None = None) -> str:
    """`$KAFKA_VITALS_DEBIAN_MIRROR`, or the first apt source with a Debian release suite and
    `main` (not the security archive)."""
    if env := os.environ.get("KAFKA_VITALS_DEBIAN_MIRROR"):
        return env
    for src in apt_sources() if sources is None else sources:
        release = any(re.fullmatch(r"[a-z]+", s) for s in src.suites)
        if release and "main" in src.components and "security" not in src.uri:
            return src.uri
    raise HarnessError(
        "no Debian mirror found in the apt sources (a `deb URI <release> main` entry); "
        "set KAFKA_VITALS_DEBIAN_MIRROR to one"
    )


# ---- the image -----------------------------------------------------------------------------


def image_exists(name: str) -> bool:
    result = subprocess.run(
        [tool("podman"), "image", "exists", name], capture_output=True, timeout=60, check=False
    )
    return result.returncode == 0


def ensure_base(name: str | None = None, timeout: float = 900.0) -> str:
    """Make sure podman's store has the Dockerfile's base image; return its name.

    Reuses the image when present; otherwise debootstraps it (about two minutes).
    """
    name = name or dockerfile_base()
    with build_lock():
        if image_exists(name):
            log.info("base image present name=%s", name)
            return name
        started = time.monotonic()
        suite, mirror = suite_of(name), debian_mirror()
        debootstrap, podman = tool("debootstrap"), tool("podman")
        with tempfile.TemporaryDirectory(prefix="rootfs-", dir=cache_dir()) as tmp:
            rootfs = Path(tmp) / "rootfs"
            log.info("debootstrap suite=%s mirror=%s", suite, mirror)
            run(
                [debootstrap, "--variant=minbase", suite, str(rootfs), mirror],
                f"debootstrap of Debian {suite} from {mirror}",
                timeout=timeout,
            )
            trim(rootfs)
            tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
            changes = [f"--change=ENV {e}" for e in IMAGE_ENV] + ['--change=CMD ["bash"]']
            try:
                run([podman, "import", *changes, "-", name], f"podman import of {name}",
                    stdin=tar.stdout)  # fmt: skip
            finally:
                if tar.stdout is not None:
                    tar.stdout.close()
                tar.wait(60)
        log.info("base image built name=%s seconds=%.0f", name, time.monotonic() - started)
        return name


def trim(rootfs: Path) -> None:
    """Leave out what Debian's slim images leave out, and apt's downloads and lists."""
    (rootfs / "etc/dpkg/dpkg.cfg.d").mkdir(parents=True, exist_ok=True)
    (rootfs / "etc/dpkg/dpkg.cfg.d/slim").write_text(DPKG_EXCLUDES)
    for pattern in ("var/cache/apt/archives/*.deb", "var/cache/apt/*.bin", "var/lib/apt/lists/*",
                    "usr/share/man/*", "usr/share/info/*", "usr/share/locale/*"):  # fmt: skip
        for path in rootfs.glob(pattern):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
    for doc in (rootfs / "usr/share/doc").glob("*/*"):
        if doc.name != "copyright":
            if doc.is_dir() and not doc.is_symlink():
                shutil.rmtree(doc, ignore_errors=True)
            else:
                doc.unlink(missing_ok=True)
