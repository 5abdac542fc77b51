"""What a tracker's round sends, made one message at a time: the tracker hands `Outbox.send_built`
a call of `assign` or `delta` per message, so a round naming millions of consumers (round 0
names every one) never holds its Assigns and tree deltas whole (scowl.runtime.inflight).

Each message is the one `pack_ids` makes from the 16-byte ids (`packed`: the compact form from
the region's 5-byte ids when they share one prefix, without building the 16-byte ids first),
and each population's share of a round is found a block at a time (`owners`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

import numpy as np

from scowl import balance, wire
from scowl.balance.arrays import BLOCK_16
from scowl.balance.owners import NO_OWNER, range_owner

B = TypeVar("B", bound=wire.CompactIds)


def owners(lo: np.ndarray, ranges: Sequence[tuple[int, int, int]], block: int = BLOCK_16) -> np.ndarray:
    """range_owner(lo, ranges), found a block at a time into the smallest signed integer that
    holds every owner (range_owner's int64 temporaries for 2.6 M consumers came to ~100 MB; for a
    block of 2^18, ~12 MB)."""
    top = max((k for _, _, k in ranges), default=0)
    out = np.empty(lo.size, dtype=np.min_scalar_type(-max(top, 1)))
    for i in range(0, lo.size, block):
        out[i:i + block] = range_owner(lo[i:i + block], ranges)
    return out


def packed(cls: type[B], ids: Any, gen_ids: np.ndarray, **fields: Any) -> B:
    """cls.pack_ids(ids=ids, gen_ids=gen_ids, **fields), the same message; ids of the region
    (balance.NamedIds) that share one prefix go to the compact form as they are."""
    if isinstance(ids, balance.NamedIds) and ids.size and int(ids.code.min()) == int(ids.code.max()):
        hi = int(ids.his[ids.code[0]]) if ids.his.size else 0
        return cls.pack_compact(hi=hi, lo=ids.lo, copy=False, gen_ids=gen_ids, **fields)
    return cls.pack_ids(ids=ids, copy=False, gen_ids=gen_ids, **fields)


def assign(tick: int, ids: balance.NamedIds, gen_ids: np.ndarray, owner: np.ndarray, k: int, tail: int) -> wire.Assign:
    """Population k's Assign of a round: its own consumers and any no population owns; the
    entries from `tail` on are the starved we handed out."""
    mine = (owner == k) | (owner == NO_OWNER)
    return packed(wire.Assign, ids[mine], gen_ids[mine], tick=tick, handed=int(np.count_nonzero(mine[tail:])))


def delta(tick: int, ids: Any, gen_ids: np.ndarray) -> wire.TreeDelta:
    """One block of a round's tree delta to a fleet."""
    return packed(wire.TreeDelta, ids, gen_ids, tick=tick)
