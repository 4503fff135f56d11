"""The one interface of the bundle's PromQL builders, and the alert rules' builder.

A signal (`bundle.<theme>.signals`: each expression written once, used by an alert and by the
panels that draw it) takes a `Query`: the one interface of the bundle's PromQL builders, with
`by(labels...)` (the cluster label kept first when it is set), `sel(metric, matchers...)` (the
family scoped to the bundle's selector), and `rate` / `increase` over a window. Alert rules pass a
`RuleQuery` (the `common.selector` of the bundle config); dashboards pass their `Scope` (the `$job`
/ `$cluster` variables). The same signal then reads the same in the rule file and on the panel
(only the scoping matchers and, where a panel follows the time range, the window differ), and a
test compares the two.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bundle.core.promql import by, sel
from bundle.core.settings import Common
from exporter.catalog import Metric


class Configured(Protocol):
    """What `RuleQuery.of` reads of the bundle configuration: its common settings."""

    @property
    def common(self) -> Common: ...


class Query(Protocol):
    def by(self, *labels: str) -> str: ...

    def sel(self, metric: Metric, *extra: str, sample: str = "") -> str: ...

    def rate(
        self, metric: Metric, *extra: str, window: str = "", offset: str = "", sample: str = ""
    ) -> str: ...

    def increase(self, metric: Metric, window: str, *extra: str) -> str: ...


@dataclass(frozen=True, slots=True)
class RuleQuery:
    """The alert rules' builder: the thresholds' selector and cluster label."""

    selector: str
    cluster_label: str

    def by(self, *labels: str) -> str:
        return by(self.cluster_label, *labels)

    def sel(self, metric: Metric, *extra: str, sample: str = "") -> str:
        return sel(metric, self.selector, *extra, sample=sample)

    def rate(
        self, metric: Metric, *extra: str, window: str = "", offset: str = "", sample: str = ""
    ) -> str:
        """`rate(family{...}[window] offset X)`; a rule always names its window."""
        if not window:
            raise ValueError(f"rate of {metric.name}: a rule needs its window")
        inner = sel(metric, self.selector, *extra, range_=window, offset=offset, sample=sample)
        return f"rate({inner})"

    def increase(self, metric: Metric, window: str, *extra: str) -> str:
        return f"increase({sel(metric, self.selector, *extra, range_=window)})"

    @classmethod
    def of(cls, t: Configured) -> RuleQuery:
        return cls(t.common.selector, t.common.cluster_label)
