"""The container image: built from the Dockerfile, unchanged, and run against a real broker.

The image is built once per test session (podman's layer cache makes a rebuild after a code change
take a minute or so; the Debian base is made once per machine). It runs with
`buildah run --isolation chroot` on the host network, as the image's user, with the config file
mounted where the image's CMD reads it.
"""

from __future__ import annotations

import logging
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from exporter import __version__
from harness.cluster import KafkaCluster
from harness.procs import HarnessError, free_ports, wait_for
from tests.container.base import dockerfile_base
from tests.container.dockerfile import dockerfile_facts
from tests.container.image import (
    Built,
    WorkingContainer,
    build_image,
    image_size,
    inspect,
    podman_inspect,
)

pytestmark = pytest.mark.container
log = logging.getLogger(__name__)


def up(text: str, source: str, target: str = "") -> float | None:
    """The value of kafka_vitals_up{source, target} in an exposition (an empty label may be
    left out), or None when absent."""
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = sample.labels
            wanted = labels.get("source") == source and labels.get("target", "") == target
            if sample.name == "kafka_vitals_up" and wanted:
                return float(sample.value)
    return None


@pytest.fixture(scope="session")
def image() -> Built:
    try:
        built = build_image()
    except HarnessError as exc:
        pytest.fail(f"cannot build the container image: {exc}", pytrace=False)
    log.info("image tag=%s build_seconds=%.0f", built.tag, built.seconds)
    return built


@pytest.fixture
def container(image: Built) -> Iterator[WorkingContainer]:
    try:
        working = WorkingContainer.create(image.tag)
    except HarnessError as exc:
        pytest.fail(f"cannot create a working container: {exc}", pytrace=False)
    yield working
    working.remove()


def http_get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return int(resp.status), resp.read().decode()


def test_image_user_port_healthcheck_and_labels(image: Built) -> None:
    facts = dockerfile_facts()
    assert set(facts.froms) == {"${DEBIAN_IMAGE}"}, "every stage starts FROM the one base"
    assert dockerfile_base() == "docker.io/library/debian:bookworm-slim"
    docker = inspect(image.tag)["Docker"]["config"]
    assert docker["User"] == f"{facts.uid}:{facts.uid}" and facts.uid != 0
    assert set(docker["ExposedPorts"]) == {f"{facts.exposed_port}/tcp"}
    assert docker["Entrypoint"] == ["kafka-vitals"]
    assert docker["Cmd"] == ["serve", "--config", "/etc/kafka-vitals/config.yaml"]
    health = docker["Healthcheck"]
    assert health["Test"] == ["CMD", *facts.healthcheck]
    assert health["Interval"] > 0 and health["Timeout"] > 0 and health["Retries"] > 0
    labels = docker["Labels"]
    assert labels["org.opencontainers.image.title"] == "kafka-vitals"
    assert labels["org.opencontainers.image.version"] == __version__
    assert labels["org.opencontainers.image.licenses"] == "Apache-2.0"
    config = podman_inspect(image.tag)["Config"]
    assert config["User"] == docker["User"] and "10308/tcp" in config["ExposedPorts"]
    size = image_size(image.tag)
    log.info("image size_mb=%.0f", size / 1e6)
    assert size < 400e6, f"the image grew to {size / 1e6:.0f} MB (docs/deployment.md says ~220)"


def test_image_runs_as_non_root_without_a_mounted_config(container: WorkingContainer) -> None:
    who = container.exec(["id", "-u"])
    assert who.returncode == 0 and who.stdout.strip() == str(dockerfile_facts().uid), who
    assert container.exec(["java", "-Xshare:auto", "-version"]).returncode == 0
    version = container.exec(["kafka-vitals", "--version"])
    assert version.stdout.strip() == f"kafka-vitals {__version__}", version
    # the shipped config is only comments: without a bootstrap server, one clear line, exit 2
    bare = container.exec([*dockerfile_facts().entrypoint, *dockerfile_facts().cmd])
    assert bare.returncode == 2, bare
    assert "kafka.bootstrap_servers" in bare.stderr and "Traceback" not in bare.stderr, bare


def test_image_serves_metrics_from_a_real_broker(
    container: WorkingContainer, kafka_single: KafkaCluster, tmp_path: Path
) -> None:
    facts = dockerfile_facts()
    node = kafka_single.nodes[0]
    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "kafka": {"bootstrap_servers": kafka_single.bootstrap_servers},
                "poll": {"interval_seconds": 5},
                "jmx": {"targets": [{"url": node.jmx_url, "role": "broker", "name": "node-1"}]},
            }
        )
    )
    config.chmod(0o644)
    port = free_ports(1)[0]
    env = {"KAFKA_VITALS_WEB_LISTEN_ADDRESS": f"127.0.0.1:{port}"}
    proc = container.start(
        [*facts.entrypoint, *facts.cmd],
        log_path=tmp_path / "serve.log",
        volumes={config: facts.config_path},
        env=env,
        ports=[port],
    )

    def alive() -> None:
        if not proc.alive():
            raise HarnessError(f"kafka-vitals in the image exited:\n{proc.log_tail()}")

    def scraped() -> str | None:
        status, text = http_get(f"http://127.0.0.1:{port}/metrics")
        return text if status == 200 and up(text, "admin") == 1 else None

    what = 'kafka_vitals_up{source="admin",target=""} 1 on /metrics of the image'
    text = wait_for(scraped, 180, what, check=alive)
    assert up(text, "jmx", "node-1") == 1, (
        "the broker's JMX (read with the image's own Java runtime) is not up:\n"
        + "\n".join(line for line in text.splitlines() if line.startswith("kafka_vitals_up"))
    )
    assert "kafka_server_replicamanager_underreplicatedpartitions" in text
    assert http_get(f"http://127.0.0.1:{port}/ready")[0] == 200
    healthy = container.exec(facts.healthcheck, env=env)
    assert healthy.returncode == 0, f"HEALTHCHECK failed: {healthy.stderr[-500:]}"
    wrong = container.exec(facts.healthcheck, env={"KAFKA_VITALS_WEB_LISTEN_ADDRESS": ":1"})
    assert wrong.returncode != 0, "HEALTHCHECK passes against a port nobody serves"

    assert container.terminate(proc) == 0, proc.log_tail()
    assert "Traceback" not in proc.log_tail(200)
