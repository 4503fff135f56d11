"""The exporter's configuration with every part's checks: what `serve` and `check` load.

`exporter.config` (the ground floor) binds and checks the model; the rules of each part's settings
live with the part and are handed in here, the one place that knows every part.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from exporter import collectors, webconfig
from exporter.config import Config
from exporter.config.check import Check
from exporter.config.load import load_config as _load_config
from exporter.config.yamlfile import ConfigError
from exporter.sources import admin_convert, jmx_check, probe_model, registry_check

PART_CHECKS: tuple[Check, ...] = (
    admin_convert.check_config,
    webconfig.check_config,
    jmx_check.check_config,
    registry_check.check_config,
    probe_model.check_config,
    collectors.check_config,
)

__all__ = ["PART_CHECKS", "ConfigError", "load_config"]


def load_config(
    path: str | Path | None = None,
    *,
    env: Mapping[str, str] | None = None,
    flags: Mapping[str, str] | None = None,
    flag_sources: Mapping[str, str] | None = None,
) -> Config:
    """The configuration from `path`, `env` (default: os.environ) and `flags` (`flag_sources`:
    the flag a value came from where it is not the key's own), checked by the model-wide rules
    and every part's; raises ConfigError listing every problem."""
    return _load_config(path, env=env, flags=flags, flag_sources=flag_sources, checks=PART_CHECKS)
