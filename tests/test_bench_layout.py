"""The benchmark's committed-offset layouts (`bench.scenarios`), without a broker: the scenario's
own (every committed partition at most messages/2 behind) and a lagging fraction (that share of
the partitions behind, spread over partitions, the others at the log end)."""

from __future__ import annotations

from collections import Counter

import pytest

from bench.scenarios import SCENARIOS


def test_own_layout_is_unchanged() -> None:
    s = SCENARIOS["medium"]
    offsets = [s.committed_offset(g, p) for g in range(s.groups) for p in range(s.partitions)]
    assert offsets == [s.messages - (g + p) % (s.messages // 2 + 1)
                       for g in range(s.groups) for p in range(s.partitions)]  # fmt: skip


@pytest.mark.parametrize("fraction", [0.0, 0.1, 0.5, 1.0])
def test_lagging_fraction(fraction: float) -> None:
    s = SCENARIOS["large"]
    behind: Counter[int] = Counter()
    total = 0
    for g in range(s.groups):
        for p in range(s.partitions):
            offset = s.committed_offset(g, p, fraction)
            assert s.messages // 2 <= offset <= s.messages
            if offset < s.messages:
                behind[p] += 1
            total += 1
    share = sum(behind.values()) / total
    assert abs(share - fraction) <= 0.01, share
    if 0 < fraction < 1:  # spread over the partition numbers, not all on one
        assert len(behind) == s.partitions
        assert max(behind.values()) <= 1.5 * min(behind.values())
