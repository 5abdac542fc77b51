"""scowl.run.layout: which actors share a `scowl-node` process (pure: plans in, groups out)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from scowl.errors import ConfigError
from scowl.plan import FleetShard, PopulationShard, group_names
from scowl.run.layout import SERVICES, actors_of, dealt, expected_cpu, parse_layout


def whole_state_plan(trackers: int = 4, populations: int = 4) -> SimpleNamespace:
    """The shape of the whole state's plan: 4 trackers, one fleet, EV hubs, 4 populations."""
    per = 2_224_571
    return SimpleNamespace(
        trackers=[f"tracker-{i}" for i in range(trackers)],
        fleets=[FleetShard("fleet-0", list(range(445))), FleetShard("storage-0", list(range(10)), kind="storage")],
        populations=[PopulationShard(f"population-{i}", i * per, (i + 1) * per, 0, 0) for i in range(populations)])


def _flat(groups):
    return [n for g in groups for n in g]


def test_actor_layout_is_one_process_per_actor_in_the_old_start_order():
    plan = whole_state_plan()
    groups = parse_layout("actor", plan)
    assert groups == [[n] for n in ["bootstrap", "broker", "metronome", "tracker-0", "tracker-1", "tracker-2", "tracker-3",
                                    "fleet-0", "storage-0", "population-0", "population-1", "population-2", "population-3"]]
    assert group_names(groups) == _flat(groups)  # a process of one actor is named after it


@pytest.mark.parametrize("cores", [1, 2, 3, 4, 8])
def test_auto_deals_every_actor_once_balanced_by_expected_cpu(cores):
    plan = whole_state_plan()
    groups = parse_layout("auto", plan, cores=cores)
    assert len(groups) == min(cores, 11)
    assert sorted(_flat(groups)) == sorted(n for n, _ in actors_of(plan))  # every actor exactly once
    assert groups[0][:3] == list(SERVICES)  # the services together, first
    weight = expected_cpu(plan)
    load = [sum(weight[n] for n in g) for g in groups]
    # dealt heaviest first to the lightest group: no group exceeds another by more than the heaviest actor
    assert max(load) - min(load) <= max(weight.values()) + 1e-9, (groups, load)


def test_two_cores_give_two_processes_that_each_get_half_the_trackers_and_populations():
    groups = parse_layout("2", whole_state_plan())
    assert group_names(groups) == ["node-0", "node-1"]
    for g in groups:
        assert sum(n.startswith("tracker-") for n in g) == 2
        assert sum(n.startswith("population-") for n in g) == 2


def test_populations_weigh_by_their_consumers():
    plan = whole_state_plan(populations=2)
    plan.populations[1].stop = plan.populations[1].start + 10  # a tiny second population
    w = expected_cpu(plan)
    assert w["population-0"] > 100 * w["population-1"]


def test_role_layout_and_explicit_groups_with_patterns():
    plan = whole_state_plan()
    assert parse_layout("role", plan) == [["bootstrap"], ["broker"], ["metronome"], [f"tracker-{i}" for i in range(4)],
                                          ["fleet-0"], ["storage-0"], [f"population-{i}" for i in range(4)]]
    groups = parse_layout("population-*; tracker-*;bootstrap,broker,metronome,fleet-0,storage-0", plan)
    assert groups[0] == ["bootstrap", "broker", "metronome", "fleet-0", "storage-0"]  # the services' group starts first
    assert groups[1] == [f"tracker-{i}" for i in range(4)]
    assert group_names(groups) == ["node-0", "node-1", "node-2"]


@pytest.mark.parametrize("spec, says", [
    ("0", "process count"),
    ("bootstrap,broker,metronome;tracker-*;fleet-0;storage-0", "leaves out population-0"),
    ("bootstrap,broker,metronome,tracker-0;tracker-*,fleet-*,storage-*,population-*", "tracker-0 in groups 1 and 2"),
    ("bootstrap,broker,metronome,nobody-*;tracker-*,fleet-*,storage-*,population-*", "nobody-*"),
    ("bootstrap,tracker-*;broker,metronome,fleet-*,storage-*,population-*", "broker, metronome start after"),
])
def test_bad_layouts_say_what_is_wrong(spec, says):
    with pytest.raises(ConfigError, match="layout") as err:
        parse_layout(spec, whole_state_plan())
    assert says in str(err.value)


def test_more_processes_than_actors_is_one_process_per_peer_and_one_for_the_services():
    plan = whole_state_plan(trackers=1, populations=1)
    groups = dealt(plan, 16)
    assert groups == [list(SERVICES), ["tracker-0"], ["fleet-0"], ["storage-0"], ["population-0"]]
