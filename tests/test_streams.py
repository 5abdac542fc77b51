"""Named streams (scowl.streams): the in-place draw equals the allocating one."""

from __future__ import annotations

import numpy as np
import pytest

from scowl.streams import StreamRepo


@pytest.mark.parametrize("dtype", [np.uint32, np.uint64, np.int64])
def test_centered_into_draws_what_centered_draws(dtype):
    stream = StreamRepo(42).counter("demand_innovation")
    index = (np.arange(10_000, dtype=np.int64) * 977 + 3).astype(dtype)
    out, bits, scratch = np.empty(index.size, np.float32), np.empty(index.size, np.uint64), np.empty(index.size, np.uint64)
    for counter in (0, 1, 287, 2**40):
        got = stream.centered_into(index, counter, out, bits, scratch)
        assert got is out
        np.testing.assert_array_equal(out, stream.centered(index, counter))
