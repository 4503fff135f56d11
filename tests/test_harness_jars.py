"""Missing Java, Maven or jars give a clear error that says how to install them."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness import jars
from harness.procs import HarnessError


def test_missing_java_names_make_setup(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(HarnessError, match=r"'java' not found.*make setup"):
        jars.java()


def test_missing_jars_and_maven_name_make_setup(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("KAFKA_VITALS_CACHE", str(tmp_path / "cache"))
    with pytest.raises(HarnessError, match=r"jars missing in .*make setup"):
        jars.classpath()
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(HarnessError, match=r"'mvn' \(Maven\) not found.*make setup"):
        jars.fetch()
    assert not jars.jars_present()


def test_pom_pins_kafka_logging_and_slf4j() -> None:
    pom = jars.pom_xml()
    assert "<packaging>pom</packaging>" in pom
    for group, artifact, version in jars.ARTIFACTS:
        assert (
            f"<groupId>{group}</groupId><artifactId>{artifact}</artifactId>"
            f"<version>{version}</version>" in pom
        )
    assert ("org.slf4j", "slf4j-api", "1.7.36") in jars.ARTIFACTS
