"""Which generator each consumer of a population is on, compactly: a row per consumer into a
small table of generator ids (row 0: none, starved). A population meets a few hundred
generators, so a row is 2 bytes a consumer (4 past 65,535 generators), and a tick's draws are
one bincount over the rows."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from scowl import wire


class GeneratorRows:
    def __init__(self, n: int) -> None:
        self.row = np.zeros(n, dtype=np.uint16)  # per consumer: its generator's row of `table`
        self.table = np.array([wire.STARVED_ID], dtype=np.int32)  # row -> generator id
        self._row_of: dict[int, int] = {wire.STARVED_ID: 0}

    def rows_of(self, gen_ids: ArrayLike) -> np.ndarray:
        """Table rows of these generator ids, adding the ids not seen before (and widening the
        rows when the table outgrows them)."""
        uniq, inv = np.unique(np.asarray(gen_ids, dtype=np.int32), return_inverse=True)
        rows = np.empty(len(uniq), dtype=np.int64)
        for k, g in enumerate(uniq.tolist()):
            r = self._row_of.get(g)
            if r is None:
                r = self._row_of[g] = len(self.table)
                self.table = np.append(self.table, np.int32(g))
                if r > np.iinfo(self.row.dtype).max:
                    self.row = self.row.astype(np.int32)
            rows[k] = r
        return rows[inv].astype(self.row.dtype)

    def marked(self, gen_ids: ArrayLike) -> np.ndarray:
        """A boolean per table row: True for the rows of these generator ids."""
        mark = np.zeros(len(self.table), dtype=bool)
        for g in np.asarray(gen_ids).tolist():
            r = self._row_of.get(int(g))
            if r:
                mark[r] = True
        return mark
