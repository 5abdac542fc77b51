"""Named streams (scowl.streams): the in-place draw equals the allocating one."""

from __future__ import annotations

import numpy as np
import pytest

from scowl.streams import _CENTER_SCALE, CounterStream, StreamRepo


@pytest.mark.parametrize("dtype", [np.uint32, np.uint64, np.int64])
def test_centered_into_draws_what_centered_draws(dtype):
    stream = StreamRepo(42).counter("demand_innovation")
    index = (np.arange(10_000, dtype=np.int64) * 977 + 3).astype(dtype)
    out, bits, scratch = np.empty(index.size, np.float32), np.empty(index.size, np.uint64), np.empty(index.size, np.uint64)
    for counter in (0, 1, 287, 2**40):
        got = stream.centered_into(index, counter, out, bits, scratch)
        assert got is out
        np.testing.assert_array_equal(out, stream.centered(index, counter))


def test_centered_into_gives_centered_to_the_bit():
    """centered_into's one-multiply route (top 24 bits less 2^23, times 2^-24 x 2 sqrt 3) equals
    (u - 0.5) x 2 sqrt 3 of `centered`, for every 24-bit value and for a stream's draws."""
    top = np.arange(1 << 24, dtype=np.int64)
    two_steps = ((top.astype(np.float32) * np.float32(2.0**-24)) - np.float32(0.5)) * np.float32(2.0 * np.sqrt(3.0))
    one_step = (top - (1 << 23)).astype(np.float32) * _CENTER_SCALE
    assert np.array_equal(two_steps.view(np.uint32), one_step.view(np.uint32))
    s = CounterStream("test", 1234)
    idx = np.arange(200_000, dtype=np.uint32)
    out, bits, scratch = np.empty(idx.size, np.float32), np.empty(idx.size, np.uint64), np.empty(idx.size, np.uint64)
    got = s.centered_into(idx, 5, out, bits, scratch)
    assert np.array_equal(got.view(np.uint32), s.centered(idx, 5).view(np.uint32))
