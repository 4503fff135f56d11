"""Every collector module, imported so that each registers itself in `base.REGISTRY`.

A new collector is one new module in this package, listed here.
"""

import difflib

from exporter.collectors import (
    broker_jmx,
    brokers,
    client_jmx,
    consumer_lag,
    dead_letters,
    groups,
    headroom,
    lag_status,
    own,
    partitions,
    rebalance_hygiene,
)
from exporter.collectors.base import REGISTRY, Collector, CycleData, PollHealth, register
from exporter.config import Config
from exporter.config.check import Add


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
    "broker_jmx",
    "brokers",
    "client_jmx",
    "consumer_lag",
    "dead_letters",
    "groups",
    "headroom",
    "lag_status",
    "own",
    "partitions",
    "rebalance_hygiene",
    "register",
]
