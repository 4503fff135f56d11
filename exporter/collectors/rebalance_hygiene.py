"""Collector `rebalance_hygiene`: seconds spent rebalancing, dynamic members, rebalance protocol.

Rebalances themselves are counted by the `groups` collector
(`kafka_consumergroup_rebalances_total`); this one adds how long the group spent rebalancing,
which it keeps per group between polls, and the two facts that make rebalances expensive: eager
assignors and members without a group.instance.id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from exporter.catalog import lessons as cat
from exporter.collectors.base import CycleData, Input, register
from exporter.domain import hygiene as hy
from exporter.snapshot import Rows, SnapshotBuilder

if TYPE_CHECKING:
    from exporter.config import Config


@dataclass(frozen=True, slots=True)
class _Seen:
    at: float
    rebalancing: bool
    seconds: float


@register
class RebalanceHygieneCollector:
    name: ClassVar[str] = "rebalance_hygiene"
    reads: ClassVar[tuple[Input, ...]] = ("admin",)

    def __init__(self, config: Config) -> None:
        self._max_interval = 2 * config.poll.interval_seconds
        self._seen: dict[str, _Seen] = {}

    def collect(self, data: CycleData, out: SnapshotBuilder) -> None:
        view = data.cluster
        if view is None or view.groups is None:
            return
        if "groups" not in view.failed_stages:  # a partial listing forgets nothing
            for gone in self._seen.keys() - view.groups.keys():
                del self._seen[gone]
        seconds_rows, dynamic, protocols = (
            Rows(m) for m in (cat.GROUP_REBALANCING_SECONDS, cat.GROUP_DYNAMIC_MEMBERS,
                              cat.GROUP_REBALANCE_PROTOCOL)
        )  # fmt: skip
        for group_id, group in view.groups.items():
            now = hy.rebalancing(group)
            before = self._seen.get(group_id)
            seconds = 0.0
            if before is not None:
                seconds = before.seconds + hy.rebalancing_seconds(
                    before.rebalancing, now, view.taken_at - before.at, self._max_interval
                )
            self._seen[group_id] = _Seen(view.taken_at, now, seconds)
            seconds_rows.add((group_id,), seconds)
            dynamic.add((group_id,), hy.dynamic_members(group))
            protocol = hy.rebalance_protocol(group)
            protocols.add((group_id, protocol, group.assignor), 1)
        for rows in (seconds_rows, dynamic, protocols):
            rows.write(out)
