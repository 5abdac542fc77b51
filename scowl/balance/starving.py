"""The starved queue of `Trees` (scowl.balance.trees): the unplaced consumers, most starved so far
first (ties by index), appended to as consumers become unplaced (`_pending`: joiners as ranges) and merged in when read,
trimmed as they are placed (`requeue`), never re-sorted whole. A starved consumer's `_spell` is the round
its starved time counts from (scowl.balance.trees' docstring), so the order holds between rounds."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from scowl.balance.arrays import as_index, in_queue_order, pick, unique_ints, zeros_as_used

STARVED = -1
_FRESH = np.uint8(4)  # a bit of `Trees._flags`: scratch of the queue's merge


class StarvedQueue:
    """`Trees`' starved queue (a mixin: the arrays are the trees')."""

    n: int
    n_unplaced: int
    _round: int
    _assign: np.ndarray
    _spell: np.ndarray
    _flags: np.ndarray
    _queue: np.ndarray
    _pending: list[np.ndarray | range]

    @property
    def round(self) -> int:
        """The round starved time counts to (a tracker's tick)."""
        return self._round

    @round.setter
    def round(self, value: int) -> None:
        if value > np.iinfo(self._spell.dtype).max:  # (past 32,767 rounds: int32 spells, the same values)
            wide = zeros_as_used(self._spell.size, np.int32)
            wide[: self.n] = self._spell[: self.n]
            self._spell = wide
        self._round = value

    def requeue(self, unplaced: np.ndarray) -> None:
        """After a round: the consumers still unplaced, in the order the round kept them (most
        starved so far first)."""
        self._queue = unplaced.astype(np.int32, copy=False)

    def starved_so_far(self, idx: ArrayLike) -> NDArray[np.int64]:
        """Rounds each of these consumers has starved so far, the current spell included."""
        idx = as_index("starved_so_far idx", idx, self.n)
        now = self._assign[idx] == STARVED
        rounds: NDArray[np.int64] = np.where(now, self.round - self._spell[idx], self._spell[idx]).astype(np.int64)
        return rounds

    def starved(self) -> np.ndarray:
        """The unplaced consumers, most starved so far first (ties by index): the queue with
        those unplaced since it was last read merged in, and those released dropped."""
        q = self._queue
        if self._pending:
            new = _joined(self._pending)
            self._pending = []
            if not in_queue_order(new, self._assign, self._spell, STARVED):  # (a registration's joiners are)
                new = unique_ints(pick(new, self._assign[new] == STARVED))  # (unplaced, placed and unplaced again: once)
                new = new[np.lexsort((new, self._spell[new]))]
            if new.size and q.size:  # placed from outside the policy (a Resync) and unplaced again: once,
                self._flags[new] |= _FRESH  # at its new place (its spell may count from another round)
                q = pick(q, (self._flags[q] & _FRESH) == 0)
                self._flags[new] &= ~_FRESH
            if q.size + new.size != self.n_unplaced:  # some queued were placed from outside or left: their `_spell`
                q = pick(q, self._assign[q] == STARVED)  # is no start, out of the merge
            if new.size and q.size and (self._spell[q[-1]], q[-1]) > (self._spell[new[0]], new[0]):
                pos = int(np.searchsorted(self._spell[q], self._spell[new[0]], side="left"))
                tail = np.concatenate([q[pos:], new])
                new = tail[np.lexsort((tail, self._spell[tail]))]
                q = q[:pos]
            q = np.concatenate([q, new]) if q.size else new
        if q.size != self.n_unplaced:  # some left the region (ABSENT) while starved
            q = pick(q, self._assign[q] == STARVED)
        self._queue = q
        return q


def _joined(parts: list[np.ndarray | range]) -> np.ndarray:
    """The pending parts as one int32 array. Joiners are kept as ranges of indices until read, and ranges
    end to end (a registration's batches) are one arange: tracker-3's 2.64 M joiners were ~40 int32 parts
    (10.5 MB) held from its registration to round 0, and their concatenation beside them (10.5 MB more)."""
    runs = [p for p in parts if isinstance(p, range)]
    if len(runs) == len(parts) and all(a.stop == b.start for a, b in zip(runs, runs[1:])):
        return np.arange(runs[0].start, runs[-1].stop, dtype=np.int32)
    arrays = [np.arange(p.start, p.stop, dtype=np.int32) if isinstance(p, range) else p for p in parts]
    return arrays[0] if len(arrays) == 1 else np.concatenate(arrays)
