"""The benchmark's committed-offset layouts (`bench.scenarios`), without a broker: the scenario's
own (every committed partition at most messages/2 behind) and a lagging fraction (that share of
the groups behind on all their partitions, spread over the topics, the others at the log end)."""

from __future__ import annotations

from collections import Counter

import pytest

from bench.scenarios import SCENARIOS, lagging_groups


def test_own_layout_is_unchanged() -> None:
    s = SCENARIOS["medium"]
    offsets = [s.committed_offset(g, p) for g in range(s.groups) for p in range(s.partitions)]
    assert offsets == [s.messages - (g + p) % (s.messages // 2 + 1)
                       for g in range(s.groups) for p in range(s.partitions)]  # fmt: skip


@pytest.mark.parametrize("fraction", [0.0, 0.1, 0.5, 1.0])
def test_lagging_fraction(fraction: float) -> None:
    s = SCENARIOS["large"]
    topics: Counter[int] = Counter()
    behind = 0
    for g in range(s.groups):
        for p in range(s.partitions):
            offset = s.committed_offset(g, p, fraction)
            assert s.messages // 2 <= offset <= s.messages
            if offset < s.messages:  # two behind at least: moved one back, still behind
                assert offset <= s.messages - 2
                topics[g % s.topics] += 1
                behind += 1
    share = behind / (s.groups * s.partitions)
    assert abs(share - fraction) <= 0.02, share  # a hash of 10,000 groups
    if 0 < fraction < 1:  # whole groups, spread over the topics (10 groups on each)
        assert len(topics) >= 0.8 * s.topics * (1 - (1 - fraction) ** 10)
        assert all(n % s.partitions == 0 for n in topics.values())
    assert len(lagging_groups(s, fraction)) == behind // s.partitions
