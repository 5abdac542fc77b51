"""The largest served consumers (scowl.balance.served): the same picks as sorting every served
consumer by demand, largest first, ties by index, and taking the longest prefix that fits."""

import numpy as np
import pytest

from scowl.balance.served import LargestServed
from scowl.balance.trees import ABSENT, STARVED, Trees


def _whole_order(trees: Trees, max_mw: float, exclude: np.ndarray) -> np.ndarray:
    """The definition: every served consumer not excluded, by (-demand, index), the longest prefix worth <= max_mw."""
    cand = np.flatnonzero(trees.assignment >= 0)
    cand = cand[~np.isin(cand, exclude)]
    if max_mw <= 0 or not cand.size:
        return np.zeros(0, dtype=np.int64)
    d = trees.demand[cand].astype(np.float64)
    top = np.lexsort((cand, -d))
    return np.sort(cand[top[np.cumsum(d[top]) <= max_mw]])


def _trees(rng: np.random.Generator, n: int, ties: bool) -> Trees:
    d = rng.integers(0, 6, n).astype(np.float32) * np.float32(0.25) if ties else rng.lognormal(-7, 1.2, n).astype(np.float32)
    a = rng.choice(np.array([0, 1, 2, STARVED, ABSENT], dtype=np.int32), n, p=[0.3, 0.3, 0.3, 0.05, 0.05])
    return Trees(np.full(3, 1e9), d, a)


@pytest.mark.parametrize("block", [None, 4096])  # 4096: a head's floor looked for 16,384 indices at a time
@pytest.mark.parametrize("ties", [False, True])
def test_picks_in_a_row_are_the_whole_orders(monkeypatch, ties, block):
    if block is not None:
        import scowl.balance.served as served

        monkeypatch.setattr(served, "_BLOCK", block)
    rng = np.random.default_rng(11 + ties)
    for trial in range(12):
        n = int(rng.choice([1, 50, 3_000, 200_000]))
        trees = _trees(rng, n, ties)
        served_mw = float(trees.demand[trees.assignment >= 0].astype(np.float64).sum())
        largest = LargestServed(trees)
        taken = rng.choice(n, min(n, 40), replace=False).astype(np.int64)  # pending ones: never picked
        for share in rng.choice([0.0, 1e-6, 1e-4, 0.01, 0.3, 2.0], 5):  # small picks, and ones past the whole region
            want = _whole_order(trees, share * served_mw, taken)
            got = largest.pick(share * served_mw, taken)
            assert np.array_equal(got, want), (trial, n, share)
            assert got.dtype == np.int64
            taken = np.concatenate([taken, got])


def test_zero_demands_and_nothing_served():
    trees = Trees(np.full(2, 10.0), np.zeros(1000, dtype=np.float32), np.zeros(1000, dtype=np.int32))
    assert np.array_equal(LargestServed(trees).pick(1.0, np.zeros(0, dtype=np.int64)), np.arange(1000))  # zeros: every one fits
    trees = Trees(np.full(2, 10.0), np.ones(1000, dtype=np.float32), np.full(1000, STARVED, dtype=np.int32))
    assert LargestServed(trees).pick(5.0, np.zeros(0, dtype=np.int64)).size == 0
    assert LargestServed(trees).pick(-1.0, np.zeros(0, dtype=np.int64)).size == 0
