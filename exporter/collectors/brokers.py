"""Collector `brokers`: how many brokers the cluster metadata lists, and what they are."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from exporter.catalog import admin as cat
from exporter.collectors.base import CycleData, Input, register
from exporter.snapshot import SnapshotBuilder

if TYPE_CHECKING:
    from exporter.config import Config


@register
class BrokersCollector:
    name: ClassVar[str] = "brokers"
    reads: ClassVar[tuple[Input, ...]] = ("admin",)

    def __init__(self, config: Config) -> None:
        del config

    def collect(self, data: CycleData, out: SnapshotBuilder) -> None:
        view = data.cluster
        if view is None or view.brokers is None:
            return
        out.add(cat.BROKERS, (), len(view.brokers))
        for b in view.brokers:
            out.add(cat.BROKER_INFO, (str(b.id), b.address, b.rack), 1)
