"""Check exposition text with the real `promtool check metrics` (from the Debian package
`prometheus`).

promtool's linter flags one kind of name the catalog keeps on purpose, for compatibility with
existing dashboards: kafka_exporter's gauges ending in `_sum` (`kafka_consumergroup_lag_sum`).
Those lint lines, and only those, are accepted (docs/metrics.md says why).
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

KAFKA_EXPORTER_SUM_GAUGES = (
    "kafka_consumergroup_lag_sum",
    "kafka_consumergroup_current_offset_sum",
)
ACCEPTED_LINT = frozenset(
    f'{name} non-histogram and non-summary metrics should not have "_sum" suffix'
    for name in KAFKA_EXPORTER_SUM_GAUGES
)


def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail(
            "promtool is missing: install the Debian package `prometheus` "
            "(sudo apt-get install prometheus, or make system-deps)",
            pytrace=False,
        )
    return path


def check_metrics(body: bytes) -> None:
    """Fail unless promtool parses `body` and finds nothing but the accepted lint lines."""
    proc = subprocess.run(
        [promtool(), "check", "metrics"], input=body, capture_output=True, timeout=60, check=False
    )
    output = (proc.stdout + proc.stderr).decode("utf-8", "replace")
    problems = [line for line in output.splitlines() if line and line not in ACCEPTED_LINT]
    assert proc.returncode in (0, 3), f"promtool check metrics failed:\n{output}"
    assert not problems, "promtool check metrics found problems:\n" + "\n".join(problems)
