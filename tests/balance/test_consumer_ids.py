"""A region's consumer ids held as 5 bytes each give back the 128-bit ids they were given."""

import numpy as np
import pytest

from scowl import wire
from scowl.balance.consumer_ids import ConsumerIds


def _ids(hi, lo):
    out = np.zeros(len(lo), dtype=wire.CONSUMER_ID_DTYPE)
    out["hi"], out["lo"] = hi, lo
    return out


def test_ids_come_back_as_stored_across_batches_and_mixed_prefixes():
    rng = np.random.default_rng(5)
    store = ConsumerIds(wire.CONSUMER_ID_DTYPE, 1000)
    his = np.array([2**63 + 7, 12345, 2**40], dtype=np.uint64)
    a = _ids(his[0], rng.permutation(1000)[:300])  # one population's registration
    b = _ids(his[rng.integers(0, 3, 200)], rng.permutation(1000)[:200])  # a handover: every population's
    store.store(np.arange(300), a)
    store.store(np.arange(300, 500), b)
    store.store(np.array([3, 1]), b[:2])  # stored again at other indices
    want = np.concatenate([a, b])
    want[[3, 1]] = b[:2]
    assert (store.ids_of(np.arange(500)) == want).all()
    assert (store.ids_of(slice(10, 20)) == want[10:20]).all()
    assert (store.with_prefix(500, [int(his[2])]) == (want["hi"] == his[2])).all()
    assert (store.with_prefix(500, [int(his[0]), int(his[1])]) == np.isin(want["hi"], his[:2])).all()
    assert not store.with_prefix(500, [99]).any()  # a prefix never seen


def test_codes_widen_past_256_prefixes():
    store = ConsumerIds(wire.CONSUMER_ID_DTYPE, 10_000)
    ids = _ids(np.arange(300, dtype=np.uint64) * 3 + 1, np.arange(300))
    for k in range(300):
        store.store(np.array([k]), ids[k : k + 1])
    assert store.code.dtype == np.uint16
    assert (store.ids_of(np.arange(300)) == ids).all()


def test_more_global_indices_than_uint32_is_refused():
    with pytest.raises(ValueError, match="uint32"):
        ConsumerIds(wire.CONSUMER_ID_DTYPE, 2**32 + 1)


def test_id_blocks_hold_one_prefix_each_and_keep_parts_in_order():
    from scowl.balance.consumer_ids import id_blocks

    def ids(his, los):
        out = np.zeros(len(his), dtype=wire.CONSUMER_ID_DTYPE)
        out["hi"], out["lo"] = his, los
        return out

    released = ids([7, 7, 9], [1, 2, 3])
    moved = ids([5, 9, 5, 5, 9], [10, 11, 12, 13, 14])  # prefix 5 in two runs: grouped, stably
    gens = np.arange(5, dtype=np.int32)
    got = id_blocks((released, np.full(3, -1, dtype=np.int32)), (moved, gens), size=2)
    assert [b[0]["hi"].tolist() for b in got] == [[7, 7], [9], [5, 5], [5], [9, 9]]
    assert [b[0]["lo"].tolist() for b in got][2:] == [[10, 12], [13], [11, 14]]
    assert [b[1].tolist() for b in got][2:] == [[0, 2], [3], [1, 4]]
    grouped = ids([3, 3, 4, 4], [1, 2, 3, 4])  # one run per prefix: cut, not moved
    assert [b[0]["lo"].tolist() for b in id_blocks((grouped, np.zeros(4, dtype=np.int32)))] == [[1, 2], [3, 4]]
    empty = id_blocks((released[:0], gens[:0]), (moved[:0], gens[:0]))
    assert len(empty) == 1 and empty[0][0].size == 0


def test_named_ids_are_the_stored_ids_and_cut_in_the_same_blocks():
    """A round's output names its consumers as the region keeps them (NamedIds: 5 bytes each); the
    16-byte ids, the fields, the parts and id_blocks' blocks are those of ids_of's ids."""
    from scowl.balance.consumer_ids import NamedIds, id_blocks

    rng = np.random.default_rng(3)
    store = ConsumerIds(wire.CONSUMER_ID_DTYPE, 1000)
    his = np.array([2**63 + 7, 12345, 2**40], dtype=np.uint64)  # codes 0, 1, 2: not the prefixes' order
    store.store(np.arange(400), _ids(his[rng.integers(0, 3, 400)], rng.permutation(1000)[:400]))
    idx = rng.permutation(400)[:250]
    named, want = store.named(idx), store.ids_of(idx)
    assert isinstance(named, NamedIds) and named.size == len(named) == 250
    assert (np.asarray(named) == want).all() and (np.asarray(named, dtype=wire.CONSUMER_ID_DTYPE) == want).all()
    assert (named["lo"] == want["lo"]).all() and (named["hi"] == want["hi"]).all()
    mask = rng.random(250) < 0.5
    assert (np.asarray(named[mask]) == want[mask]).all() and (np.asarray(named[10:20]) == want[10:20]).all()
    gens = rng.integers(0, 9, 250).astype(np.int32)
    released = _ids(his[[1, 0]], [5, 6])
    for size in (7, 1 << 18):
        got = id_blocks((released, np.full(2, -1, dtype=np.int32)), (named, gens), size=size)
        ref = id_blocks((released, np.full(2, -1, dtype=np.int32)), (want, gens), size=size)
        assert len(got) == len(ref) > 3
        for (a, g), (b, h) in zip(got, ref):
            assert (np.asarray(a) == b).all() and (g == h).all()


def test_a_run_of_indices_is_named_by_views_of_the_stored_ids_equal_to_copies():
    """Round 0 names every consumer in index order: views of the stored ids (no 5 bytes a consumer
    more), the same ids as any other run of indices named by copies; more room keeps them so."""
    store = ConsumerIds(wire.CONSUMER_ID_DTYPE, 1000)
    his = np.array([11, 2**62], dtype=np.uint64)
    store.store(np.arange(300), _ids(his[np.arange(300) % 2], np.arange(300)[::-1] + 5))
    run = store.named(np.arange(40, 260, dtype=np.int32))
    assert np.shares_memory(run.lo, store.lo) and np.shares_memory(run.code, store.code)
    assert (np.asarray(run) == store.ids_of(np.arange(40, 260))).all()
    gap = store.named(np.r_[np.arange(40, 100), np.arange(101, 261)])  # not a run: copies
    assert not np.shares_memory(gap.lo, store.lo)
    assert (np.asarray(gap) == store.ids_of(np.r_[np.arange(40, 100), np.arange(101, 261)])).all()
    store.reserve(5000)  # new arrays: the views still read the same ids
    assert (np.asarray(run) == store.ids_of(np.arange(40, 260))).all()
