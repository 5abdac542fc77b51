"""scowl.idrows: the hashed id -> row table gives what a dict gives, for any id in or out of it."""

import numpy as np
import pytest

from scowl.idrows import IdRows


@pytest.mark.parametrize("n", [0, 1, 455, 1024, 1025, 3000])
def test_rows_equal_a_dicts_for_known_and_unknown_ids(n):
    rng = np.random.default_rng(n)
    known = rng.choice(np.arange(-(2**31), 2**31, 7919, dtype=np.int64), n, replace=False)
    table = IdRows(known.tolist())
    row_of = {int(g): i for i, g in enumerate(known)}
    strangers = rng.integers(-(2**31), 2**31, 5000)
    probe = np.concatenate([known, strangers, known + 2**32, [2**40, -(2**40)]]).astype(np.int64)
    rng.shuffle(probe)
    want = np.array([row_of.get(int(g), -1) for g in probe], dtype=np.int64)
    np.testing.assert_array_equal(table.rows(probe), want)
    np.testing.assert_array_equal(table.rows(probe[np.abs(probe) < 2**31].astype(np.int32)),
                                  want[np.abs(probe) < 2**31])


def test_an_id_given_twice_is_refused():
    with pytest.raises(ValueError, match="twice"):
        IdRows([5, 7, 5])
