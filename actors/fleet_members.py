"""Which of a fleet's generators each of its consumers is on: the fleet's own copy of its trees,
kept for member counts as the trackers' tree deltas come. Only the fleet's members are held
(a consumer on another fleet's generator, or on none, is simply absent), so a fleet of a few
EV hubs holds a few consumers, not one entry per consumer of the state.

Two forms, chosen by size: sorted (global index int32, row int16) pairs, 6 B a member; or,
once the members are over a third of the global index space (a fleet holding most of the
state's generators), one int16 row per global index, 2 B each: whichever is smaller."""

from __future__ import annotations

import numpy as np

#: members over this share of the global index space: the dense form is the smaller
DENSE_SHARE = 1 / 3
#: back to pairs under this share (hysteresis: no flapping around the threshold)
SPARSE_SHARE = 1 / 8


class FleetMembers:
    def __init__(self, n_global: int, n_rows: int) -> None:
        if n_rows >= np.iinfo(np.int16).max:
            raise ValueError(f"a fleet of {n_rows} generators: rows are int16 here (at most 32,766)")
        if n_global > np.iinfo(np.int32).max:
            raise ValueError(f"{n_global} consumers: global indices are int32 here")
        self.n_global = n_global
        self.keys = np.zeros(0, dtype=np.int32)  # sorted global indices (sparse form)
        self.vals = np.zeros(0, dtype=np.int16)  # their rows
        self.dense: np.ndarray | None = None  # row per global index, -1 = not ours (dense form)
        self.count = 0

    def __len__(self) -> int:
        return self.count

    @property
    def nbytes(self) -> int:
        return self.dense.nbytes if self.dense is not None else self.keys.nbytes + self.vals.nbytes

    def rows_of(self, lo: np.ndarray) -> np.ndarray:
        """The row each global index is on (int64; -1: none of ours)."""
        if self.dense is not None:
            return self.dense[lo].astype(np.int64)
        out = np.full(len(lo), -1, dtype=np.int64)
        if not self.count or not len(lo):
            return out
        pos = np.searchsorted(self.keys, lo)
        np.minimum(pos, self.count - 1, out=pos)
        hit = self.keys[pos] == lo
        out[hit] = self.vals[pos[hit]]
        return out

    def update(self, lo: np.ndarray, old: np.ndarray, new: np.ndarray) -> None:
        """Distinct global indices `lo` move from rows `old` (as rows_of gave them) to rows
        `new` (-1: off our generators)."""
        self.count += int(np.count_nonzero(new >= 0)) - int(np.count_nonzero(old >= 0))
        if self.dense is not None:
            self.dense[lo] = new
            if self.count < SPARSE_SHARE * self.n_global:
                idx = np.flatnonzero(self.dense >= 0)
                self.keys, self.vals, self.dense = idx.astype(np.int32), self.dense[idx], None
            return
        gone = np.zeros(len(self.keys), dtype=bool)
        if (old >= 0).any():  # those that were ours leave their place (a move is a leave and a join)
            gone[np.searchsorted(self.keys, lo[old >= 0])] = True
        join = new >= 0
        keys = np.concatenate([self.keys[~gone], lo[join].astype(np.int32)])
        vals = np.concatenate([self.vals[~gone], new[join].astype(np.int16)])
        if self.count > DENSE_SHARE * self.n_global:
            self.dense = np.full(self.n_global, -1, dtype=np.int16)
            self.dense[keys] = vals
            self.keys, self.vals = np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int16)
            return
        order = np.argsort(keys, kind="stable")
        self.keys, self.vals = keys[order], vals[order]
