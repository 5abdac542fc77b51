"""Freed heap given back after a round (scowl.runtime.heap): glibc keeps freed blocks below its
mmap threshold resident inside the heap; HeapTrim gives them back once resident memory grew.

The check runs in a fresh interpreter: inside a long pytest process the heap already holds free
blocks left by earlier tests, so new small blocks reuse them and resident memory need not grow."""

import subprocess
import sys
import textwrap

import pytest

from scowl.runtime.heap import HeapTrim

_CHECK = textwrap.dedent("""
    import numpy as np
    from scowl.runtime.heap import HeapTrim

    heap = HeapTrim(grown_mb=16)
    blocks = [np.ones(8192) for _ in range(768)]  # 48 MB of 64 KB blocks: heap, not mmap (under glibc's threshold)
    kept = blocks[::16]  # (every 16th stays: the heap's top cannot simply shrink)
    del blocks
    before = heap.resident()
    assert heap.after_round(), "48 MB grown: a trim was due"
    assert heap.resident() < before - 30 * 2**20, (before, heap.resident())
    assert not heap.after_round(), "nothing grew since: no second walk of the heap"
    assert heap.calls == 1 and len(kept) == 48
    print("OK")
""")


def test_freed_heap_inside_the_heap_is_given_back_once_resident_memory_grew():
    if HeapTrim()._trim is None:
        pytest.skip("not glibc on Linux: HeapTrim does nothing")
    done = subprocess.run([sys.executable, "-c", _CHECK], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "OK", done.stderr


def test_no_trim_while_resident_memory_has_not_grown():
    heap = HeapTrim(grown_mb=1 << 20)  # (a threshold no test process reaches)
    assert not heap.after_round() and heap.calls == 0
