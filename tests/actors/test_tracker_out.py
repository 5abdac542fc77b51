"""A tracker's round messages as tracker_out makes them are the very frames pack_ids made from
16-byte ids: owners found a block at a time, the compact form built from the region's 5-byte
ids when they share one prefix, pack_ids' own form when they do not."""

from __future__ import annotations

import numpy as np

from scowl import balance, wire
from scowl.actors import tracker_out
from scowl.balance.owners import NO_OWNER, range_owner

RANGES = [(0, 3000, 0), (3000, 5200, 1), (5300, 9000, 2)]  # 5200..5300: nobody's


def _round(n: int = 9000, seed: int = 3) -> tuple[balance.NamedIds, np.ndarray]:
    rng = np.random.default_rng(seed)
    lo = rng.permutation(n).astype(np.uint32)
    his = np.array([11, 22, 33], dtype=np.uint64)
    code = np.searchsorted([3000, 5300], lo, side="right").astype(np.uint8)  # population k's prefix his[k]
    code[lo >= 8800] = 0  # a few of population 2's range under another prefix: its Assign mixes two
    return balance.NamedIds(lo, code, his, wire.CONSUMER_ID_DTYPE), rng.integers(-1, 40, n).astype(np.int32)


def _frame(msg: wire.Message) -> bytes:
    return wire.encode_frame(msg, "tracker-0", "x", 5, 2)


def test_assigns_and_deltas_are_the_frames_pack_ids_made():
    ids, gens = _round()
    owner = tracker_out.owners(ids["lo"], RANGES, block=1000)
    assert np.array_equal(owner, range_owner(ids["lo"], RANGES)) and owner.dtype == np.int8
    assert (owner == NO_OWNER).sum() == 100
    tail = ids.size - 50
    compact = []
    for k in range(3):
        mine = (owner == k) | (owner == NO_OWNER)
        old = wire.Assign.pack_ids(tick=2, ids=np.asarray(ids[mine]), gen_ids=gens[mine], handed=int(np.count_nonzero(mine[tail:])))
        new = tracker_out.assign(2, ids, gens, owner, k, tail)
        assert _frame(new) == _frame(old)
        compact.append(new.compact)
    assert compact == [False, True, False]  # 1's own and the unowned share its prefix; 0 and 2 mix two
    for at in (np.flatnonzero(ids.code == 1), np.arange(3000), np.arange(0)):  # one prefix, several, none
        part, g = ids[at], gens[at]
        new = tracker_out.delta(2, part, g)
        assert _frame(new) == _frame(wire.TreeDelta.pack_ids(tick=2, ids=np.asarray(part), gen_ids=g))
        assert new.compact == (at.size == 2300)
