"""The collectors: every module of this package is imported, so each registers itself in
`base.REGISTRY`.

A new collector is one new module in this package: no list to edit. `discover()` imports the
modules found on the package's path (a directory added to `__path__` counts too).
"""

import difflib
import importlib
import pkgutil
import sys

from exporter.collectors.base import REGISTRY, Collector, CycleData, PollHealth, register
from exporter.config import Config
from exporter.config.check import Add


def discover() -> tuple[str, ...]:
    """Import every collector module not imported yet; the names of those imported now."""
    found = []
    for info in pkgutil.iter_modules(__path__, prefix=f"{__name__}."):
        if info.name not in sys.modules:
            importlib.import_module(info.name)
            found.append(info.name)
    return tuple(found)


discover()


def check_config(config: Config, add: Add) -> None:
    """`collectors` switches name known collectors (a `Check` of the configuration loader)."""
    for name in config.collectors:
        if name not in REGISTRY:
            close = difflib.get_close_matches(name, list(REGISTRY), n=1, cutoff=0.6)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            known = ", ".join(sorted(REGISTRY))
            add(f"collectors.{name}", f"unknown collector{hint}; known: {known}")


__all__ = [
    "REGISTRY",
    "Collector",
    "CycleData",
    "PollHealth",
    "check_config",
    "discover",
    "register",
]
