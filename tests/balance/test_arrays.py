"""The balance policy's array helpers give numpy's own answers, only faster."""

import numpy as np
import pytest

from scowl.balance.arrays import argsort_demand, blocks, gather, isin_ints, or_at, pick, scatter


@pytest.mark.parametrize("descending", [False, True])
def test_argsort_demand_is_numpys_stable_argsort(descending):
    rng = np.random.default_rng(4)
    cases = [rng.lognormal(-7, 1, 300_000).astype(np.float32).astype(np.float64),  # the radix route
             rng.integers(0, 4, 20_000).astype(np.float32),  # many ties and zeros, float32 as given
             np.where(rng.random(10_000) < 0.3, -0.0, rng.random(10_000)).astype(np.float32).astype(np.float64),  # -0.0 is 0.0
             rng.random(10_000) * 1.000001,  # not float32 values: np.argsort
             rng.random(100)]  # small: np.argsort
    for d in cases:
        assert np.array_equal(argsort_demand(d, descending), np.argsort(-d if descending else d, kind="stable"))
        assert np.array_equal(argsort_demand(d, descending, int32=True), np.argsort(-d if descending else d, kind="stable"))


def test_pick_is_boolean_indexing_on_any_mask():
    rng = np.random.default_rng(6)
    a = rng.integers(0, 1000, 5000)
    for share in (0.0, 0.01, 0.5, 0.96, 1.0):
        mask = rng.random(a.size) < share
        assert np.array_equal(pick(a, mask), a[mask])


def test_isin_ints_is_np_isin():
    rng = np.random.default_rng(8)
    for na, nb, hi in ((0, 5, 10), (5, 0, 10), (1000, 30, 50), (2000, 50_000, 3_000_000), (50_000, 2000, 3_000_000), (300, 300, 400)):
        a, b = rng.integers(0, hi, na), rng.integers(0, hi, nb)
        assert np.array_equal(isin_ints(a, b), np.isin(a, b))
    a = np.arange(10, dtype=np.int64)
    assert np.array_equal(isin_ints(a, np.array([9, 0, 9], dtype=np.int32)), np.isin(a, [0, 9]))  # repeats, other dtype


def test_blocks_cut_parts_in_order_and_keep_one_empty_block():
    a, b = np.arange(10), np.arange(10) * 2
    c, d = np.arange(100, 103), np.arange(3)
    got = blocks((a, b), (c, d), size=4)
    assert [x.size for x, _ in got] == [4, 4, 2, 3]
    assert np.array_equal(np.concatenate([x for x, _ in got]), np.r_[a, c])
    assert np.array_equal(np.concatenate([y for _, y in got]), np.r_[b, d])
    empty = blocks((a[:0], b[:0]), (c[:0], d[:0]))
    assert len(empty) == 1 and empty[0][0].size == 0 and empty[0][0].dtype == a.dtype


def test_bucket_order_is_one_stable_sort_of_the_whole_built_a_block_at_a_time():
    from scowl.balance.arrays import bucket_order

    rng = np.random.default_rng(7)
    for n, block in ((0, 4), (1, 4), (9, 4), (1000, 64), (5000, 1 << 16)):
        values = rng.integers(-2, 6, n).astype(np.int32)
        order, start = bucket_order(values, -2, 5, block=block)
        assert order.dtype == np.int32
        assert np.array_equal(order, np.argsort(values, kind="stable"))
        assert np.array_equal(start, np.r_[0, np.cumsum(np.bincount(values + 2, minlength=8))])


def test_bin_sums_are_bincounts_to_the_bit_built_a_block_at_a_time():
    from scowl.balance.arrays import bin_sums

    rng = np.random.default_rng(3)
    bins = rng.integers(0, 40, 300_000).astype(np.int32)
    weights = (rng.random(300_000) * 0.003).astype(np.float32)
    where = rng.random(300_000) < 0.7
    assert np.array_equal(bin_sums(bins, weights, 41, block=1000), np.bincount(bins, weights=weights, minlength=41))
    assert np.array_equal(bin_sums(bins, weights, 41, where=where, block=1000),
                          np.bincount(bins[where], weights=weights[where], minlength=41))
    assert np.array_equal(bin_sums(bins[:10], weights[:10], 41), np.bincount(bins[:10], weights=weights[:10], minlength=41))


def test_a_reports_changes_by_generator_and_index_order_are_numpys_to_the_bit_a_block_at_a_time(monkeypatch):
    import scowl.balance.arrays as arrays
    from scowl.balance.arrays import _last_wins, change_sums, in_index_order

    rng = np.random.default_rng(4)
    calls: list[int] = []  # (unique indices sort as pairs, not by _last_wins' argsort)
    monkeypatch.setattr(arrays, "_last_wins", lambda i, v: calls.append(1) or _last_wins(i, v))
    for n, repeat in ((300_000, False), (300_000, True), (70_000, False), (3, False)):
        idx = rng.permutation(2 * n)[:n].astype(np.int32)  # (unsorted: peers' consumers come after a population's)
        if repeat:  # the last report of an index wins
            idx[5] = idx[2]
        values = (rng.random(n) * 3).astype(np.float32)
        values[: n // 10] = 0.0
        calls.clear()
        got, want = in_index_order(idx, values), _last_wins(idx.astype(np.int64), values)
        assert len(calls) == int(repeat)
        assert np.array_equal(got[0], want[0]) and np.array_equal(got[1].view(np.uint32), want[1].view(np.uint32))
        assert got[0].dtype == np.int32
        gen = rng.integers(-1, 40, n).astype(np.int32)
        was = (rng.random(n) * 3).astype(np.float32)
        assert np.array_equal(change_sums(gen, values, was, 41, 1), np.bincount(gen + 1, weights=values.astype(np.float64) - was, minlength=41))


def test_in_queue_order_says_when_the_queue_merges_sort_would_change_nothing_a_block_at_a_time():
    from scowl.balance.arrays import in_queue_order, unique_ints

    rng = np.random.default_rng(5)
    seen = set()
    for n, block in ((0, 4), (1, 4), (10, 4), (1000, 64)):
        assign = rng.integers(-1, 1, 2 * n + 1).astype(np.int32)
        key = np.sort(rng.integers(0, 3, 2 * n + 1)).astype(np.int32)
        for _ in range(30):
            idx = np.sort(rng.choice(2 * n + 1, n, replace=False)).astype(np.int32)
            if rng.random() < 0.5:  # as a registration's joiners come: all at -1, by index (and so by key)
                idx = idx[assign[idx] == -1]
            elif idx.size > 1 and rng.random() < 0.5:  # one out of order (maybe across a block's end)
                i = int(rng.integers(1, idx.size))
                idx[i - 1], idx[i] = idx[i], idx[i - 1]
            got = in_queue_order(idx, assign, key, -1, block=block)
            want = bool((assign[idx] == -1).all()) and bool((np.diff(idx.astype(np.int64)) > 0).all())
            assert got == want
            if got:  # the merge's own sort gives them back as they are
                u = unique_ints(idx[assign[idx] == -1])
                assert np.array_equal(u[np.lexsort((u, key[u]))], idx)
            seen.add(got)
    assert seen == {True, False}
    minus = np.full(6, -1, dtype=np.int32)
    assert not in_queue_order(np.array([0, 1, 2, 3], dtype=np.int32), minus, np.array([0, 0, 1, 0, 0, 0], dtype=np.int32), -1, block=2)
    assert not in_queue_order(np.array([0, 1, 2, 3], dtype=np.int32), minus, np.array([0, 0, 0, 0, 0, 0]) - np.arange(6), -1, block=3)


@pytest.mark.parametrize("n", [0, 1, 7, 8, 129, 1000, 4099, 70_001])
def test_sum_at_is_the_gathered_float64_sum_to_the_bit_halved_to_small_leaves(n):
    from scowl.balance.arrays import sum_at
    rng = np.random.default_rng(n)
    values = (rng.lognormal(0.0, 3.0, n + 5) * 1e-3).astype(np.float32)  # (wide range: any other order of adds differs)
    idx = rng.permutation(n + 5)[:n].astype(np.int32)
    whole = float(values[idx].astype(np.float64).sum())
    for leaf in (1, 128, 1000, 1 << 16):
        assert sum_at(values, idx, leaf) == whole
    if n > 1000:  # the test can fail: a plain blockwise sum is not the same float
        blockwise = sum(float(values[idx[a : a + 1000]].astype(np.float64).sum()) for a in range(0, n, 1000))
        assert blockwise != whole


def test_gather_or_is_the_clipped_gather_with_missing_where_negative_a_block_at_a_time():
    from scowl.balance.arrays import gather_or
    rng = np.random.default_rng(5)
    values = rng.integers(0, 1 << 40, 77)
    idx = rng.integers(-1, 77, 10_000).astype(np.int32)
    want = values[np.maximum(idx, 0)]
    want[idx < 0] = -7
    for block in (1, 333, 1 << 16):
        got = gather_or(values, idx, -7, block)
        assert np.array_equal(got, want) and got.dtype == want.dtype
    assert gather_or(values, idx[:0], -7).size == 0


@pytest.mark.parametrize("block", [3, 1 << 18])
def test_span_start_finds_a_run_of_indices_a_block_at_a_time(block):
    from scowl.balance.arrays import span_start

    assert span_start(np.arange(5, 25, dtype=np.int32), block=block) == 5
    assert span_start(np.arange(0, 1, dtype=np.int64), block=block) == 0
    assert span_start(np.zeros(0, dtype=np.int64), block=block) is None
    assert span_start(np.r_[np.arange(5, 12), 13, 12, np.arange(14, 25)], block=block) is None  # same ends, swapped
    assert span_start(np.r_[np.arange(5, 12), np.arange(13, 26)], block=block) is None
    assert span_start(np.array([3, 3, 5, 6]), block=block) is None


@pytest.mark.parametrize("dtype", [np.int32, np.uint32, np.int64])
@pytest.mark.parametrize("n", [0, 5, 70_000])
def test_gather_scatter_or_at_equal_fancy_indexing(dtype, n):
    """The int64-block routes give what fancy indexing gives, for any index dtype and past one block."""
    rng = np.random.default_rng(7)
    values = rng.random(200_000).astype(np.float32)
    idx = np.sort(rng.choice(values.size, n, replace=False)).astype(dtype)
    assert np.array_equal(gather(values, idx, block=4096), values[idx.astype(np.int64)])
    new = rng.random(n).astype(np.float32)
    got, want = values.copy(), values.copy()
    scatter(got, idx, new, block=4096)
    want[idx.astype(np.int64)] = new
    assert np.array_equal(got, want)
    flags, want_flags = np.zeros(values.size, np.uint8), np.zeros(values.size, np.uint8)
    flags[::3] = 2
    want_flags[::3] = 2
    or_at(flags, idx, 1, block=4096)
    want_flags[idx.astype(np.int64)] |= 1
    assert np.array_equal(flags, want_flags)
