import numpy as np

from scowl.balance.local_index import DENSE_MIN, PAGE, LocalIndex


def test_the_local_index_reads_minus_one_where_nothing_was_written_and_forgets_what_is_cleared():
    table = LocalIndex(1 << 21)  # (past 4 MB: the pages advised as used, on Linux)
    empty = table.resident_bytes()  # (the bitmap and its ranks: 2 bits and a half a global index)
    assert table.size == 1 << 21 and empty == (1 << 21) // 8 + ((1 << 21) // 64 + 1) * 4
    assert table[np.array([0, 5, (1 << 21) - 1])].tolist() == [-1, -1, -1]
    table[np.array([5, 1 << 20], dtype=np.int64)] = np.array([0, 7], dtype=np.int64)
    assert table[np.array([5, 1 << 20, 6])].tolist() == [0, 7, -1]
    table[np.array([5])] = -1
    assert table[np.array([5, 1 << 20])].tolist() == [-1, 7]
    assert table.listed == 1 and table.resident_bytes() == empty + 4  # a few entries on a page: listed, no page written


def test_a_page_many_entries_fall_on_is_written_and_takes_in_those_listed_on_it():
    table = LocalIndex(10 * PAGE)
    empty = table.resident_bytes()
    table[np.array([3 * PAGE + 1, 7 * PAGE])] = np.array([11, 12])
    assert table.listed == 2 and table.resident_bytes() == empty + 8
    many = 3 * PAGE + 2 + np.arange(DENSE_MIN)
    table[many] = np.arange(DENSE_MIN)
    assert table.listed == 1  # page 3 written, its listed entry with it; page 7's still listed
    assert table.resident_bytes() == empty + PAGE * 4 + 4
    assert table[np.r_[3 * PAGE + 1, many[[0, -1]], 7 * PAGE, 3 * PAGE]].tolist() == [11, 0, DENSE_MIN - 1, 12, -1]


def test_the_local_index_answers_as_a_plain_table_through_random_writes_and_clears():
    n = 40 * PAGE
    rng = np.random.default_rng(7)
    table, plain = LocalIndex(n), np.full(n, -1, dtype=np.int32)
    for step in range(300):
        kind = rng.integers(4)
        if kind == 0:  # a run of many on a few pages (a registration)
            a = int(rng.integers(n - 3000))
            key = np.arange(a, a + int(rng.integers(1, 3000)))
        else:  # a few scattered, some repeated (a handover, a release)
            key = rng.integers(0, n, int(rng.integers(1, 60)))
        val = rng.integers(-1, 1 << 20, key.size) if kind != 3 else -1
        key = key.astype(rng.choice([np.int64, np.uint32]))
        table[key], plain[key] = val, val  # (repeated keys: the last written wins in both)
        ask = rng.integers(0, n, 500).astype(np.uint32)
        assert (table[ask] == plain[ask]).all() and (table.lookup(ask) == plain[ask]).all(), step
    assert (table[np.arange(n)] == plain).all()
    assert 0 < table.listed < n // 8
