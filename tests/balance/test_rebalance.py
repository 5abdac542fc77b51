"""Hand-computed scenarios for one rebalance round (scowl.balance). Powers in MW."""

from __future__ import annotations

import numpy as np
import pytest

from scowl.balance import STARVED, Trees, check_invariants, rebalance


def placed(output, demand, thr=0.10):
    trees = Trees(output, demand)
    first = rebalance(trees, thr)
    return trees, first


def test_supply_above_demand_plus_margin_starves_no_one():
    # 3 x 10 MW at a 10 % margin carry 27 MW; 20 x 1 MW fits with room to spare.
    trees, result = placed([10.0, 10.0, 10.0], [1.0] * 20)
    assert result.starved_count == 0 and result.starved_mw == 0.0
    assert result.restored.tolist() == list(range(20))  # joiners placed in the first round
    assert (trees.assignment >= 0).all()
    assert trees.load.sum() == 20.0 and (trees.load <= 9.0).all()
    # Pass 1 spreads to 20/27 utilisation (6 each), pass 2 spreads the two leftovers.
    assert trees.load.tolist() == [7.0, 7.0, 6.0]
    check_invariants(trees, 0.10)
    again = rebalance(trees, 0.10)  # nothing changed: nothing moves
    assert again.moved.size == 0 and again.starved_count == 0


def test_generator_losing_half_its_output_sheds_within_one_round():
    trees, _ = placed([10.0, 10.0, 10.0], [1.0] * 21)
    assert trees.load.tolist() == [7.0, 7.0, 7.0]
    members_of_0 = np.flatnonzero(trees.assignment == 0)
    trees.apply_generator_updates([0], [5.0])  # ceiling 4.5 MW: 2.5 MW over -> 3 consumers
    result = rebalance(trees, 0.10)
    assert result.overloaded == 1 and result.shed == 3
    assert result.moved.size == 3 and set(result.moved) <= set(members_of_0)
    assert (result.moved_from == 0).all() and (result.moved_to > 0).all()
    assert result.starved_count == 0 and result.newly_starved.size == 0
    assert trees.load[0] == 4.0 and trees.load.sum() == 21.0 and (trees.load[1:] <= 9.0).all()
    check_invariants(trees, 0.10)


def test_demand_above_supply_starves_the_deficit_to_within_one_consumer():
    # 2 x 10 MW -> 18 MW under the margin; 25 x 1 MW demanded: deficit 7 MW, 7 starved.
    trees, result = placed([10.0, 10.0], [1.0] * 25)
    assert result.starved_count == 7 and result.starved_mw == 7.0
    assert trees.load.tolist() == [9.0, 9.0]
    # Mixed sizes on one generator: ceiling 9, demand 2+2+2+2+3 = 11, deficit 2.
    trees, result = placed([10.0], [2.0, 2.0, 2.0, 2.0, 3.0])
    deficit = 11.0 - 9.0
    assert 0.0 <= result.starved_mw - deficit <= 3.0  # within the largest consumer
    assert trees.load[0] <= 9.0
    figures = check_invariants(trees, 0.10)
    assert figures["deficit_mw"] == deficit


@pytest.mark.parametrize(
    ("excess_mw", "expected"),
    [(0.5, [1]), (1.0, [1]), (3.0, [0]), (5.5, [0, 1])],
)
def test_shedding_moves_the_fewest_consumers_then_the_smallest_that_suffices(excess_mw, expected):
    # One generator holds a 5 MW consumer (index 0) and five of 1 MW; its ceiling is cut.
    trees = Trees([100.0, 0.0], [5.0, 1.0, 1.0, 1.0, 1.0, 1.0], assignment=[0] * 6)
    trees.apply_generator_updates([0], [(10.0 - excess_mw) / 0.9])
    result = rebalance(trees, 0.10)
    assert result.moved.tolist() == expected  # ties between equal consumers: lowest index
    assert (result.moved_to == STARVED).all()  # generator 1 has no output: nowhere to go
    assert result.newly_starved.tolist() == expected


def test_longest_starved_consumers_are_restored_first():
    trees, _ = placed([10.0], [1.0] * 12)  # 9 placed, 3 starved (indices 9, 10, 11)
    assert np.flatnonzero(trees.assignment == STARVED).tolist() == [9, 10, 11]
    trees.apply_generator_updates([0], [10.0 * 7 / 9])  # ceiling 7: two more shed, now newest
    shed = rebalance(trees, 0.10)
    assert shed.newly_starved.tolist() == [0, 1]
    trees.apply_generator_updates([0], [10.0 * 10 / 9])  # ceiling 10: room for 3 of the 5
    result = rebalance(trees, 0.10)
    assert result.restored.tolist() == [9, 10, 11]
    assert result.starved_count == 2
    check_invariants(trees, 0.10)


def test_consumer_updates_keep_loads_incremental_and_last_report_wins():
    trees, _ = placed([10.0, 10.0], [1.0] * 10)
    trees.apply_consumer_updates([3, 4, 3], [2.0, 0.5, 4.0])
    assert trees.demand[3] == 4.0 and trees.demand[4] == 0.5
    assert trees.load.sum() == 12.5  # 10 - 1 + 4 - 1 + 0.5
    check_invariants(trees, 0.10, rebalanced=False)
    with pytest.raises(ValueError, match="index 10 out of range"):
        trees.apply_consumer_updates([10], [1.0])
    with pytest.raises(ValueError, match="finite and >= 0"):
        trees.apply_consumer_updates([1], [-1.0])


def test_same_inputs_give_identical_outputs():
    def run():
        rng = np.random.default_rng(7)
        trees = Trees(rng.uniform(5, 20, 6), rng.uniform(0.1, 2.0, 120).astype(np.float32))
        results = []
        for _ in range(30):
            trees.apply_consumer_updates(rng.integers(0, 120, 10), rng.uniform(0.1, 2.0, 10))
            trees.apply_generator_updates(rng.integers(0, 6, 2), rng.uniform(0, 20, 2))
            r = rebalance(trees, 0.10)
            results.append((r.moved.tolist(), r.moved_to.tolist(), r.starved_mw, r.load.tolist()))
        return results, trees.assignment.tolist()

    assert run() == run()


def reference_shed(demand, members, excess):
    """The shedding rule written plainly: largest first (ties: lower index) until the excess is
    covered, then the last pick swapped for the smallest member (ties: lower index) that covers
    what the others leave."""
    ranked = sorted(members, key=lambda i: (-demand[i], i))
    taken, total = [], 0.0
    for i in ranked:
        if total >= excess:
            break
        taken.append(i)
        total += demand[i]
    rest = excess - sum(demand[i] for i in taken[:-1])
    cover = [i for i in members if i not in taken[:-1] and demand[i] >= rest]
    last = min(cover, key=lambda i: (demand[i], i)) if cover else taken[-1]
    return sorted(taken[:-1] + [last])


@pytest.mark.parametrize("sort_limit", [None, 0])  # 0 forces the per-generator partial sort
def test_shedding_matches_the_plain_rule_on_every_route(monkeypatch, sort_limit):
    import scowl.balance.shed as shedding

    if sort_limit is not None:
        monkeypatch.setattr(shedding, "_SORT_LIMIT", sort_limit)
    rng = np.random.default_rng(11)
    for _ in range(40):
        n = int(rng.integers(1, 60))
        demand = rng.integers(1, 6, n).astype(np.float32)  # small integers: many ties
        gen = rng.integers(0, 3, n)
        trees = Trees([1000.0, 1000.0, 1000.0, 0.0], demand, assignment=gen)
        new_output = rng.uniform(0, 1.0, 3) * trees.load[:3] / 0.9
        trees.apply_generator_updates([0, 1, 2], new_output)
        cap = trees.cap(0.10)
        expected = []
        for g in range(3):
            members = np.flatnonzero(gen == g).tolist()
            if trees.load[g] > cap[g]:
                expected += reference_shed(demand.astype(float), members, trees.load[g] - cap[g])
        over = np.flatnonzero(trees.load > cap)
        shed, shed_from = shedding.shed_overloaded(trees, over, cap)
        assert sorted(shed.tolist()) == sorted(expected)
        assert (shed_from == gen[shed]).all() and (trees.load <= cap).all()
        check_invariants(trees, 0.10, rebalanced=False)


@pytest.mark.parametrize("sort_limit", [None, 0])
def test_shedding_never_takes_a_frozen_consumer_and_follows_the_rule_over_the_rest(monkeypatch, sort_limit):
    import scowl.balance.shed as shedding

    if sort_limit is not None:
        monkeypatch.setattr(shedding, "_SORT_LIMIT", sort_limit)
    rng = np.random.default_rng(12)
    for _ in range(40):
        n = int(rng.integers(20, 80))
        demand = rng.integers(1, 6, n).astype(np.float32)
        gen = rng.integers(0, 3, n)
        trees = Trees([1000.0, 1000.0, 1000.0, 0.0], demand, assignment=gen)
        trees.frozen = rng.random(n) < 0.3  # (a population not heard this tick)
        trees.apply_generator_updates([0, 1, 2], rng.uniform(0.3, 1.0, 3) * trees.load[:3] / 0.9)
        cap = trees.cap(0.10)
        expected = []
        for g in range(3):
            free = np.flatnonzero((gen == g) & ~trees.frozen).tolist()
            if trees.load[g] > cap[g] and free:
                expected += reference_shed(demand.astype(float), free, trees.load[g] - cap[g])
        shed, _ = shedding.shed_overloaded(trees, np.flatnonzero(trees.load > cap), cap)
        assert not trees.frozen[shed].any()
        assert sorted(shed.tolist()) == sorted(expected)


@pytest.mark.parametrize("seed", [3, 4])
def test_steady_deficit_keeps_invariants_over_rounds_of_changing_demand(seed):
    # Ceilings 5 % below demand; every round a tenth of the consumers report (half of them
    # rising) and a few generators change output: starved demand covers the deficit, nobody
    # is over a ceiling, and a generator pushed over by risers sheds only risers.
    rng = np.random.default_rng(seed)
    demand = rng.lognormal(0.0, 0.5, 2_000).astype(np.float32)
    size = rng.lognormal(0.0, 1.0, 12)
    nominal = size / size.sum() * float(demand.sum()) * 0.95 / 0.9
    trees = Trees(nominal, demand)
    rebalance(trees, 0.10)
    for _ in range(25):
        idx = rng.choice(trees.n, 200, replace=False)
        new = demand[idx] * rng.lognormal(0.0, 0.3, idx.size).astype(np.float32)
        rose = idx[new > trees.demand[idx]]
        trees.apply_consumer_updates(idx, new)
        gens = rng.integers(0, trees.G, 2)
        trees.apply_generator_updates(gens, nominal[gens] * rng.uniform(0.9, 1.05, 2))
        before = trees.assignment.copy()
        result = rebalance(trees, 0.10)
        figures = check_invariants(trees, 0.10)
        assert figures["deficit_mw"] > 0
        assert result.starved_mw >= figures["deficit_mw"] - 1e-9
        assert result.starved_mw == pytest.approx(figures["starved_mw"])
        assert result.starved_count == figures["starved_count"]
        assert (trees.load <= trees.cap(0.10) * (1 + 1e-12)).all()
        shed_from_unchanged = result.newly_starved[~np.isin(before[result.newly_starved], gens)]
        assert np.isin(shed_from_unchanged, rose).all()


def test_room_made_up_front_is_the_same_trees_growing_without_copies():
    from scowl.balance.trees import Trees

    grown, roomy = Trees(np.array([5.0, 5.0])), Trees(np.array([5.0, 5.0]))
    roomy.make_room(10_000)
    demand_array = roomy._demand
    for k in (3, 1500, 700, 4000):  # (doubling twice on the way)
        for t in (grown, roomy):
            t.add_consumers(np.full(k, 0.5, dtype=np.float32))
            t.move(np.arange(t.n - k, t.n), np.zeros(k, dtype=np.int32))
        assert roomy._demand is demand_array  # never copied to grow
        assert (grown._cap, grown._delta.size, grown._ndelta) == (roomy._cap, roomy._delta.size, roomy._ndelta)
        assert np.array_equal(grown.assignment, roomy.assignment) and np.array_equal(grown.load, roomy.load)
        assert np.array_equal(np.sort(grown.members(np.array([0]))), np.sort(roomy.members(np.array([0]))))


@pytest.mark.parametrize("deficit", [False, True])
def test_a_queue_longer_than_a_block_is_placed_a_block_at_a_time_in_queue_order(monkeypatch, deficit):
    import scowl.balance.round as round_module

    rng = np.random.default_rng(11)
    demand = rng.uniform(0.5, 1.5, 5000)
    output = rng.uniform(50.0, 150.0, 40) * (0.8 if deficit else 1.6) * demand.sum() / 4000.0
    whole = Trees(output, demand)
    one = rebalance(whole, 0.10)
    monkeypatch.setattr(round_module, "PLACE_BLOCK", 512)  # ten blocks, loads updated after each
    plans = []
    plan = round_module.plan_placement
    monkeypatch.setattr(round_module, "plan_placement", lambda d, load, cap: plans.append(d.size) or plan(d, load, cap))
    trees = Trees(output, demand)
    res = rebalance(trees, 0.10)
    assert plans == [512] * 9 + [392]
    check_invariants(trees, 0.10)  # loads exact, index and queue right, nothing over, no starved one fits
    assert res.moved.dtype == np.int32 and (np.diff(res.moved) > 0).all()  # (a first round's millions: half the bytes)
    assert np.array_equal(res.moved, np.flatnonzero(trees.assignment >= 0)) and (res.moved_from == STARVED).all()
    assert np.array_equal(res.moved_to, trees.assignment[res.moved]) and np.array_equal(res.restored, res.moved)
    assert res.starved_count == trees.n_unplaced == int(np.count_nonzero(trees.assignment == STARVED))
    assert res.starved_mw == pytest.approx(float(demand[trees.assignment == STARVED].sum()), rel=1e-9, abs=1e-9)
    if deficit:  # the most starved first: a block is placed before the next is looked at (ties: by index)
        assert res.starved_count and one.starved_count
        assert float(demand[trees.assignment >= 0].sum()) == pytest.approx(float(demand[whole.assignment >= 0].sum()), rel=0.01)
    else:
        assert res.starved_count == one.starved_count == 0
    again = rebalance(trees, 0.10)  # its member index was rebuilt once, at the end: a round after it sheds nothing
    assert again.moved.size == 0
    check_invariants(trees, 0.10)


@pytest.mark.parametrize("sort_limit", [None, 0])
@pytest.mark.parametrize("frozen", [False, True])
def test_shedding_a_group_of_generators_at_a_time_is_one_pass_to_the_bit(monkeypatch, sort_limit, frozen):
    """Past _GROUP candidates shed_overloaded takes its generators a group at a time (a late round
    sheds among 2.5 M): the same consumers in the same order, the same loads to the bit, on both
    routes, with risers, frozen consumers and members in the index's change log."""
    import scowl.balance.shed as shedding

    if sort_limit is not None:
        monkeypatch.setattr(shedding, "_SORT_LIMIT", sort_limit)
    for seed in range(12):
        runs = []
        for group in (1 << 40, int(np.random.default_rng(seed).integers(3, 40))):
            monkeypatch.setattr(shedding, "_GROUP", group)
            rng = np.random.default_rng(seed)
            n, g = int(rng.integers(200, 600)), int(rng.integers(4, 12))
            demand = rng.choice([0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 7.0], n).astype(np.float32)  # ties and zeros
            trees = Trees(np.full(g + 1, 1e4), demand, assignment=rng.integers(0, g, n))
            moved = np.flatnonzero(rng.random(n) < 0.05)  # in the change log, not the index
            trees.move(moved, rng.integers(0, g, moved.size).astype(np.int32))
            if frozen:
                trees.frozen = rng.random(n) < 0.1
            trees.apply_generator_updates(np.arange(g), rng.uniform(0.3, 1.05, g) * trees.load[:g] / 0.9)
            cap = trees.cap(0.10)
            over = np.flatnonzero(trees.load > cap)
            risers = np.flatnonzero(rng.random(n) < float(rng.choice([0.0, 0.2, 0.6])))
            shed, shed_from = shedding.shed_overloaded(trees, over, cap, risers)
            runs.append((shed.tolist(), shed_from.tolist(), trees.load.tobytes(), trees.assignment.tobytes()))
        assert runs[0] == runs[1], seed


def test_the_member_index_is_rebuilt_over_its_own_memory():
    # a rebuild's small temporaries split the old index's freed memory and the new one took fresh
    # pages beside it (+11 MB a rebuild at tracker-3 of the whole state): it is written over the old
    trees = Trees(np.array([5.0, 5.0]), np.full(1000, 0.5, dtype=np.float32))
    room = trees._order_room
    trees.move(np.arange(600), np.zeros(600, dtype=np.int32))  # (more than the change log holds: a rebuild)
    trees.add_consumers(np.full(10, 0.5, dtype=np.float32))  # (more consumers, within the capacity)
    trees.hold_index(True), trees.move(np.arange(100, 700), np.ones(600, dtype=np.int32)), trees.hold_index(False)
    assert trees._order_room is room and np.shares_memory(trees._order, room) and trees._order.size == trees.n
    assert np.array_equal(np.sort(trees.members(np.array([1]))), np.arange(100, 700))
    check_invariants(trees, 0.10, rebalanced=False)
