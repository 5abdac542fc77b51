"""Which generator each consumer of a population is on, compactly: a row per consumer into a
small table of generator ids (row 0: none, starved). A population meets a few hundred
generators, so a row is 2 bytes a consumer (4 past 65,535 generators), and a tick's draws are
one bincount over the rows.

The rows change only where a tracker's Assign says so, so what depends on all of them is kept
as they change instead of recounted every tick: each row's member count, and the population's
view of who is on which generator (scowl.balance.views: how many are placed, and the running
sum of their (consumer, generator) pair hashes)."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from scowl import wire
from scowl.balance import views
from scowl.idrows import IdRows


class GeneratorRows:
    def __init__(self, n: int) -> None:
        self.row = np.zeros(n, dtype=np.uint16)  # per consumer: its generator's row of `table`
        self.table = np.array([wire.STARVED_ID], dtype=np.int32)  # row -> generator id
        self._rows = IdRows(self.table.tolist())  # (the table's ids -> rows, hashed)
        self.members = np.array([n], dtype=np.int64)  # per row: consumers on it (row 0: on none)
        self.placed = 0  # consumers on a generator
        self.pair_sum = 0  # sum of the placed (global index, generator id) pair hashes, modulo 2^64

    def rows_of(self, gen_ids: ArrayLike) -> np.ndarray:
        """Table rows of these generator ids, adding the ids not seen before (in id order) and
        widening the rows when the table outgrows them."""
        gen_ids = np.asarray(gen_ids, dtype=np.int32)
        rows = self._rows.rows(gen_ids)
        fresh = rows < 0
        if fresh.any():
            new = np.unique(gen_ids[fresh]).tolist()  # (rows in id order, after the table's)
            self.table = np.concatenate([self.table, np.array(new, dtype=np.int32)])
            self.members = np.concatenate([self.members, np.zeros(len(new), dtype=np.int64)])
            if len(self.table) - 1 > np.iinfo(self.row.dtype).max:
                self.row = self.row.astype(np.int32)
            self._rows = IdRows(self.table.tolist())
            rows[fresh] = self._rows.rows(gen_ids[fresh])
        return rows.astype(self.row.dtype)

    def move(self, pos: np.ndarray, gen_ids: np.ndarray, lo: np.ndarray) -> None:
        """Consumers at positions `pos` (global indices `lo`) are on generators `gen_ids` from
        now on (STARVED_ID: on none). A position named twice takes its last generator, as
        `row[pos] = ...` would."""
        pos = np.asarray(pos, dtype=np.int64)
        rows = self.rows_of(gen_ids)
        lo = np.asarray(lo)
        if pos.size > 1:
            last = pos.size - 1 - np.unique(pos[::-1], return_index=True)[1]
            if last.size < pos.size:  # duplicates: keep the last of each
                last.sort()
                pos, rows, lo = pos[last], rows[last], lo[last]
        old = self.row[pos]
        t = len(self.table)
        self.members -= np.bincount(old, minlength=t)
        self.members += np.bincount(rows, minlength=t)
        was, now = old != 0, rows != 0
        self.placed += int(np.count_nonzero(now)) - int(np.count_nonzero(was))
        self.pair_sum = (self.pair_sum - views.pair_sum(lo[was], self.table[old[was]])
                         + views.pair_sum(lo[now], self.table[rows[now]])) & ((1 << 64) - 1)
        self.row[pos] = rows

    def view_figures(self) -> dict[str, float]:
        """`view_placed` and `view_digest`, as scowl.balance.views.view_figures of every placed consumer."""
        return views.figures_of(self.placed, self.pair_sum)

    def marked(self, gen_ids: ArrayLike) -> np.ndarray:
        """A boolean per table row: True for the rows of these generator ids."""
        mark = np.zeros(len(self.table), dtype=bool)
        rows = self._rows.rows(np.asarray(gen_ids, dtype=np.int64))
        mark[rows[rows > 0]] = True  # (row 0, on none, and ids not in the table are never marked)
        return mark
