"""Freed heap given back after a round (scowl.runtime.heap): glibc keeps freed blocks below its
mmap threshold resident inside the heap; HeapTrim gives them back once resident memory grew."""

import numpy as np
import pytest

from scowl.runtime.heap import HeapTrim


def test_freed_heap_inside_the_heap_is_given_back_once_resident_memory_grew():
    heap = HeapTrim(grown_mb=16)
    if heap._trim is None:
        pytest.skip("not glibc on Linux: HeapTrim does nothing")
    blocks = [np.ones(8192) for _ in range(768)]  # 48 MB of 64 KB blocks: heap, not mmap (under glibc's threshold)
    kept = blocks[::16]  # (every 16th stays: the heap's top cannot simply shrink)
    del blocks
    before = heap.resident()
    assert heap.after_round()
    assert heap.resident() < before - 30 * 2**20
    assert not heap.after_round()  # (nothing grew since: no second walk of the heap)
    assert heap.calls == 1 and len(kept) == 48
