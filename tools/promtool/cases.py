"""The vocabulary of promtool test scenarios: series on a one-minute grid, checks, expectations.

Scenario modules (`consumers`, `cluster`, ...) build `Scenario`s from a `Ctx`;
`suite` turns them into promtool's YAML. `expand` renders the description templates the
way Prometheus does, because promtool compares annotations exactly.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from bundle.config import BundleConfig, seconds
from bundle.core.promql import num, parse_selector


class UnsupportedSelector(ValueError):
    """The selector has regex matchers, so no input series can be built for it."""


@dataclass(frozen=True, slots=True)
class Expect:
    """One alert that must be firing: its identifying labels and the value it shows."""

    labels: Mapping[str, str]
    value: float


@dataclass(frozen=True, slots=True)
class Check:
    at: int
    """Minute of the evaluation."""
    firing: tuple[Expect, ...] = ()
    why: str = ""


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    labels: Mapping[str, str]
    values: str


@dataclass(frozen=True, slots=True)
class Scenario:
    alert: str
    name: str
    series: tuple[Series, ...]
    checks: tuple[Check, ...]


@dataclass(slots=True)
class Values:
    """promtool's series notation, built from segments on the one-minute grid."""

    parts: list[str] = field(default_factory=list)
    last: float = 0.0
    count: int = 0

    def hold(self, value: float, n: int) -> Values:
        """`n` samples of `value`."""
        return self.ramp(0, n, start=value)

    def ramp(self, step: float, n: int, start: float | None = None) -> Values:
        """`n` samples rising by `step` per minute, from `start` or after the last sample."""
        if n <= 0:
            return self
        first = start if start is not None else self.last + step
        sign = "-" if step < 0 else "+"
        self.parts.append(f"{num(first)}{sign}{num(abs(step))}x{n - 1}")
        self.last, self.count = first + step * (n - 1), self.count + n
        return self

    def explicit(self, values: list[float]) -> Values:
        self.parts.extend(num(v) for v in values)
        self.last, self.count = (values[-1] if values else self.last), self.count + len(values)
        return self

    def nan(self, n: int) -> Values:
        self.parts.extend(["NaN"] * n)
        self.count += n
        return self

    def gap(self, n: int) -> Values:
        """`n` minutes without a sample (the last value stays visible for 5 m of lookback)."""
        if n > 0:
            self.parts.append(f"_x{n}")
            self.count += n
        return self

    def stale(self) -> Values:
        """The series ends now, as when the exporter stops serving it."""
        self.parts.append("stale")
        self.count += 1
        return self

    def text(self) -> str:
        return " ".join(self.parts)


@dataclass(frozen=True, slots=True)
class Ctx:
    """What scenarios need from the thresholds: timings in minutes and the labels to attach."""

    t: BundleConfig
    base: Mapping[str, str]
    """Labels every input series carries: the selector's equality matchers and the cluster."""
    cluster: Mapping[str, str]
    """The cluster label alone: what survives the rules' `by (cluster, ...)`."""

    def minutes(self, duration: str) -> int:
        return math.ceil(seconds(duration) / 60)

    def series(self, name: str, labels: Mapping[str, str], values: Values) -> Series:
        return Series(name, {**self.base, **labels}, values.text())

    def entity(self, **labels: str) -> dict[str, str]:
        """Labels of an aggregated alert: cluster plus the given ones."""
        return {**self.cluster, **labels}


def context(t: BundleConfig) -> Ctx:
    base: dict[str, str] = {}
    for name, op, value in parse_selector(t.common.selector):
        if op == "=":
            base[name] = value
        elif op == "=~":
            raise UnsupportedSelector(f"selector matcher {name}=~ needs a concrete label value")
    cluster = {t.common.cluster_label: "c1"} if t.common.cluster_label else {}
    return Ctx(t, {**base, **cluster}, cluster)


_TEMPLATE = re.compile(r"\{\{\s*(\$labels\.(\w+)|\$value(?:\s*\|\s*(\w+))?)\s*\}\}")


def go_float(v: float) -> str:
    """A float as Go's %v prints it (shortest form, exponent from 1e21)."""
    if float(v).is_integer() and abs(v) < 1e21:
        return str(int(v))
    return repr(v)


def humanize(v: float) -> str:
    """Prometheus' `humanize` template function."""
    if v == 0 or math.isnan(v) or math.isinf(v):
        return f"{v:.4g}"
    prefix = ""
    if abs(v) >= 1:
        for p in ("k", "M", "G", "T", "P", "E", "Z", "Y"):
            if abs(v) < 1000:
                break
            prefix, v = p, v / 1000
    else:
        for p in ("m", "u", "n", "p", "f", "a", "z", "y"):
            if abs(v) >= 1:
                break
            prefix, v = p, v * 1000
    return f"{v:.4g}{prefix}"


def humanize_duration(v: float) -> str:
    """Prometheus' `humanizeDuration` template function, for the values tests use."""
    if v == 0:
        return "0s"
    if abs(v) < 1:  # milli-, micro-, nanoseconds...
        prefix = ""
        for p in ("m", "u", "n", "p", "f", "a", "z", "y"):
            if abs(v) >= 1:
                break
            prefix, v = p, v * 1000
        return f"{v:.4g}{prefix}s"
    sign = "-" if v < 0 else ""
    s = int(abs(v))
    days, hours, minutes, secs = s // 86400, s // 3600 % 24, s // 60 % 60, s % 60
    if days:
        return f"{sign}{days}d {hours}h {minutes}m {secs}s"
    if hours:
        return f"{sign}{hours}h {minutes}m {secs}s"
    if minutes:
        return f"{sign}{minutes}m {secs}s"
    return f"{sign}{abs(v):.4g}s"


_PIPES: dict[str, Callable[[float], str]] = {
    "": go_float,
    "humanize": humanize,
    "humanizeDuration": humanize_duration,
}


def expand(template: str, labels: Mapping[str, str], value: float) -> str:
    """Expand the few template forms our descriptions use, exactly as Prometheus would."""

    def one(m: re.Match[str]) -> str:
        if m.group(2):
            return labels.get(m.group(2), "")
        return _PIPES[m.group(3) or ""](value)

    return _TEMPLATE.sub(one, template)


def standard_checks(ctx: Ctx, start: int, for_: str, keep: str, fired: Expect) -> list[Check]:
    """Checks for a condition that holds from minute `start` for `for_` + 5 minutes, then ends.

    Before `start` nothing fires; before `for_` elapses it is only pending; then it fires; it is
    held while `keep_firing_for` lasts and resolved after.
    """
    f, k = ctx.minutes(for_), ctx.minutes(keep)
    end = start + f + 5
    checks = [Check(start - 1, why="condition not met yet")]
    if f >= 1:
        checks.append(Check(start + f - 1, why="condition met, but for has not elapsed"))
    checks.append(Check(start + f + 1, (fired,), why="condition met for longer than for"))
    if k >= 2:
        checks.append(Check(end + 1, (fired,), why="held by keep_firing_for"))
    checks.append(Check(end + k + 1, why="resolved"))
    return checks
