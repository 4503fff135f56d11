"""Generated docs match the code; the reference config is valid and holds every default; the
hand-written configuration guide names only flags and variables that exist."""

from __future__ import annotations

import re
from dataclasses import replace

from exporter import catalog
from exporter.cli import build_parser
from exporter.collectors import REGISTRY
from exporter.config import Config, KafkaConfig
from exporter.config.keys import keys
from exporter.config.yamlfile import read_yaml
from exporter.configure import load_config
from exporter.docs_gen import CONFIG_REFERENCE, METRICS_MD, ROOT, stale

DOCS = ROOT / "docs"


def test_generated_docs_are_up_to_date() -> None:
    out_of_date = stale()
    assert not out_of_date, (
        f"{', '.join(map(str, out_of_date))} out of date: run `python -m exporter.docs_gen` "
        "and commit the result"
    )


def test_reference_config_loads_to_the_defaults() -> None:
    path = ROOT / CONFIG_REFERENCE
    config = load_config(path, env={"KAFKA_VITALS_KAFKA_BOOTSTRAP_SERVERS": "b:1"})
    assert config == Config(kafka=replace(KafkaConfig(), bootstrap_servers="b:1"))
    raw = read_yaml(path)
    paths = set()
    for name, body in raw.items():
        if isinstance(body, dict) and body:  # a section
            paths |= {f"{name}.{key}" for key in body}
        else:
            paths.add(name)
    assert paths == {k.path for k in keys()}
    text = path.read_text(encoding="utf-8")
    for key in keys():
        assert f"# env: {key.env}" in text


def test_metrics_doc_lists_every_family_and_every_collector() -> None:
    text = (ROOT / METRICS_MD).read_text(encoding="utf-8")
    families, _, collectors_part = text.partition("\n## Collectors\n")
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", families, flags=re.M))
    assert documented == {m.name for m in catalog.ALL}
    listed = set(re.findall(r"^\| `([a-z_]+)` \|", collectors_part, flags=re.M))
    assert listed == set(REGISTRY)


def test_configuration_guide_names_real_flags_and_variables() -> None:
    text = (DOCS / "configuration.md").read_text(encoding="utf-8")
    _, children = build_parser()
    flags = {s for a in children["serve"]._actions for s in a.option_strings}
    assert {k.flag for k in keys() if k.flag} <= flags
    envs = {k.env for k in keys()}
    for flag in set(re.findall(r"(?<![\w-])--[a-z][a-z.-]*[a-z]", text)):
        assert flag in flags, f"docs/configuration.md names unknown flag {flag}"
    for env in set(re.findall(r"\bKAFKA_VITALS_[A-Z_]*[A-Z]\b", text)) - {"KAFKA_VITALS_PORT"}:
        assert env in envs, f"docs/configuration.md names unknown variable {env}"
    assert "config-reference.yaml" in text and "metrics.md" in text


def test_docs_name_no_machine_paths() -> None:
    for path in (ROOT / METRICS_MD, ROOT / CONFIG_REFERENCE, DOCS / "configuration.md"):
        text = path.read_text(encoding="utf-8")
        # generated text must not embed the checkout it was generated in, nor a temp dir
        assert str(ROOT) not in text and "/tmp/" not in text, path
