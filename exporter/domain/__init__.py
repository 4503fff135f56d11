"""Operational lessons as pure functions: dead letters, headroom, rebalance hygiene, lag status.

Nothing here does I/O or knows Prometheus. The collectors in `exporter.collectors` feed these
functions one poll's `ClusterView` (and the offsets of past polls, kept once for all of them in
`offset_history.OffsetHistory`, which the poller feeds) and write the results into the snapshot.
Each rule is a small named function so that it can be read and tested on its own.
"""
