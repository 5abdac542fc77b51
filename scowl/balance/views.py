"""Who is on which generator, as each actor sees it, in two numbers a tick: how many consumers
it has on a generator, and a digest of those (consumer, generator) pairs. Trackers, populations
and fleets each log theirs; summed over the actors of a role they are that role's view, and the
views agree (up to a 2^-44 chance) exactly when the digests are equal. The gap between the
placed counts is a lower bound on the consumers the views disagree on. Pure functions."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

DIGEST_BITS = 44  # sums of a few dozen digests stay exact in the state log's float64
_MASK = np.uint64((1 << DIGEST_BITS) - 1)
_M1, _M2, _M3 = np.uint64(0x9E3779B97F4A7C15), np.uint64(0xC2B2AE3D27D4EB4F), np.uint64(0xBF58476D1CE4E5B9)


def pair_hash(lo: np.ndarray, gen_ids: np.ndarray) -> np.ndarray:
    """A 64-bit mix of each (global consumer index, generator id) pair (wrapping arithmetic)."""
    x = np.asarray(lo).astype(np.uint64) * _M1
    x ^= (np.asarray(gen_ids).astype(np.int64).astype(np.uint64) + np.uint64(0x632BE59BD9B4E019)) * _M2
    x ^= x >> np.uint64(29)
    x *= _M3
    x ^= x >> np.uint64(32)
    return x


def view_figures(lo: np.ndarray, gen_ids: np.ndarray) -> dict[str, float]:
    """`view_placed` (consumers listed) and `view_digest` (the sum of their pair hashes modulo
    2^DIGEST_BITS) of consumers `lo` placed on generators `gen_ids` (the placed ones only)."""
    with np.errstate(over="ignore"):
        total = int(pair_hash(lo, gen_ids).sum(dtype=np.uint64) & _MASK) if len(lo) else 0
    return {"view_placed": float(len(lo)), "view_digest": float(total)}


def combine(digests: Iterable[float]) -> int:
    """Several actors' digests as one view's (their sum modulo 2^DIGEST_BITS)."""
    return int(sum(int(d) for d in digests)) & int(_MASK)


def pair_sum(lo: np.ndarray, gen_ids: np.ndarray, block: int = 1 << 16) -> int:
    """The sum of these pairs' hashes modulo 2^64: what an actor keeping its view incrementally
    adds for pairs that join it and subtracts for pairs that leave it. A block at a time (sums
    modulo 2^64 in any order are the same): the hashes' uint64 temporaries stay a block long
    (a late round of the EV hubs' region changes ~0.75 M)."""
    total = 0
    with np.errstate(over="ignore"):
        for a in range(0, len(lo), block):
            total += int(pair_hash(lo[a : a + block], gen_ids[a : a + block]).sum(dtype=np.uint64))
    return total & 0xFFFFFFFFFFFFFFFF


def figures_of(placed: int, running_sum: int) -> dict[str, float]:
    """`view_figures` from a count and a running pair sum (any integer; reduced here)."""
    return {"view_placed": float(placed), "view_digest": float(running_sum & int(_MASK))}
