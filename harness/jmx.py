"""Reading JMX values in tests, through jmxquery (one JVM per call: batch what you can)."""

from __future__ import annotations

from dataclasses import dataclass

from jmxquery import JMXConnection, JMXQuery

from harness.procs import HarnessError


@dataclass(frozen=True, slots=True)
class JmxValue:
    mbean: str
    attribute: str
    value: float | None


def jmx_query(url: str, patterns: list[str], timeout: float = 30.0) -> list[JmxValue]:
    """Query `mbean-pattern/attribute` strings (the attribute part optional) in one JVM call.

    Non-numeric values come back as None; NaN stays NaN.
    """
    queries = []
    for pattern in patterns:
        mbean, _, attribute = pattern.partition("/")
        queries.append(JMXQuery(mbean, attribute or None))
    try:
        found = JMXConnection(url).query(queries, timeout=timeout)
    except Exception as exc:
        raise HarnessError(f"JMX query of {url} failed: {exc}") from exc
    out = []
    for q in found:
        value: float | None
        try:
            value = float(q.value)
        except (TypeError, ValueError):
            value = None
        out.append(JmxValue(q.mBeanName, q.attribute, value))
    return out


def jmx_value(url: str, mbean: str, attribute: str = "Value", timeout: float = 30.0) -> float:
    """The numeric value of one attribute of one MBean; HarnessError when absent."""
    for item in jmx_query(url, [f"{mbean}/{attribute}"], timeout):
        if item.mbean == mbean and item.attribute == attribute and item.value is not None:
            return item.value
    raise HarnessError(f"no numeric {mbean}/{attribute} at {url}")
