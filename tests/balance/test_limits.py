"""Zone transfer limits as placement policy (scowl.balance.limits): flows implied by
placements, refusals over a limit, re-placement within the limits. Pure functions, no sockets."""

from __future__ import annotations

import numpy as np
import pytest

from scowl.balance import limits
from scowl.balance.trees import STARVED, Trees

A, F, J, K = 0, 5, 9, 10
# a toy table: one cut upstate -> downstate, one into Long Island
TABLE = (("East", "ABCDE", "FGHIJK", 10.0), ("Into K", "ABCDEFGHIJ", "K", 4.0))


def test_flows_follow_the_placements_and_net_out_counterflows():
    ifs = limits.interfaces(table=TABLE)
    gen_zone = np.array([A, J, K])
    assign = np.array([0, 0, 1, 2, STARVED, 0])
    cons_zone = np.array([J, K, J, A, J, A])
    d = np.array([3.0, 2.0, 5.0, 1.0, 9.0, 4.0])
    m = limits.zone_flows(gen_zone, assign, cons_zone, d)
    assert m[A, J] == 3.0 and m[A, K] == 2.0 and m[J, J] == 5.0 and m[K, A] == 1.0 and m[A, A] == 4.0
    assert m.sum() == pytest.approx(15.0)  # the starved consumer moves nothing
    east, into_k = limits.interface_flows(m, ifs)
    assert east == pytest.approx(3.0 + 2.0 - 1.0)  # K -> A flows back across East
    assert into_k == pytest.approx(2.0 - 1.0)


def test_refusals_bring_every_interface_within_its_limit_largest_first():
    ifs = limits.interfaces(table=TABLE)
    gen_zone = np.array([A, K])
    assign = np.zeros(6, dtype=np.int64)  # all on the upstate unit
    cons_zone = np.array([J, J, K, K, K, A])
    d = np.array([4.0, 3.0, 2.5, 2.0, 1.0, 8.0])
    refused = limits.refuse_over_limits(gen_zone, assign, cons_zone, d, ifs)
    left = assign.copy()
    left[refused] = STARVED
    flows = limits.interface_flows(limits.zone_flows(gen_zone, left, cons_zone, d), ifs)
    assert (flows <= ifs.limit_mw + 1e-9).all()
    # East carried 12.5 MW against 10: its largest crossing consumer (4 MW, zone J) goes;
    # Into K then carries 5.5 against 4: its largest (2.5 MW) goes
    assert refused.tolist() == [0, 2]
    assert limits.refuse_over_limits(gen_zone, left, cons_zone, d, ifs).size == 0


def test_no_limit_no_refusal_and_consumers_without_zone_never_cross():
    ifs = limits.interfaces(table=TABLE)
    gz = np.array([A, limits.NO_ZONE])
    assert limits.refuse_over_limits(gz, np.array([1, 1]), np.array([J, K]), np.array([50.0, 50.0]), ifs).size == 0
    assert limits.refuse_over_limits(gz, np.array([0]), np.array([limits.NO_ZONE]), np.array([50.0]), ifs).size == 0


def test_enforce_moves_refused_consumers_to_their_own_zone_when_it_has_room():
    ifs = limits.interfaces(table=TABLE)
    gen_zone = np.array([A, J])
    trees = Trees([40.0, 10.0], demand=[4.0, 4.0, 4.0, 3.0], assignment=[0, 0, 0, 0])
    cons_zone = np.array([J, J, J, J])  # 15 MW of New York City load on an upstate unit
    touched, start, refused, refused_mw = limits.enforce(trees, gen_zone, cons_zone, ifs, 0.10)
    flows = limits.interface_flows(limits.zone_flows(gen_zone, trees.assignment, cons_zone, trees.demand), ifs)
    assert flows[0] <= 10.0 + 1e-9
    assert (start == 0).all() and touched.size >= 1
    moved = touched[trees.assignment[touched] == 1]
    assert moved.size >= 1  # taken off the cut, placed on the J unit (9 MW under its threshold)
    assert trees.load[1] <= 0.9 * 10.0 + 1e-9
    assert refused == int(np.count_nonzero(trees.assignment == STARVED))
    assert refused_mw == pytest.approx(float(trees.demand[trees.assignment == STARVED].sum()))
    assert trees.load.sum() == pytest.approx(float(trees.demand[trees.assignment >= 0].sum()))


def test_enforce_keeps_consumers_starved_when_only_the_cut_has_room():
    ifs = limits.interfaces(table=TABLE)
    trees = Trees([100.0], demand=[6.0, 6.0], assignment=[0, 0])
    touched, _start, refused, refused_mw = limits.enforce(trees, np.array([A]), np.array([J, J]), ifs, 0.10)
    assert refused == 1 and refused_mw == pytest.approx(6.0)
    assert trees.load[0] == pytest.approx(6.0)


def test_share_and_bad_tables():
    assert limits.interfaces(0.25, TABLE).limit_mw.tolist() == [2.5, 1.0]
    assert len(limits.interfaces().names) >= 4  # data/zone_transfer_limits.csv
    with pytest.raises(ValueError, match="disjoint"):
        limits.interfaces(table=(("bad", "AB", "BC", 1.0),))
    with pytest.raises(ValueError, match="share"):
        limits.interfaces(0.0, TABLE)


def test_zone_limits_figures_and_result():
    zl = limits.ZoneLimits(np.array([J, J, J, J], dtype=np.uint8), 1.0, TABLE)
    zl.add_generators([101, 202], [A, J])
    with pytest.raises(ValueError, match="one per generator"):
        zl.add_generators([303, 404], [A])
    trees = Trees([40.0, 10.0], demand=[4.0, 4.0, 4.0, 3.0], assignment=[0, 0, 0, 0])
    res = zl.apply(trees, np.array([101, 202]), np.arange(4), 0.10)
    assert zl.figures["flow_east_mw"] <= 10.0 + 1e-9
    assert res.moved.size == np.count_nonzero(trees.assignment != 0)
    assert (res.moved_from == 0).all()
    assert res.starved_count == trees.n_unplaced


def test_a_consumer_refused_twice_in_a_round_is_queued_once():
    # refused, placed again on the other upstate unit, refused again by the second check: the
    # starved queue must hold it once (a duplicate would be handed to two peers)
    table = (("East", "ABCDE", "FGHIJK", 5.0),)
    ifs = limits.interfaces(table=table)
    trees = Trees([40.0, 40.0], demand=[4.0, 4.0, 3.0], assignment=[0, 0, 0])
    limits.enforce(trees, np.array([A, A]), np.array([J, J, J]), ifs, 0.10)
    q = trees.starved()
    assert q.size == np.unique(q).size == trees.n_unplaced


def test_upstate_flow_into_long_island_crosses_a_long_island_cut():
    """All AC into Long Island (K) comes through I or J: 3,000 MW from an A generator to K
    consumers must show on the Long Island interfaces of data/zone_transfer_limits.csv and be
    held to their limit, not cross only the upstate cuts."""
    ifs = limits.interfaces()
    names = list(ifs.names)
    gen_zone = np.array([A])
    assign = np.zeros(3, dtype=np.int64)
    cons_zone = np.array([K, K, K])
    d = np.array([1_000.0, 1_000.0, 1_000.0])
    flows = dict(zip(names, limits.interface_flows(limits.zone_flows(gen_zone, assign, cons_zone, d), ifs)))
    into_li = flows["I to Long Island"] + flows["J to Long Island"]
    assert into_li == pytest.approx(3_000.0)
    refused = limits.refuse_over_limits(gen_zone, assign, cons_zone, d, ifs)
    left = assign.copy()
    left[refused] = STARVED
    after = dict(zip(names, limits.interface_flows(limits.zone_flows(gen_zone, left, cons_zone, d), ifs)))
    assert after["I to Long Island"] + after["J to Long Island"] <= 1_293.0 + 320.0
    # every zone but K lies on the upstate side of one Long Island cut: no zone reaches K around them
    for z in range(10):
        assert ifs.cross[[names.index("I to Long Island"), names.index("J to Long Island")], z, K].any(), "ABCDEFGHIJK"[z]
def test_limit_shares_by_hash_split_evenly_and_by_zone_go_to_the_trackers_that_can_send():
    ifs = limits.interfaces()
    names = list(ifs.names)
    n = 4
    hashed = [limits.limit_shares(ifs.cross, None, k, n) for k in range(n)]
    for s in hashed:
        np.testing.assert_allclose(s, 0.25)
    # assign = "zone", 4 trackers: the buckets ABCD / EFGHI / J / K (scowl.balance.sharding.zone_buckets)
    owner = limits.zone_owners(n)
    assert "".join(str(b) for b in owner) == "00001111123"
    by_zone = np.array([limits.limit_shares(ifs.cross, owner, k, n) for k in range(n)])
    np.testing.assert_allclose(by_zone.sum(axis=0), 1.0)  # the trackers together hold each limit once, whole
    ds = names.index("Dunwoodie-South")
    assert by_zone[:, ds].tolist() == [0.5, 0.5, 0.0, 0.0]  # New York City may import the whole 4,400 MW (was 2 x 1/4)
    assert by_zone[:, names.index("J to Long Island")].tolist() == [0.0, 0.0, 1.0, 0.0]  # only J's tracker sends from J
    assert by_zone[:, names.index("I to Long Island")].tolist() == [0.5, 0.5, 0.0, 0.0]
    # a tracker with no generator on a cut's `from` side can put no flow across it forwards: share 0
    # costs it nothing (its net flow is never positive), the senders' shares sum to the limit
    one_ifs = limits.interfaces(by_zone[1])  # the EFGHI tracker: 2,200 MW of Dunwoodie-South
    assert limits.refuse_over_limits(np.array([F]), np.array([0, 0]), np.array([J, J]), np.array([2_000.0, 150.0]), one_ifs).size == 0
    assert limits.refuse_over_limits(np.array([F]), np.array([0, 0]), np.array([J, J]), np.array([2_100.0, 150.0]), one_ifs).tolist() == [0]


def test_shares_are_checked():
    with pytest.raises(ValueError, match="share"):
        limits.interfaces(np.array([0.5, 1.5, 0, 0, 0, 0]))
    with pytest.raises(ValueError, match="share"):
        limits.interfaces(np.array([0.5, 0.5]))
