"""The one home of component matching (emviz.common.match_by_cost / match_counts) against a
brute-force search over every one-to-one pairing."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from emviz.common import match_by_cost, match_counts


@pytest.mark.parametrize(("R", "C", "seed"), [(3, 3, 0), (3, 4, 1), (4, 4, 2), (2, 5, 3)])
def test_matching_equals_brute_force(R, C, seed):
    rng = np.random.default_rng(seed)
    cost = rng.random((R, C))
    order = match_by_cost(cost)
    best = min(itertools.permutations(range(C), R), key=lambda p: cost[np.arange(R), list(p)].sum())
    assert cost[np.arange(R), order].sum() == pytest.approx(cost[np.arange(R), list(best)].sum())
    assert len(set(order.tolist())) == R
    table = rng.integers(0, 20, size=(R, C))
    rows, cols, correct = match_counts(table)
    most = max(sum(table[r, p[r]] for r in range(R)) for p in itertools.permutations(range(C), R))
    assert correct == most == int(table[rows, cols].sum())
