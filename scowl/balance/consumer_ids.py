"""A region's consumer ids (128-bit: `hi`, a population's prefix, and `lo`, the consumer's global
index) by `Trees` index, stored as 5 bytes a consumer, not 16: the global index as uint32 and a
one-byte code of the prefix (a run has a handful of populations; past 256 prefixes the codes
widen). The ids themselves are rebuilt for what a round sends. Pure: no sockets."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, overload

import numpy as np

from scowl.balance.arrays import BLOCK, blocks, span_start, unique_ints, zeros_as_used


def lo_of(ids: np.ndarray) -> np.ndarray:
    """The global indices of consumers given as 128-bit ids (the wire's dtype: their `lo` field) or
    as the global indices themselves (integers: a compact report's low words, wire.CompactIds)."""
    lo: np.ndarray = ids["lo"] if ids.dtype.names else ids
    return lo


@dataclass(frozen=True, eq=False)
class NamedIds:
    """Consumers a round names, as the region keeps their ids: the global index (uint32) and the
    prefix's code (`his`: the prefixes by code), 5 bytes an entry, not 16. The 128-bit ids are
    built only for what is packed, a message's worth at a time (`np.asarray(named)`); `named["lo"]`
    and `named["hi"]` are the fields, `named[mask or slice]` a part."""

    lo: np.ndarray
    code: np.ndarray
    his: np.ndarray  # uint64, by code
    dtype: np.dtype

    @property
    def size(self) -> int:
        return int(self.lo.size)

    def __len__(self) -> int:
        return self.size

    @overload
    def __getitem__(self, key: str) -> np.ndarray: ...
    @overload
    def __getitem__(self, key: slice | np.ndarray) -> NamedIds: ...
    def __getitem__(self, key: str | slice | np.ndarray) -> np.ndarray | NamedIds:
        if isinstance(key, str):
            return self.lo if key == "lo" else self.ids()[key]
        return NamedIds(self.lo[key], self.code[key], self.his, self.dtype)

    def ids(self) -> np.ndarray:
        """The 128-bit ids (the wire's dtype)."""
        out = np.empty(self.lo.size, dtype=self.dtype)
        out["lo"] = self.lo
        out["hi"] = self.his[self.code] if self.his.size else 0
        return out

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = self.ids()
        return out if dtype is None else out.astype(dtype, copy=False)

    def prefix_rank(self) -> np.ndarray:
        """Per entry, the rank of its prefix among `his` (ordered and equal as the prefixes are)."""
        rank = np.searchsorted(np.sort(self.his), self.his).astype(self.code.dtype)
        out: np.ndarray = rank[self.code]
        return out


class ConsumerIds:
    def __init__(self, id_dtype: np.dtype, n_global: int) -> None:
        if n_global > 2**32:
            raise ValueError(f"{n_global} consumers: global indices are uint32 here")
        self.dtype = id_dtype
        self.lo = np.zeros(0, dtype=np.uint32)  # global index by Trees index
        self.code = np.zeros(0, dtype=np.uint8)  # index into `his` by Trees index
        self.his: list[int] = []  # the id prefixes seen, by code
        self._code_of: dict[int, int] = {}

    def __len__(self) -> int:
        return len(self.lo)

    def make_room(self, n_max: int) -> None:
        """Room for up to `n_max` consumers allocated now, resident only as it fills (Trees.make_room)."""
        self.reserve(n_max, exact=True)

    def reserve(self, need: int, exact: bool = False) -> None:
        """Room for `need` consumers (amortised doubling unless `exact`)."""
        if need <= len(self.lo):
            return
        size = need if exact else max(need, 2 * len(self.lo))
        for name in ("lo", "code"):
            old = getattr(self, name)
            new = zeros_as_used(size, old.dtype)  # (4 KB pages: resident as filled)
            new[: old.size] = old
            setattr(self, name, new)

    def store(self, idx: np.ndarray, ids: np.ndarray) -> None:
        """The ids of consumers at Trees indices `idx` (global indices already checked against n_global)."""
        self.reserve(int(idx.max()) + 1 if idx.size else 0)
        self.lo[idx] = ids["lo"]
        self.code[idx] = self._encode(np.asarray(ids["hi"]))

    def ids_of(self, idx: np.ndarray | slice) -> np.ndarray:
        """The 128-bit ids (the wire's dtype) of consumers at these Trees indices."""
        lo = self.lo[idx]
        out = np.empty(lo.size, dtype=self.dtype)
        out["lo"] = lo
        out["hi"] = np.asarray(self.his, dtype=np.uint64)[self.code[idx]] if self.his else 0
        return out

    def named(self, idx: np.ndarray) -> NamedIds:
        """The ids of consumers at these Trees indices, kept 5 bytes each (`ids_of` builds them).
        Indices that run a..b one by one (round 0 names every consumer in index order) give
        views of the stored ids, not copies: a consumer's id at its index never changes (an index
        is one global index for the region's life; more room copies the arrays, the views keep
        the old ones)."""
        his = np.asarray(self.his, dtype=np.uint64)
        a = span_start(idx)
        if a is not None:
            return NamedIds(self.lo[a:a + idx.size], self.code[a:a + idx.size], his, self.dtype)
        return NamedIds(self.lo[idx], self.code[idx], his, self.dtype)

    def with_prefix(self, n: int, his: Sequence[int]) -> np.ndarray:
        """Mask over the first `n` consumers: those whose id prefix is one of `his`."""
        codes = [self._code_of[int(h)] for h in his if int(h) in self._code_of]
        if len(codes) == 1:
            mask: np.ndarray = self.code[:n] == codes[0]
            return mask
        return np.isin(self.code[:n], codes)

    def _encode(self, hi: np.ndarray) -> np.ndarray:
        """The codes of these prefixes, new prefixes given the next codes (a batch is mostly one population's)."""
        if not hi.size:
            return np.zeros(0, dtype=self.code.dtype)
        first = int(hi[0])
        if bool((hi == hi[0]).all()):
            return np.full(hi.size, self._code(first), dtype=self.code.dtype)
        u = unique_ints(hi)
        table = np.array([self._code(int(h)) for h in u], dtype=np.int64)
        return table[np.searchsorted(u, hi)].astype(self.code.dtype)

    def _code(self, hi: int) -> int:
        code = self._code_of.get(hi)
        if code is None:
            code = self._code_of[hi] = len(self.his)
            self.his.append(hi)
            if code > np.iinfo(self.code.dtype).max:
                self.code = self.code.astype(np.uint16 if code <= np.iinfo(np.uint16).max else np.uint32)
        return code


def id_blocks(*parts: tuple[np.ndarray | NamedIds, np.ndarray], size: int = BLOCK) -> list[tuple[Any, np.ndarray]]:
    """`arrays.blocks` of (ids, generators) pairs whose blocks each hold one id prefix (`hi`, a
    population's), so each crosses in the compact form (wire.CompactIds: 8 bytes an entry, not
    20). Within a part the entries are grouped by prefix, stably (not moved when each prefix is in
    one run already, as a round's consumers in index order mostly are); the parts stay in order.
    A part names each consumer once (a round's released, its moved), so the order within it
    changes nothing its receiver keeps. A NamedIds part gives NamedIds blocks (16-byte ids built
    as each is packed)."""
    groups: list[Any] = []
    for ids, gens in parts:
        hi = ids.prefix_rank() if isinstance(ids, NamedIds) else ids["hi"]  # (a rank orders as the prefix)
        runs = np.flatnonzero(hi[1:] != hi[:-1]) + 1
        heads = hi[np.r_[0, runs]] if hi.size else hi
        if unique_ints(heads).size < heads.size:  # a prefix in more than one run: grouped
            order = np.argsort(hi, kind="stable")
            ids, gens, hi = ids[order], gens[order], hi[order]
            runs = np.flatnonzero(hi[1:] != hi[:-1]) + 1
        bounds = [0, *runs.tolist(), len(ids)]
        groups += [(ids[a:b], gens[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]
    return blocks(*groups, size=size)
