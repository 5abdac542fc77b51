"""A region's consumer ids (128-bit: `hi`, a population's prefix, and `lo`, the consumer's global
index) by `Trees` index, stored as 5 bytes a consumer, not 16: the global index as uint32 and a
one-byte code of the prefix (a run has a handful of populations; past 256 prefixes the codes
widen). The ids themselves are rebuilt for what a round sends. Pure: no sockets."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from scowl.balance.arrays import BLOCK, blocks, unique_ints


def lo_of(ids: np.ndarray) -> np.ndarray:
    """The global indices of consumers given as 128-bit ids (the wire's dtype: their `lo` field) or
    as the global indices themselves (integers: a compact report's low words, wire.CompactIds)."""
    lo: np.ndarray = ids["lo"] if ids.dtype.names else ids
    return lo


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

    def reserve(self, need: int, exact: bool = False) -> None:
        """Room for `need` consumers (amortised doubling unless `exact`)."""
        if need <= len(self.lo):
            return
        size = need if exact else max(need, 2 * len(self.lo))
        for name in ("lo", "code"):
            old = getattr(self, name)
            new = np.zeros(size, dtype=old.dtype)
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


def id_blocks(*parts: tuple[np.ndarray, np.ndarray], size: int = BLOCK) -> list[tuple[np.ndarray, np.ndarray]]:
    """`arrays.blocks` of (ids, generators) pairs whose blocks each hold one id prefix (`hi`, a
    population's), so each crosses in the compact form (wire.CompactIds: 8 bytes an entry, not
    20). Within a part the entries are grouped by prefix, stably (not moved when each prefix is in
    one run already, as a round's consumers in index order mostly are); the parts stay in order.
    A part names each consumer once (a round's released, its moved), so the order within it
    changes nothing its receiver keeps."""
    groups = []
    for ids, gens in parts:
        hi = ids["hi"]
        runs = np.flatnonzero(hi[1:] != hi[:-1]) + 1
        heads = hi[np.r_[0, runs]] if hi.size else hi
        if unique_ints(heads).size < heads.size:  # a prefix in more than one run: grouped
            order = np.argsort(hi, kind="stable")
            ids, gens = ids[order], gens[order]
            runs = np.flatnonzero(ids["hi"][1:] != ids["hi"][:-1]) + 1
        bounds = [0, *runs.tolist(), len(ids)]
        groups += [(ids[a:b], gens[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]
    return blocks(*groups, size=size)
