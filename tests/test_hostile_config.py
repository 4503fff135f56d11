"""Hostile configuration: whatever the file, the environment or the web config file holds, loading
ends in a Config or in a ConfigError of one-line problems, never another exception, and the
console script exits 2 with one line per problem, never a traceback.

Property-based (hypothesis) in-process for speed, plus a few nasty files through the real
console script.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exporter.config import Config
from exporter.config.keys import keys
from exporter.configure import ConfigError, load_config
from exporter.webconfig import WebConfigError, WebSettings, parse_web_config
from tests import cli_run

PATHS = [k.path for k in keys()]
ENVS = [k.env for k in keys()]
FIELD_NAMES = sorted({p.rsplit(".", 1)[-1] for p in PATHS} | {p.split(".")[0] for p in PATHS})
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_DIR = Path(tempfile.mkdtemp(prefix="kafka-vitals-hostile-"))

text = st.text(st.characters(codec="utf-8"), max_size=30)
words = st.sampled_from(["PLAINTEXT", "SASL_SSL", "127.0.0.1:9092", ":10308", "(", "[", "/"])
leaf = st.none() | st.booleans() | st.integers() | st.floats() | text | words
tree = st.recursive(
    leaf,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(FIELD_NAMES) | text, inner, max_size=4)
    ),
    max_leaves=12,
)


def outcome(load: Any) -> Config | ConfigError:
    """The Config, or the ConfigError (each problem one non-empty line); anything else fails."""
    try:
        config = load()
    except ConfigError as exc:
        assert exc.problems
        for problem in exc.problems:
            assert problem.strip() and problem.isprintable(), repr(problem)
        return exc
    assert isinstance(config, Config)
    return config


def _nested(flat: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for path, value in flat.items():
        head, _, tail = path.partition(".")
        if tail:
            section = out.setdefault(head, {})
            if isinstance(section, dict):
                section[tail] = value
        else:
            out[head] = value
    return out


def _write(content: bytes) -> Path:
    path = _DIR / "config.yml"
    path.write_bytes(content)
    return path


@SETTINGS
@given(st.binary(max_size=300) | text.map(str.encode))
def test_any_bytes_as_the_config_file(content: bytes) -> None:
    outcome(lambda: load_config(_write(content), env={}))


@SETTINGS
@given(st.dictionaries(st.sampled_from(PATHS), tree, max_size=8), tree)
def test_any_values_under_real_keys(flat: dict[str, Any], extra: Any) -> None:
    doc = _nested(flat)
    if isinstance(extra, dict):
        doc.update(extra)
    try:
        content = yaml.safe_dump(doc, allow_unicode=True).encode()
    except yaml.YAMLError:  # e.g. keys YAML cannot write; nothing to load then
        return
    outcome(lambda: load_config(_write(content), env={}))


@SETTINGS
@given(st.dictionaries(st.sampled_from(ENVS), text, max_size=6))
def test_any_environment_values(env: dict[str, str]) -> None:
    outcome(lambda: load_config(None, env=env))


@SETTINGS
@given(st.dictionaries(st.sampled_from([k.path for k in keys() if k.flag]), text, max_size=4))
def test_any_flag_values(flags: dict[str, str]) -> None:
    env = {"KAFKA_VITALS_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9092"}
    outcome(lambda: load_config(None, env=env, flags=flags))


web_keys = st.sampled_from(["tls_server_config", "basic_auth_users", "http_server_config",
                            "cert_file", "key_file", "client_auth_type", "client_ca_file",
                            "min_version", "max_version", "http2", "alice"])  # fmt: skip
web_tree = st.recursive(
    leaf,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(web_keys | text, inner, max_size=4),
    max_leaves=10,
)


@SETTINGS
@given(web_tree)
def test_any_web_config_structure(raw: Any) -> None:
    try:
        result = parse_web_config(raw)
    except WebConfigError as exc:
        assert exc.problems and all(p.strip() for p in exc.problems)
        return
    assert isinstance(result, WebSettings)


def test_numbers_at_the_edges() -> None:
    env = {"KAFKA_VITALS_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9092"}
    for value in ("nan", "inf", "-inf", "1e400", "-0", "99999999999999999999999"):
        variables = {**env, "KAFKA_VITALS_POLL_INTERVAL_SECONDS": value}
        got = outcome(lambda v=variables: load_config(None, env=v))
        if isinstance(got, Config):
            assert math.isfinite(got.poll.interval_seconds) and got.poll.interval_seconds > 0


NASTY_FILES = {
    "nested too deeply": b"kafka: " + b"[" * 20000 + b"]" * 20000 + b"\n",
    "a list as a mapping key": b"? [a, b]\n: 1\n",
    "not UTF-8": b"\xff\xfe\x00garbage",
    "a Python object tag": b"kafka: !!python/object/apply:os.system ['true']\n",
    "a newline in a key": b'"kafka\\nbootstrap": 1\n',
    "an alias bomb": b"a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
    b"c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
    b"filters:\n  group_allow: *d\n",
}


@pytest.mark.parametrize("name", sorted(NASTY_FILES))
def test_nasty_files_through_the_console_script(name: str, tmp_path: Path) -> None:
    path = tmp_path / "config.yml"
    path.write_bytes(NASTY_FILES[name])
    result = cli_run.run("check", "--config", str(path), timeout=120)
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert lines and all(ln.startswith("config: ") for ln in lines), result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_a_deeply_nested_json_environment_value_through_the_console_script() -> None:
    deep = "[" * 5000 + "]" * 5000
    result = cli_run.run("check", env={"KAFKA_VITALS_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9092",
                                       "KAFKA_VITALS_FILTERS_GROUP_ALLOW": deep})  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "config: filters.group_allow (from KAFKA_VITALS_FILTERS_GROUP_ALLOW): invalid JSON: "
        "nested too deeply"
    ]
