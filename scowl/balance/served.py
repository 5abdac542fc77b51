"""The largest served consumers of a region: what a short region hands to peers before they
starve (scowl.balance.regionround), largest first, ties by index.

A region that is short asks for served consumers worth at most some MW once per peer with
room, several times a round. Each answer is a prefix of one order (demand descending, then
index) over the served consumers less those already handed, and a prefix worth a few hundred MW
is a few thousand consumers of millions. So the order is built once a round, and only as far as
the picks need: every served consumer whose demand is at least a floor, sorted; a pick whose
prefix runs past that head lowers the floor and builds it again (the whole region at worst).
A head holds every served consumer at or above its floor, so its order is the whole order's
first part, and a prefix that ends inside it is the answer over the whole region, exactly.

Valid while no served consumer's demand or generator changes: a round's picks in a row, with
starved consumers released between them. Pure: reads the `Trees`, changes nothing."""

from __future__ import annotations

import numpy as np

from scowl.balance.arrays import isin_ints
from scowl.balance.trees import EMPTY_I, Trees

_SAMPLE = 1 << 16  # demands looked at to guess a head's floor
_BLOCK = 1 << 16  # of a head, consumers a pick looks at a time


class LargestServed:
    """Served consumers of `trees` by demand, largest first (ties by index), built as far as asked.
    A subclass ranks a subset by overriding `_ours` and `_every` (scowl.balance.giving.HubLoad: those on EV hubs)."""

    def __init__(self, trees: Trees) -> None:
        self.trees = trees
        self._head = EMPTY_I  # every served consumer with demand >= the floor, largest first, ties by index
        self._whole = False  # the head is every served consumer
        self._want = 0  # the head's size asked for

    def pick(self, max_mw: float, exclude: np.ndarray) -> np.ndarray:
        """Served consumers worth at most `max_mw`, largest first (ties by index), none of
        `exclude`: the longest prefix of that order whose demand sums (float64, in order) to at
        most `max_mw`. Returns their indices, ascending."""
        if max_mw <= 0 or not self.trees.n:
            return EMPTY_I
        want = max(64, self._want)
        while True:
            if want > self._want and not self._whole:
                self._build(want, max_mw)
            got, ends_inside = self._prefix(max_mw, exclude)
            if self._whole or ends_inside:
                return np.sort(got)
            want = max(4 * self._want, 4 * self._head.size, 256)

    def _prefix(self, max_mw: float, exclude: np.ndarray) -> tuple[np.ndarray, bool]:
        """The head's longest prefix (less `exclude`) whose demand sums (float64, in order) to at most
        `max_mw`, and whether it ends inside the head; a block of the head at a time (the running sums
        np.cumsum's of the whole, one block after another), stopping at the block where it ends: a
        pick is a few thousand consumers, the head late in the day a million (the hubs' load)."""
        head, d = self._head, self.trees.demand
        parts, carry = [], np.zeros(1)
        for a in range(0, head.size, _BLOCK):
            part = head[a : a + _BLOCK]
            if exclude.size:
                part = part[~isin_ints(part, exclude)]
            sums = np.cumsum(np.concatenate([carry, d[part]]))[1:]
            k = int(np.searchsorted(sums, max_mw, side="right"))  # (sums never fall: demands are >= 0)
            parts.append(part[:k])
            if k < part.size:
                return np.concatenate(parts), True
            carry = sums[-1:] if sums.size else carry
        return (np.concatenate(parts) if parts else head[:0]), False

    def _ours(self, idx: np.ndarray) -> np.ndarray:
        """The consumers of `idx` this order ranks (here: every served one), ascending as given."""
        picked: np.ndarray = idx[self.trees.assignment[idx] >= 0]
        return picked

    def _every(self) -> np.ndarray:
        """Every consumer this order ranks, ascending: `_ours` of the whole region."""
        return np.flatnonzero(self.trees.assignment >= 0)

    def _at_least(self, floor: float) -> np.ndarray:
        """`_ours(np.flatnonzero(demand >= floor))`, a block of indices at a time (late in the day
        the floor lets millions through: their index list and its gathers, ~30 B each, are not made
        whole)."""
        d, step = self.trees.demand, _BLOCK << 2
        parts = [self._ours(np.flatnonzero(d[a : a + step] >= floor) + a) for a in range(0, d.size, step)]
        return parts[0] if len(parts) == 1 else np.concatenate(parts) if parts else EMPTY_I

    def _build(self, want: int, max_mw: float) -> None:
        """A head of at least ~`want` consumers, or as many as `max_mw` needs at the ranked ones' mean
        demand, four times over (its floor guessed from a sample of the demands)."""
        trees = self.trees
        d = trees.demand
        step = max(1, d.size // _SAMPLE)
        sample = d[self._ours(np.arange(0, d.size, step))]
        if sample.size:
            mean = float(sample.mean(dtype=np.float64))
            want = max(want, int(4 * max_mw / max(mean, 1e-12)) + 1)
        self._want = want
        k = want // step + 1  # the head's share of the sample
        if not sample.size or k >= sample.size:
            sel = self._every()
            self._whole = True
        else:
            floor = np.partition(sample, sample.size - k)[sample.size - k]
            sel = self._at_least(floor)
            self._whole = not floor > 0  # a floor of 0: every ranked consumer is in
        self._head = sel[np.argsort(-d[sel], kind="stable")]  # (sel ascending: ties keep index order)
