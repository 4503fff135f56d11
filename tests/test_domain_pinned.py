"""The collectors' inlined fast copies of the domain rules, pinned to the reference functions:
for any history of log-end offsets and any committed offsets, the consumer-lag loop writes the
lag and lag seconds that `exporter.domain.lag_time` gives; the admin source names group states as
`exporter.domain.groups` lists them."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from exporter.catalog import admin as cat
from exporter.collectors.base import admin_data
from exporter.collectors.consumer_lag import ConsumerLagCollector
from exporter.config import Config, PollConfig
from exporter.domain.groups import GROUP_STATES, REBALANCING_STATES, is_rebalancing
from exporter.domain.lag_time import LagClock, lag_messages, lag_seconds
from exporter.domain.offset_history import OffsetHistory
from exporter.snapshot import SnapshotBuilder
from exporter.sources.admin_convert import GROUP_STATES as PARSED_STATES
from exporter.sources.admin_model import ClusterView, Offsets, PartitionMeta, TopicMeta

PARTITIONS = 3
ends_of_poll = st.lists(st.integers(-1, 60), min_size=PARTITIONS, max_size=PARTITIONS)


def _view(at: float, ends: list[int], committed: dict[int, int] | None) -> ClusterView:
    parts = tuple(PartitionMeta("t", p, 1, (1,), (1,)) for p in range(PARTITIONS))
    return ClusterView(
        taken_at=at,
        topics={"t": TopicMeta("t", parts)},
        offsets={("t", p): Offsets(0, e) for p, e in enumerate(ends)},
        committed=None if committed is None else {"g": {("t", p): c for p, c in committed.items()}},
    )


@settings(max_examples=300, deadline=None)
@given(
    polls=st.lists(
        st.tuples(st.floats(0.5, 60, allow_nan=False), ends_of_poll), min_size=1, max_size=8
    ),
    committed=st.lists(st.integers(0, 70), min_size=PARTITIONS, max_size=PARTITIONS),
    points=st.integers(2, 6),
    extrapolation=st.sampled_from([0.0, 5.0, 600.0]),
)
def test_the_consumer_lag_loop_writes_what_the_domain_functions_give(
    polls: list[tuple[float, list[int]]], committed: list[int], points: int, extrapolation: float
) -> None:
    config = Config(
        poll=PollConfig(lag_history_points=points, lag_max_extrapolation_seconds=extrapolation)
    )
    collector = ConsumerLagCollector(config)
    offset_history = OffsetHistory.of(config)
    reference = LagClock(points, extrapolation)
    at = 1_000.0
    out = SnapshotBuilder()
    for i, (step, ends) in enumerate(polls):
        at += step
        last = i == len(polls) - 1
        view = _view(at, ends, dict(enumerate(committed)) if last else None)
        out = SnapshotBuilder()
        collector.collect(admin_data(at, view, offset_history), out)
        known = [("t", p) for p in range(PARTITIONS)]  # in the metadata: kept when unread
        reference.observe({("t", p): e for p, e in enumerate(ends)}, at, keep=known)
    snap = out.build(taken_at=at)
    final_ends = polls[-1][1]
    clamped = 0
    for p, offset in enumerate(committed):
        labels = ("g", "t", str(p))
        end = final_ends[p]
        if end < 0:
            assert snap.value(cat.GROUP_LAG, *labels) is None
            continue
        lag, was_clamped = lag_messages(end, offset)
        clamped += was_clamped
        assert snap.value(cat.GROUP_LAG, *labels) == lag
        history = reference.history(("t", p))
        seconds = 0.0 if lag == 0 else lag_seconds(history, offset, at, extrapolation)
        assert snap.value(cat.GROUP_LAG_SECONDS, *labels) == seconds
    assert collector.clamped_total == clamped


def test_the_admin_source_names_states_as_the_domain_lists_them() -> None:
    assert set(PARSED_STATES.values()) == set(GROUP_STATES)
    assert len(set(GROUP_STATES)) == len(GROUP_STATES)
    assert [s for s in GROUP_STATES if is_rebalancing(s)] == list(REBALANCING_STATES)
