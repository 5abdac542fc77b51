"""The authorization table and the value checks as pure functions (no sockets)."""

from __future__ import annotations

import msgspec
import numpy as np
import pytest

from scowl import balance, wire
from scowl.plan import make_plan
from scowl.security.policy import RULES, Roster, authorize
from scowl.security.values import check


@pytest.fixture(scope="module")
def roster():
    return Roster(make_plan("configs/small.toml", transport="inproc"))


def test_every_message_type_says_who_may_send_it():
    missing = sorted(set(wire.MESSAGE_TYPES) - set(RULES))
    assert not missing, f"add these message types to scowl.security.policy.RULES: {missing}"


@pytest.mark.parametrize("msg, sender, reason", [
    (wire.Stop("x"), "tracker-1", "unauthorized"),
    (wire.Stop("x"), "metronome", None),
    (wire.Tick(1, 300.0), "fleet-0", "unauthorized"),
    (wire.PeerRegister("tracker-0", "tracker", "tcp://evil:1"), "tracker-1", "not_owner"),
    (wire.PeerRegister("tracker-0", "consumer", "tcp://x:1"), "tracker-0", "not_owner"),
    (wire.PeerRegister("tracker-0", "tracker", "tcp://x:1"), "tracker-0", None),
    (wire.PeerRegister("tracker-0", "tracker", "tcp://x:1"), "broker", None),
    (wire.Verdict(3, "fleet-0", [1]), "storage-0", "not_owner"),
    (wire.Verdict(3, "fleet-0", [1]), "population-0", "unauthorized"),
    (wire.Verdict(3, "fleet-0", [1]), "fleet-0", None),
    (wire.RegionSummary(1, 1e3, 0.0, 1e3, 0.0, 0), "population-0", "unauthorized"),
    (wire.TickDone(1, "consumer", {"demand_mw": 1e4}), "tracker-1", "not_owner"),
    (wire.TickDone(1, "consumer", {"demand_mw": 1e4}), "mallory", "unenrolled"),
    (wire.DirectoryQuery(), "mallory", "unenrolled"),
    (wire.GeneratorsRegister.pack(gen_ids=[5], nameplate_mw=[1.0], min_mw=[0.0], ramp_mw=[1.0], kind=[0], type_code=[0]),
     "population-0", "unauthorized"),
])
def test_roles_and_owners(roster, msg, sender, reason):
    verdict = authorize(msg.TYPE, msg, sender, roster)
    assert (verdict[0] if verdict else None) == reason, verdict


def test_consumers_are_owned_by_their_population(roster):
    plan = roster.plan
    ids = np.zeros(2, dtype=wire.CONSUMER_ID_DTYPE)
    ids["lo"] = [0, plan.n_consumers]  # a consumer and a fixed-load block of population-0
    ok = wire.Resync.pack(ids=ids, demand_mw=[1.0, 1.0], gen_ids=[1, 1])
    assert authorize("resync", ok, "population-0", roster) is None
    roster2 = Roster(make_plan("configs/small.toml", transport="inproc", populations=2))
    assert authorize("resync", ok, "population-1", roster2)[0] == "not_owner"


def test_a_compact_report_is_owned_by_its_population_without_16_byte_ids():
    roster = Roster(make_plan("configs/small.toml", transport="inproc", populations=2))
    p0, p1 = roster.plan.populations
    n_c = roster.plan.n_consumers

    def report(*lo):
        return wire.DemandReport.pack_compact(hi=7, lo=np.array(lo, dtype=np.uint32), tick=1, demand_mw=np.ones(len(lo)))

    assert authorize("demand-report", report(p0.start, p0.stop - 1), "population-0", roster) is None
    assert authorize("demand-report", report(p0.start, n_c + p0.fixed_start), "population-0", roster) is None  # a fixed-load block
    assert authorize("demand-report", report(p0.start, p1.start), "population-0", roster)[0] == "not_owner"
    assert authorize("demand-report", report(p1.start), "population-0", roster)[0] == "not_owner"
    assert authorize("demand-report", report(), "population-0", roster) is None


@pytest.mark.parametrize("msg", [
    wire.GeneratorsRegister.pack(gen_ids=[5], nameplate_mw=[float("nan")], min_mw=[0.0], ramp_mw=[1.0], kind=[0], type_code=[0]),
    wire.GeneratorsRegister.pack(gen_ids=[5], nameplate_mw=[1.0], min_mw=[2.0], ramp_mw=[1.0], kind=[0], type_code=[0]),
    wire.GenStatus.pack(tick=1, gen_ids=[5], output_mw=[float("inf")], setpoint_mw=[0.0], load_mw=[0.0], charge_mw=[0.0]),
    wire.DemandReport.pack(tick=1, ids=np.zeros(1, dtype=wire.CONSUMER_ID_DTYPE), demand_mw=[-1.0]),
    wire.TickDone(1, "consumer", {"demand_mw": float("nan")}),
    wire.RegionSummary(1, float("inf"), 0.0, 0.0, 0.0, 0),
    wire.Tick(-1, 0.0),
    wire.Locate([1], [1e30]),
])
def test_non_finite_and_out_of_range_values_are_refused(msg):
    assert check(msg) is not None


def test_a_region_summary_whose_firm_room_is_not_part_of_its_room_is_refused():
    """`firm_mw` is the part of `room_mw` a region's gas can ramp into: peers hand it their starved
    before EV hubs, so a forged one larger than the room (or negative) would draw them off the hubs."""
    summary = wire.RegionSummary(1, 10.0, 5.0, 5.0, 0.0, 0, room_mw=4.0, firm_mw=3.0)
    assert check(summary) is None
    assert "firm_mw <= room_mw" in check(msgspec.structs.replace(summary, firm_mw=4.5))
    assert check(msgspec.structs.replace(summary, firm_mw=-1.0)) is not None
    assert check(msgspec.structs.replace(summary, room_mw=-1.0, firm_mw=-2.0)) is not None


def test_a_handovers_hub_part_and_a_hub_answer_must_fit_their_consumers():
    """A Handover's hub and later parts are counts of its consumers; a HubTaken's bitmap holds one
    bit per consumer of the hub part it answers (the giver releases the ones set)."""
    ids = np.zeros(3, dtype=wire.CONSUMER_ID_DTYPE)
    ho = wire.Handover.pack(tick=1, ids=ids, demand_mw=np.ones(3, dtype=np.float32), later=1, hub=2)
    assert check(ho) is None
    assert "hub + later <= n" in check(msgspec.structs.replace(ho, hub=3))
    answer = wire.HubTaken(1, 9, bytes(2))
    assert check(answer) is None
    assert "taken holds n bits" in check(msgspec.structs.replace(answer, taken=bytes(1)))
    assert check(msgspec.structs.replace(answer, n=-1, taken=b"")) is not None


def test_a_second_hub_offer_and_the_room_in_a_hub_answer_must_be_what_they_say():
    """A second offer (`again` 2) is all hub part; a HubTaken's room and gaps steer where the giver's
    second offer goes: MW, at most 64 gaps (a forged negative or huge one would draw consumers off the hubs)."""
    ids = np.zeros(3, dtype=wire.CONSUMER_ID_DTYPE)
    second = wire.Handover.pack(tick=1, ids=ids, demand_mw=np.ones(3, dtype=np.float32), hub=3, again=2)
    assert check(second) is None
    assert "all hub part" in check(msgspec.structs.replace(second, hub=2))
    assert check(msgspec.structs.replace(second, again=3)) is not None
    answer = wire.HubTaken(1, 0, b"", room_mw=2.0, fits_mw=[1.0, 0.5])
    assert check(answer) is None
    for bad in (dict(room_mw=-1.0), dict(fits_mw=[-0.5]), dict(fits_mw=[1e9]), dict(fits_mw=[0.1] * 65), dict(room_mw=float("nan"))):
        assert check(msgspec.structs.replace(answer, **bad)) is not None, bad


def test_a_region_summarys_repeated_hub_answers_must_be_recent_and_fit_their_consumers():
    """`hub_took` releases consumers at the giver: each answer's bitmap holds one bit per consumer
    of the hub part it answers, one answer a tick, of the last HUB_ANSWER_WINDOW ticks."""
    summary = wire.RegionSummary(10, 10.0, 5.0, 5.0, 0.0, 0, took=[], hub_took=[(9, 9, bytes(2)), (10, 8, bytes(1))])
    assert check(summary) is None
    for bad in ([(9, 9, bytes(1))], [(9, 9, bytes(2)), (9, 9, bytes(2))], [(10 - balance.HUB_ANSWER_WINDOW - 1, 8, bytes(1))],
                [(11, 8, bytes(1))], [(9, -8, b"")]):
        assert "hub_took" in check(msgspec.structs.replace(summary, hub_took=bad)), bad
    assert check(msgspec.structs.replace(summary, hub_heard=[9, 10])) is None
    for bad_ticks in ([11], [9, 9], [10 - balance.HUB_ANSWER_WINDOW - 1]):
        assert check(msgspec.structs.replace(summary, hub_heard=bad_ticks)) is not None, bad_ticks


def test_a_region_summary_with_a_negative_shortfall_or_hub_room_is_refused():
    """`short_mw` and `storage_room_mw` steer handovers as much as `room_mw` (how many regions are
    short, whether shortfalls claim all generator room, the hubs' budgets): a tracker sends both as
    max(..., 0), so a negative one is forged (review4 R3: -5 and -1e14 were accepted)."""
    summary = wire.RegionSummary(1, 10.0, 5.0, 5.0, 0.0, 0, room_mw=0.0, short_mw=2.0, storage_room_mw=30.0)
    assert check(summary) is None
    for field in ("short_mw", "storage_room_mw"):
        for bad in (-5.0, -1e14, 1e14):
            assert check(msgspec.structs.replace(summary, **{field: bad})) is not None, (field, bad)


def test_a_region_summary_answers_only_for_the_answer_window():
    """`took` lists ticks within the last ANSWER_WINDOW ticks (the giver's rule), each once: the
    check follows the window the trackers use, not a copy of its value."""
    from scowl.balance.handed import ANSWER_WINDOW

    def summary(took):
        return wire.RegionSummary(100, 10.0, 5.0, 5.0, 0.0, 0, took=took)
    assert check(summary([100 - ANSWER_WINDOW, 99, 100])) is None
    assert "no repeats" in check(summary([100 - ANSWER_WINDOW - 1]))
    assert "no repeats" in check(summary([99, 99]))
    assert "no repeats" in check(summary([101]))


def test_ordinary_messages_pass_the_value_checks():
    assert check(wire.ConsumerIds(2**63 + 5, 0, 10)) is None
    assert check(wire.GenStatus.pack(tick=1, gen_ids=[5], output_mw=[3.0], setpoint_mw=[-2.0], load_mw=[1.0], charge_mw=[0.5])) is None
    assert check(wire.FinalFigures("consumer", {"link_out_bytes:x": 3e12})) is None


def test_a_fleet_registers_only_its_own_generators():
    from scowl.security.policy import generator_claim

    held = {1: "fleet-0", 2: "fleet-0", 7: "storage-0"}
    claim = dict(started=True, planned=True)
    assert generator_claim("fleet-0", [1, 2], held, frozenset({1, 2}), **claim) is None  # restarted: the same ids
    assert generator_claim("fleet-1", [5], {}, None, started=False, planned=True) is None  # before tick 0
    assert generator_claim("joiner", [5], held, None, started=True, planned=False) is None  # a joiner's own
    assert "fleet-0" in generator_claim("storage-0", [1, 9], held, frozenset({7}), **claim)  # another fleet's
    assert "fleet-0" in generator_claim("joiner", [2], held, None, started=True, planned=False)
    assert "other generators" in generator_claim("storage-0", [7, 8], held, frozenset({7}), **claim)
    assert "after the day started" in generator_claim("fleet-1", [5], held, None, **claim)  # new ones mid-day
    plan_owner = {1: "fleet-0", 2: "fleet-0", 7: "storage-0"}  # the plan's units (scowl.security.units)
    first = dict(started=False, plan_owner=plan_owner)  # before tick 0, nobody has registered anything yet
    assert generator_claim("fleet-0", [1, 2], {}, None, planned=True, **first) is None
    assert "planned for 'fleet-0'" in generator_claim("storage-0", [1], {}, None, planned=True, **first)
    assert "planned for 'fleet-0'" in generator_claim("joiner", [2, 5], {}, None, planned=False, **first)
    assert "the plan does not give it: [9]" in generator_claim("fleet-0", [1, 9], {}, None, planned=True, **first)
    assert generator_claim("joiner", [5], {}, None, planned=False, **first) is None  # a joiner's own new id
