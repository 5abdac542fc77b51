"""A population's consumer id space: its consumers' positions, global indices and 128-bit ids.

A population holds a contiguous run of the consumers [start, start + n_consumers) and one of the
fixed-load blocks, whose global indices come after every consumer's. So a consumer's global
index and id are computed from its position instead of being stored (24 bytes a consumer saved)."""

from __future__ import annotations

import numpy as np

from scowl import wire


class IdSpace:
    def __init__(self, start: int, n_consumers: int, n_blocks: int, fixed_start: int, n_global: int) -> None:
        self.start, self.n_consumers, self.n = start, n_consumers, n_consumers + n_blocks
        self.fixed_start, self.n_global = fixed_start, n_global  # (n_global: every consumer's, blocks after)
        self.hi = np.uint64(0)  # the high word of the ids, from the bootstrap

    def global_at(self, pos) -> np.ndarray:
        """Global indices of the consumers at these positions (int64)."""
        pos = np.asarray(pos, dtype=np.int64)
        out = np.empty(pos.shape, dtype=np.int64)
        self.global_into(pos, out)
        return out

    def global_into(self, pos: np.ndarray, out: np.ndarray) -> None:
        """Global indices of positions `pos` written into `out` (int64 or uint64): a consumer's
        is start + pos, a fixed-load block's comes after every consumer's (no temporary but a mask)."""
        np.add(pos, self.start, out=out, casting="unsafe")
        if pos.size and pos.max() >= self.n_consumers:  # (most reports name no block: no mask then)
            np.add(out, self.n_global + self.fixed_start - self.n_consumers - self.start, out=out, where=pos >= self.n_consumers,
                   casting="unsafe")

    def ids_at(self, pos) -> np.ndarray:
        """The 128-bit ids of the consumers at these positions (a slice or an index array)."""
        if isinstance(pos, slice):
            pos = np.arange(*pos.indices(self.n))
        out = np.empty(len(pos), dtype=wire.CONSUMER_ID_DTYPE)
        out["hi"] = self.hi
        self.global_into(np.asarray(pos, dtype=np.int64), out["lo"])
        return out

    def local_index(self, ids: np.ndarray) -> np.ndarray:
        """Positions of these ids in this population, -1 for ids of other populations."""
        return self.positions(ids["lo"], ids["hi"])

    def positions(self, lo: np.ndarray, hi: np.ndarray | int) -> np.ndarray:
        """Positions of the ids with low words `lo` (global indices) and high word(s) `hi` (one
        for all, or one each), -1 for ids of other populations."""
        lo = np.asarray(lo).astype(np.int64)
        fixed = lo - self.n_global
        is_fixed = fixed >= 0
        fixed_stop = self.fixed_start + self.n - self.n_consumers
        pos = np.where(is_fixed, fixed - self.fixed_start + self.n_consumers, lo - self.start)
        ok = np.where(is_fixed, (fixed >= self.fixed_start) & (fixed < fixed_stop),
                      (lo >= self.start) & (lo < self.start + self.n_consumers))
        if isinstance(hi, int):
            return np.where(ok, pos, -1) if hi == int(self.hi) else np.full(lo.size, -1, dtype=np.int64)
        return np.where(ok & (hi == self.hi), pos, -1)
