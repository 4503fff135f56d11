"""Build a `Config` from defaults, one YAML file, environment variables and flags, strictly.

Precedence: flags > environment > file > defaults. Everything is driven by the dataclasses in
`exporter.config.model` and bound by `exporter.config.binder`: a new section or field needs no
change here.

- Every key `section.key` can be set by the environment variable `KAFKA_VITALS_SECTION_KEY` (upper
  case), e.g. `KAFKA_VITALS_KAFKA_BOOTSTRAP_SERVERS`, and, unless it is a secret, by the flag
  `--section.key-with-dashes`, e.g. `--web.listen-address`. A top-level key (`collectors`) is
  `KAFKA_VITALS_COLLECTORS` / `--collectors`.
- Unknown keys (with a did-you-mean), wrong types, bad enum values, bad regexes, missing required
  values and unreadable files are all collected and raised at once in one `ConfigError`, one line
  per problem, each naming the key path (and the variable or flag it came from).
- After binding, the model-wide rules of `exporter.config.check` run, then the checks of each
  part handed in by the caller (`checks`): this package knows no part above it.
- Unknown `KAFKA_VITALS_*` variables are not errors (Kubernetes injects `<SERVICE>_PORT` and
  friends for a Service named kafka-vitals); `unknown_env` lists those that look like typos.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from exporter.config.binder import Binder, Text, where
from exporter.config.check import Check, check
from exporter.config.keys import ENV_PREFIX, keys
from exporter.config.model import Config
from exporter.config.yamlfile import ConfigError, read_yaml


def load_config(
    path: str | Path | None = None,
    *,
    env: Mapping[str, str] | None = None,
    flags: Mapping[str, str] | None = None,
    flag_sources: Mapping[str, str] | None = None,
    checks: Sequence[Check] = (),
) -> Config:
    """The configuration from `path` (optional), `env` (default: os.environ) and `flags`
    (key path -> text, from the command line; `flag_sources` names the flag a value came from
    where it is not the key's own, e.g. a kafka_exporter flag), checked by the model-wide rules
    and by `checks`. Raises ConfigError listing every problem."""
    problems: list[str] = []
    raw: Any = {}
    if path is not None:
        try:
            raw = read_yaml(Path(path))
        except ConfigError as exc:
            problems.extend(exc.problems)
    file_failed = bool(problems)  # then "required" and the like would only mislead
    by_path = {k.path: k for k in keys()}
    overrides: dict[str, Text] = {}
    environ = os.environ if env is None else env
    by_env = {k.env: k for k in by_path.values()}
    for name, text in environ.items():
        if name in by_env:
            overrides[by_env[name].path] = Text(text, name)
    for key_path, text in (flags or {}).items():
        key = by_path[key_path]  # the CLI only passes known keys
        source = (flag_sources or {}).get(key_path) or key.flag or key.path
        overrides[key_path] = Text(text, source)
    binder = Binder(overrides)
    config: Config | None = binder.bind(Config, raw)
    problems.extend(binder.problems)
    if config is not None and not file_failed:
        for path_, message in check(config, checks, skip=binder.bad_paths):
            problems.append(f"{where(path_, overrides)}: {message}")
    if problems or config is None:
        raise ConfigError(problems or ["cannot build the configuration"])
    return config


def unknown_env(env: Mapping[str, str] | None = None) -> list[str]:
    """`KAFKA_VITALS_*` variables that are no key but look like a typo of one, with a hint."""
    environ = os.environ if env is None else env
    known = [k.env for k in keys()]
    out = []
    for name in sorted(environ):
        if name.startswith(ENV_PREFIX) and name not in known:
            close = difflib.get_close_matches(name, known, n=1, cutoff=0.85)
            if close:
                out.append(f"{name} is not a setting (did you mean {close[0]}?)")
    return out
