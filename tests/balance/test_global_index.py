"""A region's compact global -> Trees index answers as a dense array over every global index would."""

import numpy as np

from scowl.balance.global_index import GlobalIndex


def test_lookups_match_a_dense_index_through_adds_removes_and_rebuilds():
    rng = np.random.default_rng(2)
    n_global = 100_003
    for _ in range(10):
        index, dense, next_local = GlobalIndex(n_global), np.full(n_global, -1, dtype=np.int64), 0
        for step in range(40):
            held = np.flatnonzero(dense >= 0)
            if rng.integers(0, 3) < 2:  # joiners: registrations (large, first steps), then handovers in (small)
                free = np.flatnonzero(dense < 0)
                k = int(rng.integers(0, min(free.size, 30_000 if step < 3 else 800) + 1))
                lo = rng.permutation(free)[:k]
                index.add(lo, np.arange(next_local, next_local + k))
                dense[lo] = np.arange(next_local, next_local + k)
                next_local += k
            elif held.size:  # leavers (handed to a peer); some come back later under a new Trees index
                lo = rng.permutation(held)[: int(rng.integers(0, min(held.size, 900) + 1))]
                index.remove(lo)
                dense[lo] = -1
            q = rng.integers(0, n_global, 5000)
            assert np.array_equal(index[q], dense[q])
            assert index.held == int(np.count_nonzero(dense >= 0))


def test_it_costs_about_five_bytes_per_consumer_held():
    n_global, n = 8_898_286 // 8, 2_276_640 // 8
    index = GlobalIndex(n_global)
    own = np.sort(np.random.default_rng(3).choice(n_global, n, replace=False))
    for part in np.array_split(np.arange(n), 4):  # four populations' registrations
        index.add(own[part], part)
    assert np.array_equal(index[own], np.arange(n))
    assert index.nbytes() < 5 * n  # (a dense int32 index: 4 B per global index, 15.6 B per one held here)
