"""Array checks and set operations the balance policy shares: indices and powers checked as
they come in (a clear error naming the input), repeated indices resolved (the last wins), and
`np.unique` of integers by a sort; tables whose memory is resident only where written."""

from __future__ import annotations

import ctypes
import mmap
import sys
from collections.abc import Iterator

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray


def as_index(name: str, idx: ArrayLike, n: int) -> NDArray[np.int64]:
    arr = np.asarray(idx)
    if arr.ndim != 1 or (arr.size and arr.dtype.kind not in "iu"):
        raise ValueError(f"{name}: expected a 1-D integer array of indices, found dtype {arr.dtype} shape {arr.shape}")
    out: NDArray[np.int64] = arr.astype(np.int64, copy=False)
    if out.size and (out.min() < 0 or out.max() >= n):
        bad = out[(out < 0) | (out >= n)][0]
        raise ValueError(f"{name}: index {bad} out of range; expected 0 <= index < {n}")
    return out


def as_power(name: str, values: ArrayLike, size: int, dtype: DTypeLike) -> np.ndarray:
    arr: np.ndarray = np.asarray(values, dtype=dtype)
    if arr.shape != (size,):
        raise ValueError(f"{name}: expected {size} values (one per index), found shape {arr.shape}")
    if size and not (arr.min() >= 0 and arr.max() < np.inf):  # (a NaN fails both: min and max propagate it)
        bad = arr[~(np.isfinite(arr) & (arr >= 0))][0]
        raise ValueError(f"{name}: power must be finite and >= 0 MW, found {bad}")
    return arr


def unique_ints(a: ArrayLike) -> np.ndarray:
    """`np.unique` of a 1-D integer array (sorted, unique) by a sort: numpy 2.x's np.unique
    without return_* arguments hashes, ~1 s per million values, a sort takes milliseconds."""
    arr = np.sort(np.asarray(a).ravel())
    if arr.size < 2:
        return arr
    keep = np.empty(arr.size, dtype=bool)
    keep[0] = True
    np.not_equal(arr[1:], arr[:-1], out=keep[1:])
    return arr[keep]


def bin_sums(bins: np.ndarray, weights: np.ndarray, n: int, where: np.ndarray | None = None,
             block: int = 1 << 16, whole: int = 16) -> NDArray[np.float64]:
    """`np.bincount(bins[where], weights[where], minlength=n)` (`where`: a mask, or all), the same
    sums to the bit (bincount adds each weight, in input order, to its bin from 0.0; np.add.at
    does the same), a block at a time: no copy of the selection, intp copy of the bins nor float64
    copy of the weights as long as the input (a first round places millions). Up to `whole`
    blocks, one np.bincount (quicker; its copies are small)."""
    if bins.size <= whole * block:
        return np.bincount(bins if where is None else bins[where],
                           weights=weights if where is None else weights[where], minlength=n).astype(np.float64, copy=False)
    out = np.zeros(n)
    for a in range(0, bins.size, block):
        b, w = bins[a : a + block], weights[a : a + block]
        if where is not None:
            b, w = b[where[a : a + block]], w[where[a : a + block]]
        np.add.at(out, b, w.astype(np.float64))
    return out


def sum_at(values: np.ndarray, idx: np.ndarray, leaf: int = 1 << 16) -> float:
    """`float(values[idx].astype(np.float64).sum())` to the bit, without the gathered float64
    copy as long as `idx` (a first round's starved queue: millions). numpy sums a contiguous
    float64 array pairwise: halves, the first rounded down to a multiple of 8, to blocks of 128;
    the same halving down to `leaf`, each leaf summed by numpy, adds the same terms in the same
    tree (tests/balance/test_arrays.py checks it against the one-array sum)."""
    n = idx.size
    if n <= max(leaf, 128):  # (numpy halves only above 128)
        return float(values[idx].astype(np.float64).sum())
    half = n // 2
    half -= half % 8
    return sum_at(values, idx[:half], leaf) + sum_at(values, idx[half:], leaf)


def gather_or(values: np.ndarray, idx: np.ndarray, missing: int, block: int = 1 << 16) -> np.ndarray:
    """`values[np.maximum(idx, 0)]` with `missing` where idx < 0 (values' dtype), a block at a
    time: no index-long copy of `idx` (a first round's millions)."""
    out = np.empty(idx.size, dtype=values.dtype)
    for a in range(0, idx.size, block):
        i = idx[a : a + block]
        o = out[a : a + block]
        o[:] = values[np.maximum(i, 0)]
        o[i < 0] = missing
    return out


def intp_blocks(idx: np.ndarray, block: int = 1 << 16) -> Iterator[tuple[int, np.ndarray]]:
    """(start, the block's indices as intp) over `idx`, one reused buffer: numpy 2.4 indexes with
    int32 or uint32 indices through a per-element cast (~2 ns an element a gather of a million), and
    `take` alone casts them all to an index-long int64 copy; a 2^16 block's copy stays 512 KiB."""
    buf = np.empty(min(block, idx.size), dtype=np.intp)
    for a in range(0, idx.size, block):
        i = idx[a : a + block]
        b = buf[: i.size]
        b[:] = i
        yield a, b


def gather(values: np.ndarray, idx: np.ndarray, block: int = 1 << 16) -> np.ndarray:
    """`values[idx]` (1-D, indices in range) by `np.take` over intp blocks (`intp_blocks`)."""
    if idx.dtype == np.intp or idx.size <= block:
        return np.take(values, idx)
    out = np.empty(idx.size, dtype=values.dtype)
    for a, b in intp_blocks(idx, block):
        np.take(values, b, out=out[a : a + b.size], mode="clip")  # (in range: clip writes unbuffered)
    return out


def scatter(values: np.ndarray, idx: np.ndarray, new: np.ndarray | int, block: int = 1 << 16) -> None:
    """`values[idx] = new` (1-D, indices in range) over intp blocks: twice as fast as int32 fancy
    assignment, and no index-long copy."""
    if idx.dtype == np.intp:
        values[idx] = new
        return
    for a, b in intp_blocks(idx, block):
        values[b] = new if isinstance(new, int) else new[a : a + b.size]


def or_at(values: np.ndarray, idx: np.ndarray, bits: int | np.integer, block: int = 1 << 16) -> None:
    """`values[idx] |= bits` for unique in-range indices, over intp blocks."""
    if idx.dtype == np.intp:
        values[idx] |= bits
        return
    for _, b in intp_blocks(idx, block):
        values[b] |= bits


def in_queue_order(idx: np.ndarray, assign: np.ndarray, key: np.ndarray, value: int, block: int = 1 << 18) -> bool:
    """Whether `assign[idx]` is `value` for every one and `idx` is strictly increasing, and `key[idx]`
    non-decreasing (sorted by key, then index: a registration's joiners), checked a block at a time:
    indexing by int32 gathers through an intp copy, not one as long as a first round's millions."""
    prev_i, prev_k = -1, np.iinfo(np.int64).min
    for a in range(0, idx.size, block):
        i = idx[a : a + block].astype(np.intp)
        k = key[i]
        if int(i[0]) <= prev_i or int(k[0]) < prev_k or not bool((assign[i] == value).all()):
            return False
        if i.size > 1 and not (bool((i[1:] > i[:-1]).all()) and bool((k[1:] >= k[:-1]).all())):
            return False
        prev_i, prev_k = int(i[-1]), int(k[-1])
    return True


def span_start(idx: np.ndarray, block: int = 1 << 18) -> int | None:
    """a when `idx` is a, a+1, ..., a+len-1 (a first round's moves: every index in order), else
    None; checked a block at a time (no temporaries as long as the index)."""
    if not idx.size or int(idx[-1]) - int(idx[0]) != idx.size - 1:
        return None
    prev = int(idx[0]) - 1
    for a in range(0, idx.size, block):
        b = idx[a : a + block]
        if int(b[0]) != prev + 1 or not bool((np.diff(b) == 1).all()):
            return None
        prev = int(b[-1])
    return int(idx[0])


def isin_ints(a: np.ndarray, b: np.ndarray) -> NDArray[np.bool_]:
    """`np.isin(a, b)` of integer arrays by a sort of `b` and a binary search of each of `a`: numpy
    2.x's isin, past its table method's range, hashes `np.unique(b)` (~1 s per million values)
    and sorts `a` whole."""
    a, b = np.asarray(a), np.asarray(b)
    if not a.size or not b.size:
        return np.zeros(a.shape, dtype=bool)
    s = unique_ints(b)
    pos = np.searchsorted(s, a)
    np.minimum(pos, s.size - 1, out=pos)
    found: NDArray[np.bool_] = s[pos] == a
    return found


def _last_wins(idx: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Drop repeated indices, keeping the last reported value; result sorted by index."""
    if idx.size < 2 or bool((idx[1:] > idx[:-1]).all()):  # already sorted and unique (a population's report): as is
        return idx, values
    order = np.argsort(idx, kind="stable")
    idx, values = idx[order], values[order]
    keep = np.empty(idx.size, dtype=bool)
    keep[-1] = True
    np.not_equal(idx[1:], idx[:-1], out=keep[:-1])
    return idx[keep], values[keep]


BLOCK = 1 << 18  # entries of a block of what a round sends (`blocks`)


def blocks(*parts: tuple[np.ndarray, np.ndarray], size: int = BLOCK) -> list[tuple[np.ndarray, np.ndarray]]:
    """Pairs of parallel arrays (ids, generators), part after part, cut in slices of at most
    `size` (views, no copies): what a round sends, message by message in this order, so no one
    message holds millions (round 0 names every consumer). One empty block when all are empty."""
    out = [(a[i : i + size], b[i : i + size]) for a, b in parts for i in range(0, len(a), size)]
    if out or not parts:
        return out
    return [(parts[0][0][:0], parts[0][1][:0])]


def pick(a: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """`a[mask]` (1-D, a boolean mask as long as `a`), fast on any mask: numpy 2.4's boolean
    indexing costs ~5-14 ns per element on a mixed mask (a branch per element), `compress` ~1 ns
    but more than indexing on a mask of almost all True (it lists the positions first)."""
    n = np.count_nonzero(mask)
    if n * 20 > mask.size * 19:  # (more than 95 % kept)
        out: np.ndarray = a[mask]
        return out
    return np.compress(mask, a)


def argsort_demand(d: np.ndarray, descending: bool = False, int32: bool = False) -> np.ndarray:
    """`np.argsort(-d if descending else d, kind="stable")` of demands >= 0 held as float32 values
    (the trees' MW), by two 16-bit radix passes over their float32 bits (which order such values
    exactly; -0.0 as 0.0): 2.28 M values 325 -> 75 ms. Other input takes np.argsort. `int32`: the
    radix route's order as int32 (half the bytes of a first round's millions)."""
    d32 = d.astype(np.float32, copy=False)
    if d.size < 4096 or not bool((d32 == d).all()) or not float(d32.min()) >= 0.0:
        return np.argsort(-d if descending else d, kind="stable")
    bits = d32.view(np.uint32) & np.uint32(0x7FFFFFFF)
    if descending:
        bits = ~bits
    low, high = (bits & np.uint32(0xFFFF)).astype(np.uint16), (bits >> np.uint32(16)).astype(np.uint16)
    del bits, d32  # (2.28 M demands: the temporaries stay ~60 MB, not ~90)
    first = np.argsort(low, kind="stable").astype(np.int32)  # (int32 between the passes: one int64 order at a time)
    del low
    second = np.argsort(high[first], kind="stable")
    del high
    out: np.ndarray = first[second]
    return out if int32 else out.astype(np.intp)  # (int32: the same order, half the bytes)


_MADV_NOHUGEPAGE = 15  # linux/mman.h


def zeros_as_used(n: int, dtype: DTypeLike) -> np.ndarray:
    """`n` zeros whose memory becomes resident only where they are written: a large np.zeros is
    fresh pages from the OS (calloc), advised `small_pages`. A table indexed by a sparse key (a
    region's consumers' global indices) then costs the pages its keys fall in; an array filled from
    the front, its used part."""
    return small_pages(np.zeros(n, dtype=dtype))


def small_pages(a: np.ndarray) -> np.ndarray:
    """`a`, its pages advised MADV_NOHUGEPAGE on Linux: a write makes one 4 KB page resident, not a
    2 MB huge page (numpy advises huge pages for arrays of 4 MB and more, and this host's kernel
    follows: the last huge page of each of a tracker's per-consumer arrays, filled from the front,
    was ~1 MB unused on average, ~6 MB a tracker). Returns `a`."""
    if sys.platform == "linux" and a.nbytes >= 1 << 22:
        page = mmap.PAGESIZE
        first = -(-a.ctypes.data // page) * page  # whole pages inside the array only
        last = (a.ctypes.data + a.nbytes) // page * page
        try:
            ctypes.CDLL(None).madvise(ctypes.c_void_p(first), ctypes.c_size_t(last - first), _MADV_NOHUGEPAGE)
        except (OSError, AttributeError):  # (a hint: without it the table is only denser)
            pass
    return a


def bucket_order(values: np.ndarray, low: int, high: int, block: int = 1 << 16,
                 out: np.ndarray | None = None) -> tuple[NDArray[np.int32], NDArray[np.int64]]:
    """Positions of `values` (integers in [low, high]) sorted by value, ties by position (a stable
    sort), as int32, and each value's first place in that order (`start[v - low]`, one more entry
    at the end: CSR offsets). Built a block of values at a time: the same order as one stable argsort
    of the whole, without its int64 positions (8 bytes a value) held beside the result. `out`: an
    int32 array as long as `values` to write the order into (an order it replaces), else a new one."""
    nb, n = high - low + 1, values.size
    small = np.int16 if nb < np.iinfo(np.int16).max else np.int32  # (a radix sort)
    counts = [np.bincount(values[a : a + block] - low, minlength=nb) for a in range(0, n, block)]
    start = np.zeros(nb + 1, dtype=np.int64)
    np.cumsum(np.sum(counts, axis=0) if counts else np.zeros(nb, dtype=np.int64), out=start[1:])
    order = out if out is not None and out.shape == (n,) and out.dtype == np.int32 else np.empty(n, dtype=np.int32)
    at = start[:-1].copy()  # the next place of each value, over the blocks so far
    for c, a in zip(counts, range(0, n, block)):
        key: np.ndarray = values[a : a + block].astype(small)
        np.subtract(key, low, out=key)
        local = np.argsort(key, kind="stable")
        place = np.repeat(at - (np.cumsum(c) - c), c)  # (the block's sorted values run value by value)
        place += np.arange(local.size)
        local += a
        order[place] = local
        at += c
    return order, start


BLOCK_16 = 1 << 16  # entries a gather, a sum or a comparison of millions takes at a time (its copies stay that short)


def change_sums(gen: np.ndarray, new: np.ndarray, was: np.ndarray, n: int, shift: int = 0) -> NDArray[np.float64]:
    """`np.bincount(gen + shift, weights=new.astype(np.float64) - was, minlength=n)` to the bit (np.add.at adds
    each change to its bin from 0.0 in input order, as bincount does), a block at a time: no intp copy of
    the bins nor float64 changes as long as a report."""
    if gen.size <= BLOCK_16:
        return np.bincount(gen + shift if shift else gen, weights=new.astype(np.float64) - was, minlength=n).astype(np.float64, copy=False)
    out = np.zeros(n)
    for a in range(0, gen.size, BLOCK_16):
        g = gen[a : a + BLOCK_16]
        np.add.at(out, g + shift if shift else g, new[a : a + BLOCK_16].astype(np.float64) - was[a : a + BLOCK_16])
    return out


def in_index_order(idx: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`_last_wins` of (indices in [0, 2^32), 4-byte values: a report's float32 demand, a round's int32
    generators): sorted by index. Unique indices (a population's report) sort as one uint64 a pair, index
    over the value's bits, in place: 8 bytes an entry, not the ~40 of an argsort and its int64 gathers;
    repeated ones go to `_last_wins`."""
    if idx.size < 2 or values.dtype.itemsize != 4 or bool((idx[1:] > idx[:-1]).all()):
        return _last_wins(idx, values)
    key = np.empty(idx.size, dtype=np.uint64)
    for a in range(0, idx.size, BLOCK_16):
        k = key[a : a + BLOCK_16]
        k[:] = idx[a : a + BLOCK_16]
        k <<= np.uint64(32)
        k |= values[a : a + BLOCK_16].view(np.uint32)
    key.sort(kind="stable")  # (runs of ascending indices: timsort's)
    out_idx, out_val = np.empty(idx.size, dtype=idx.dtype), np.empty(idx.size, dtype=values.dtype)
    for a in range(0, idx.size, BLOCK_16):
        k = key[a : a + BLOCK_16]
        out_idx[a : a + BLOCK_16] = k >> np.uint64(32)
        out_val[a : a + BLOCK_16] = (k & np.uint64(0xFFFFFFFF)).astype(np.uint32).view(values.dtype)
    del key
    if not bool((out_idx[1:] > out_idx[:-1]).all()):  # an index repeated: the last report wins
        return _last_wins(idx, values)
    return out_idx, out_val
