"""Pure parts of the container helpers: which Debian mirror and suite the base image comes from,
the facts read from the Dockerfile, and image-name handling of the Python kustomize."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.procs import HarnessError
from tests.container.base import (
    AptSource,
    apt_sources,
    debian_mirror,
    dockerfile_base,
    parse_deb822,
    parse_one_line,
    suite_of,
)
from tests.container.dockerfile import dockerfile_facts, instructions
from tests.container.kustomize import image_name

DEB822 = """\
Types: deb
# a comment
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main contrib
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://mirror.example/debian
Suites: bookworm
Components: main

Types: deb
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main
"""


def test_deb822_stanzas() -> None:
    assert parse_deb822(DEB822) == [
        AptSource(
            "http://mirror.example/debian", ("bookworm", "bookworm-updates"), ("main", "contrib")
        ),
        AptSource("http://mirror.example/debian-security", ("bookworm-security",), ("main",)),
    ]


def test_one_line_sources() -> None:
    text = (
        "# deb http://commented.example/debian bookworm main\n"
        "deb [arch=amd64 signed-by=/k.gpg] http://mirror.example/debian bookworm main\n"
        "deb-src http://mirror.example/debian bookworm main\n"
        "deb http://other.example/apt stable main  # trailing comment\n"
    )
    assert parse_one_line(text) == [
        AptSource("http://mirror.example/debian", ("bookworm",), ("main",)),
        AptSource("http://other.example/apt", ("stable",), ("main",)),
    ]


def test_mirror_is_the_first_release_suite_with_main(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KAFKA_VITALS_DEBIAN_MIRROR", raising=False)
    sources = [
        AptSource("http://mirror.example/debian-security", ("bookworm-security",), ("main",)),
        AptSource("http://vendor.example/apt", ("cloud-sdk-bookworm",), ("main",)),
        AptSource("http://mirror.example/debian", ("bookworm", "bookworm-updates"), ("main",)),
    ]
    assert debian_mirror(sources) == "http://mirror.example/debian"
    with pytest.raises(HarnessError, match="KAFKA_VITALS_DEBIAN_MIRROR"):
        debian_mirror(sources[:2])
    monkeypatch.setenv("KAFKA_VITALS_DEBIAN_MIRROR", "http://chosen.example/debian")
    assert debian_mirror([]) == "http://chosen.example/debian"


def test_apt_sources_reads_both_formats(tmp_path: Path) -> None:
    (tmp_path / "sources.list").write_text("deb http://a.example/debian bookworm main\n")
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d" / "debian.sources").write_text(DEB822)
    (tmp_path / "sources.list.d" / "notes.txt").write_text("deb http://ignored/ x main\n")
    uris = [s.uri for s in apt_sources(tmp_path)]
    assert uris == ["http://a.example/debian", "http://mirror.example/debian",
                    "http://mirror.example/debian-security"]  # fmt: skip


def test_suite_of_image_names() -> None:
    assert suite_of("docker.io/library/debian:bookworm-slim") == "bookworm"
    assert suite_of("debian:trixie") == "trixie"
    with pytest.raises(HarnessError):
        suite_of("localhost:5000/debian")


def test_dockerfile_facts() -> None:
    facts = dockerfile_facts()
    assert dockerfile_base() == "docker.io/library/debian:bookworm-slim"
    assert facts.exposed_port == 10308 and facts.uid == 65532
    assert facts.entrypoint == ["kafka-vitals"]
    assert facts.config_path == "/etc/kafka-vitals/config.yaml"
    assert facts.healthcheck[0] == "python3" and "/healthz" in facts.healthcheck[-1]
    steps = instructions('FROM a AS b\n# note\nRUN one \\\n  two\nCMD ["x"]\n')
    assert steps == [("FROM", "a AS b"), ("RUN", "one    two"), ("CMD", '["x"]')]


def test_image_name_without_tag_or_digest() -> None:
    assert image_name("kafka-vitals") == "kafka-vitals"
    assert image_name("kafka-vitals:0.1.0") == "kafka-vitals"
    assert image_name("registry.example.com:5000/team/kafka-vitals:0.1.0") == (
        "registry.example.com:5000/team/kafka-vitals"
    )
    assert image_name("registry.example.com/kafka-vitals@sha256:abc") == (
        "registry.example.com/kafka-vitals"
    )
