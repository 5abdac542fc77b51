"""Global consumer index -> a region's Trees index (`LocalIndex`).

A table over every global index of the run costs only the 4 KB pages written (`arrays.zeros_as_used`),
and a region's own consumers cluster by global index: tracker-3 of the whole state holds its 2.64 M in
2,587 of 8,779 pages. The consumers peers hand it do not: late in the day ~0.11 M of them lay on 4,250
more pages, 17 MB of table for 0.4 MB of entries. So a page is written only when one write puts many
entries on it (`DENSE_MIN`); the few elsewhere are listed beside the table, found by rank in a bitmap
over the global indices, and looked up only where the table says "not held" (a report's lookups stay
one gather, and its ~1-6 % on other pages cost ~10 vector passes, not a binary search each)."""

from __future__ import annotations

import mmap
from typing import Any

import numpy as np
from numpy.typing import NDArray

from scowl.balance.arrays import _last_wins, gather, zeros_as_used

PAGE = 1024  # global indices a 4 KB page of the table holds (int32)
DENSE_MIN = 128  # entries one write puts on a page from which on the page is written, not listed
_WORDS = PAGE // 64  # bitmap words a page spans
_ONE = np.uint64(1)


class LocalIndex:
    """Global consumer index -> a region's Trees index (-1: not held), as `index[globals]`. The table
    stores the index's bitwise complement, so its pages never written read -1; pages a write puts
    `DENSE_MIN` entries on are written (the entries listed on them so far move in). The entries of
    other pages are listed: a bit per global index (`_bits`), the listed entries before each 64-bit
    word (`_rank`), and their Trees indices in global index order (`_vals`). A negative Trees index
    written clears."""

    ITEMSIZE = 4  # bytes a written page's entry takes

    def __init__(self, n_global: int) -> None:
        per_page = mmap.PAGESIZE // self.ITEMSIZE
        raw = zeros_as_used(n_global + per_page, np.int32)
        start = (-raw.ctypes.data % mmap.PAGESIZE) // self.ITEMSIZE  # (pages of PAGE entries on the OS's pages)
        self._table = raw[start : start + n_global]
        self._dense = np.zeros(-(-n_global // PAGE), dtype=bool)
        words = -(-n_global // 64)
        self._bits = np.zeros(words, dtype=np.uint64)
        self._rank = np.zeros(words + 1, dtype=np.int32)
        self._vals = np.zeros(0, dtype=np.int32)

    @property
    def size(self) -> int:
        return int(self._table.size)

    @property
    def listed(self) -> int:
        """Entries kept in the list, not the table."""
        return int(self._vals.size)

    def __getitem__(self, key: np.ndarray) -> NDArray[np.int32]:
        out: NDArray[np.int32] = np.invert(self._table[key])
        return self._listed(key, out)

    def lookup(self, lo: np.ndarray) -> NDArray[np.int32]:
        """`self[lo]` of global indices in range (any integer dtype: a report's uint32 as received),
        int32, inverted in place: no int64 copy of the indices nor a second int32 array (a
        population's report: ~0.35 M a tick; by int64 blocks: `arrays.gather`)."""
        out: NDArray[np.int32] = gather(self._table, lo)
        np.invert(out, out=out)
        return self._listed(lo, out)

    def _listed(self, key: np.ndarray, out: NDArray[np.int32]) -> NDArray[np.int32]:
        """`out`, the table's answers for `key`, with those of the listed entries."""
        if not self._vals.size:
            return out
        miss = np.flatnonzero(out < 0)
        if not miss.size:
            return out
        at, word, bit = self._where(np.asarray(key)[miss])
        held = np.flatnonzero((word >> bit) & _ONE)
        if held.size:
            out[miss[held]] = self._vals[self._rank[at[held]] + np.bitwise_count(word[held] & ((_ONE << bit[held]) - _ONE))]
        return out

    def _where(self, key: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(bitmap word, its bits, bit) of each key."""
        key = key.astype(np.int64, copy=False)
        at = key >> 6
        return at, self._bits[at], (key & 63).astype(np.uint64)

    def __setitem__(self, key: Any, local: Any) -> None:
        key = np.asarray(key).reshape(-1)
        val = np.broadcast_to(np.asarray(local, dtype=np.int32).reshape(-1) if np.ndim(local) else np.int32(local), key.shape)
        if not key.size:
            return
        page = key // PAGE
        dense = self._dense[page]
        if not dense.all() and self._densify(page[~dense & (val >= 0)]):
            dense = self._dense[page]
        if dense.all():  # (a registration, a region's own pages: the table alone)
            self._table[key] = np.invert(val)
            return
        self._table[key[dense]] = np.invert(val[dense])
        self._list(key[~dense], val[~dense])

    def _densify(self, pages: np.ndarray) -> bool:
        """Pages `DENSE_MIN` of these entries fall on are written from now on; whether there were any."""
        if pages.size < DENSE_MIN:
            return False
        new = np.flatnonzero(np.bincount(pages, minlength=self._dense.size) >= DENSE_MIN)
        if not new.size:
            return False
        self._dense[new] = True
        first, last = new * _WORDS, np.minimum((new + 1) * _WORDS, self._bits.size)
        for p, a, b in zip(new.tolist(), first.tolist(), last.tolist()):  # (their listed entries move into the table)
            r0, r1 = int(self._rank[a]), int(self._rank[b])
            if r1 > r0:
                bits = np.unpackbits(self._bits[a:b].view(np.uint8), bitorder="little")
                self._table[p * PAGE + np.flatnonzero(bits)] = np.invert(self._vals[r0:r1])
                self._vals = np.delete(self._vals, np.s_[r0:r1])
                self._bits[a:b] = 0
                self._rank[b:] -= r1 - r0
        return True

    def _list(self, key: np.ndarray, val: np.ndarray) -> None:
        """Entries of pages not written: updated, cleared (negative) or added; the last of a repeated key wins."""
        key, val = _last_wins(key, val)
        at, word, bit = self._where(key)
        mask = _ONE << bit
        present = (word & mask) != 0
        pos = self._rank[at] + np.bitwise_count(word & (mask - _ONE))  # (its place in `_vals`, or where it goes)
        held = val >= 0
        upd = present & held
        self._vals[pos[upd]] = val[upd]
        gone, add = present & ~held, ~present & held
        if not gone.any() and not add.any():
            return
        keep = np.ones(self._vals.size, dtype=bool)
        keep[pos[gone]] = False
        ins = pos[add]
        ins -= np.searchsorted(pos[gone], ins)  # (places in `_vals` once those cleared are out)
        self._vals = np.insert(self._vals[keep], ins, val[add])
        np.bitwise_and.at(self._bits, at[gone], ~mask[gone])
        np.bitwise_or.at(self._bits, at[add], mask[add])
        w0 = int(at[gone | add].min())
        np.cumsum(np.bitwise_count(self._bits[w0:]), out=self._rank[w0 + 1 :])
        self._rank[w0 + 1 :] += self._rank[w0]

    def resident_bytes(self) -> int:
        """Bytes of the table's pages written and of the list."""
        return int(np.count_nonzero(self._dense)) * PAGE * self.ITEMSIZE + self._bits.nbytes + self._rank.nbytes + self._vals.nbytes
