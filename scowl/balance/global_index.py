"""Which of a region's consumers (its `Trees` index) a global consumer index names, in ~5 bytes
per consumer held instead of 4 bytes per consumer of the whole state (36 MB a tracker of 8.9 M).

A bitmap over the global indices says who is held; a running count of set bits per 64-bit word
(`rank`) gives each held consumer its position among them in global order, and `by_rank` its
Trees index. Consumers that join after the bitmap was built (a peer's handover) are kept in a
small sorted overlay until it grows past 1/16 of the region, when the bitmap is rebuilt; those
that leave are marked gone (-1) in place. A lookup is a few vector passes over arrays that stay
in cache. Pure: no sockets."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

_ONE = np.uint64(1)
_SIX = np.uint64(6)
_LOW6 = np.uint64(63)
_BLOCK = 1 << 18  # global indices a rebuild ranks at a time


class GlobalIndex:
    def __init__(self, n_global: int) -> None:
        self.n_global = n_global
        self._bits = np.zeros((n_global + 63) // 64, dtype=np.uint64)
        self._rank = np.zeros(self._bits.size, dtype=np.int32)  # set bits before each word
        self._by_rank = np.zeros(0, dtype=np.int32)  # Trees index by rank (-1: gone)
        self._extra_lo = np.zeros(0, dtype=np.int64)  # the overlay: global indices, sorted
        self._extra_local = np.zeros(0, dtype=np.int32)
        self.held = 0  # consumers held (in the bitmap, not gone, or in the overlay)

    def nbytes(self) -> int:
        return sum(a.nbytes for a in (self._bits, self._rank, self._by_rank, self._extra_lo, self._extra_local))

    def __getitem__(self, lo: NDArray[np.int64]) -> NDArray[np.int64]:
        """Trees indices of these global indices (in [0, n_global)), -1 for those not held."""
        lo = np.asarray(lo, dtype=np.int64)
        present, r = self._in_bitmap(lo)
        if present.all():  # (a report: every one in the bitmap)
            out: NDArray[np.int64] = self._by_rank[r].astype(np.int64)
        else:
            out = np.where(present, self._by_rank[np.where(present, r, 0)] if self._by_rank.size else -1, -1).astype(np.int64)
        if self._extra_lo.size:
            miss = np.flatnonzero(out < 0)
            if miss.size:
                j = np.minimum(np.searchsorted(self._extra_lo, lo[miss]), self._extra_lo.size - 1)
                hit = self._extra_lo[j] == lo[miss]
                out[miss[hit]] = self._extra_local[j[hit]]
        return out

    def add(self, lo: NDArray[np.int64], local: NDArray[np.int64]) -> None:
        """Consumers `local` (Trees indices) now held under global indices `lo` (unique, none held)."""
        lo = np.asarray(lo, dtype=np.int64)
        local = np.asarray(local, dtype=np.int64)
        present, r = self._in_bitmap(lo)
        back = np.flatnonzero(present)  # held once, gone, back again: their bit and rank are still there
        self._by_rank[r[back]] = local[back]
        new = np.flatnonzero(~present)
        self.held += lo.size
        if new.size:
            lo_all = np.concatenate([self._extra_lo, lo[new]])
            local_all = np.concatenate([self._extra_local, local[new].astype(np.int32)])
            if lo_all.size > max(1024, self.held // 16):  # (a registration: straight into the bitmap)
                self._extra_lo, self._extra_local = lo_all, local_all
                self._rebuild()
            else:
                order = np.argsort(lo_all, kind="stable")
                self._extra_lo, self._extra_local = lo_all[order], local_all[order]

    def remove(self, lo: NDArray[np.int64]) -> None:
        """These global indices are held no more (each held now)."""
        lo = np.asarray(lo, dtype=np.int64)
        present, r = self._in_bitmap(lo)
        at = np.flatnonzero(present)
        in_main = at[self._by_rank[r[at]] >= 0]
        self._by_rank[r[in_main]] = -1
        others = np.ones(lo.size, dtype=bool)
        others[in_main] = False
        rest = np.flatnonzero(others)
        if rest.size and self._extra_lo.size:
            j = np.minimum(np.searchsorted(self._extra_lo, lo[rest]), self._extra_lo.size - 1)
            drop = j[self._extra_lo[j] == lo[rest]]
            keep = np.ones(self._extra_lo.size, dtype=bool)
            keep[drop] = False
            self._extra_lo, self._extra_local = self._extra_lo[keep], self._extra_local[keep]
            self.held -= drop.size
        self.held -= in_main.size

    def _in_bitmap(self, lo: NDArray[np.int64]) -> tuple[np.ndarray, np.ndarray]:
        """Whether each global index has its bit set, and its rank (meaningful where set)."""
        u = lo.astype(np.uint64)
        w = (u >> _SIX).astype(np.intp)
        b = u & _LOW6
        word = self._bits[w]
        present = ((word >> b) & _ONE).astype(bool)
        rank = self._rank[w] + np.bitwise_count(word & ((_ONE << b) - _ONE))
        return present, rank

    def _rebuild(self) -> None:
        """Fold the overlay (in any order) into the bitmap and drop the gone: O(words + held)."""
        flags = np.unpackbits(self._bits.astype("<u8").view(np.uint8), bitorder="little")  # bit i of word w: 64 w + i
        lo_main = np.flatnonzero(flags)
        keep = self._by_rank >= 0
        lo_all = np.concatenate([lo_main[keep], self._extra_lo])
        local_all = np.concatenate([self._by_rank[keep], self._extra_local])
        flags[:] = 0
        flags[lo_all] = 1
        self._bits = np.packbits(flags, bitorder="little").view("<u8").astype(np.uint64)
        del flags
        counts = np.bitwise_count(self._bits).astype(np.int32)
        self._rank[0] = 0
        np.cumsum(counts[:-1], out=self._rank[1:])
        self._by_rank = np.full(lo_all.size, -1, dtype=np.int32)
        for first in range(0, lo_all.size, _BLOCK):  # (in blocks: a registration's temporaries stay small)
            _, r = self._in_bitmap(lo_all[first : first + _BLOCK])
            self._by_rank[r] = local_all[first : first + _BLOCK]
        self._extra_lo = np.zeros(0, dtype=np.int64)
        self._extra_local = np.zeros(0, dtype=np.int32)
