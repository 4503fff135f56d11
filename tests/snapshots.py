"""Hand-built snapshots for the renderer and HTTP tests: every metric type, hostile group ids,
special float values."""

from __future__ import annotations

import math

from exporter.catalog import admin, jmx, own
from exporter.snapshot import Snapshot, SnapshotBuilder

HOSTILE_GROUPS = (
    "plain-group",
    'quote"inside',
    "back\\slash",
    "new\nline",
    "ünïcødé-グループ-😀",
    'all\\"\n-of-them\\n',
    "trailing\\",
    "{braces},=commas",
    "100%-done %s %r %%",
)


def golden_snapshot() -> Snapshot:
    b = SnapshotBuilder()
    b.add(admin.BROKERS, (), 3)
    b.add(admin.BROKER_INFO, ("1", "127.0.0.1:9092", ""), 1)
    b.add(admin.BROKER_INFO, ("2", "127.0.0.1:9093", "rack-b"), 1)
    for i, group in enumerate(HOSTILE_GROUPS):
        b.add(admin.GROUP_LAG, (group, "orders", str(i % 3)), i * 1000)
        b.add(admin.GROUP_MEMBERS, (group,), i)
    b.add(admin.PARTITION_CURRENT_OFFSET, ("orders", "0"), 123456789012)
    b.add(admin.PARTITION_CURRENT_OFFSET, ("orders", "1"), 2.0**63)
    b.add(jmx.REQUEST_TOTAL_TIME, ("broker-1", "Produce", "0.50"), 1.25)
    b.add(jmx.REQUEST_TOTAL_TIME, ("broker-1", "Produce", "0.99"), 17.5)
    b.add(jmx.REQUEST_TOTAL_TIME, ("broker-1", "Produce"), 5125.5, "_sum")
    b.add(jmx.REQUEST_TOTAL_TIME, ("broker-1", "Produce"), 4100, "_count")
    b.add(jmx.MESSAGES_IN, ("broker-1", ""), 1e20)
    b.add(jmx.MESSAGES_IN, ("broker-1", "orders"), 42)
    b.add(jmx.CLIENT_RECORDS_LAG_MAX, ("client-1", "nan-client"), math.nan)
    b.add(jmx.CLIENT_RECORDS_LAG_MAX, ("client-1", "inf-client"), math.inf)
    b.add(jmx.CLIENT_RECORDS_LAG_MAX, ("client-1", "minus-inf-client"), -math.inf)
    b.add(jmx.CLIENT_RECORDS_LAG_MAX, ("client-1", "small"), 1e-05)
    b.add(jmx.CLIENT_RECORDS_LAG_MAX, ("client-1", "negative"), -0.5)
    b.add(own.UP, ("admin", ""), 1)
    b.add(own.UP, ("jmx", "broker-1"), 0)
    b.add(own.POLL_ERRORS, ("admin",), 2)
    b.add(own.LAST_POLL, (), 1_700_000_000.25)
    return b.build(1_700_000_000.25)
