"""Every collector module, imported so that each registers itself in `base.REGISTRY`.

A new collector is one new module in this package, listed here.
"""

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
