"""Rows of a few hundred generator ids, looked up for millions of consumers at a time.

A tree delta or a tracker's Assign names each consumer's generator by its 32-bit id (MurmurHash3 of
its name: anywhere in the 32-bit range, so no dense table); a fleet and a population keep their
generators in rows. `np.unique(..., return_inverse=True)` over a million ids sorts them (~100 ms a
million on a slow day); a multiplicative hash into a table of 2^k slots, with the multiplier chosen
so the known ids fall in distinct slots (a perfect hash), maps them in a few passes (~6-9 ms). The
table has n^2 / 4 slots (455 ids: 768 KiB); past 1,024 ids a binary search (3,000 ids: 79 ms against
np.unique's 130)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from numpy.typing import NDArray

_M32 = 0xFFFFFFFF
#: ids hashed at most (n^2 / 4 slots: 2^18, 3 MiB); more go by binary search
_MOST_HASHED = 1024


class IdRows:
    """Row of each id in `ids` (its position); -1 for ids not among them (any integer, even past 32 bits)."""

    def __init__(self, ids: Iterable[int]) -> None:
        keys = np.array([int(g) for g in ids], dtype=np.int64)
        if np.unique(keys).size != keys.size:
            raise ValueError("IdRows: an id given twice")
        self.n = int(keys.size)
        self._sorted: tuple[np.ndarray, np.ndarray] | None = None
        if self.n > _MOST_HASHED:  # (n^2 / 4 slots would pass 3 MiB: a binary search instead)
            order = np.argsort(keys, kind="stable")
            self._sorted = (keys[order], order.astype(np.int64))
            return
        # n^2 / 4 slots or more: a random odd multiplier is collision-free with probability ~exp(-n^2 / 2m)
        # >= e^-2 (~7 tries); 455 generators: 2^16 slots, 768 KiB
        self.bits = max(4, int(np.ceil(np.log2(max(4, self.n * self.n // 4)))))
        self._keys = np.zeros(1 << self.bits, dtype=np.int64)
        self._rows = np.full(1 << self.bits, -1, dtype=np.int32)
        rng = np.random.default_rng(0x5C0771D5)  # (fixed: the table is a function of the ids)
        u = (keys & _M32).astype(np.uint64)
        for _ in range(1000):
            mult = int(rng.integers(1, 1 << 31)) * 2 + 1
            slot = ((u * np.uint64(mult)) & np.uint64(_M32)) >> np.uint64(32 - self.bits)
            if np.unique(slot).size == slot.size:
                break
        else:  # (each try fails with probability < 1 - e^-2: 1000 fail together with probability < 10^-62)
            raise RuntimeError(f"IdRows: no collision-free multiplier for {self.n} ids")
        self._mult = np.uint32(mult)
        s = slot.astype(np.intp)
        self._keys[s] = keys
        self._rows[s] = np.arange(self.n, dtype=np.int32)

    def rows(self, ids: np.ndarray) -> NDArray[np.int64]:
        """Row of each id (int64; -1: unknown), in the ids' order."""
        ids = np.asarray(ids)
        if ids.size == 0:
            return np.zeros(0, dtype=np.int64)
        if self._sorted is not None:
            keys, row = self._sorted
            at = np.minimum(np.searchsorted(keys, ids), keys.size - 1)
            return np.where(keys[at] == ids, row[at], -1)
        u = ids.astype(np.uint32)  # (the low 32 bits; wider ids are told apart by the key check below)
        u *= self._mult  # (modulo 2^32)
        u >>= np.uint32(32 - self.bits)
        slot = u.astype(np.intp)
        del u
        rows: NDArray[np.int64] = np.take(self._rows, slot).astype(np.int64)
        rows[np.take(self._keys, slot) != ids] = -1
        return rows
