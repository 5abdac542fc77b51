"""The bootstrap and the broker over real in-process sockets: ids a generator cannot choose,
answered the same on a repeated join and given to no other fleet, and equal hash buckets whose routing table can be read."""

from __future__ import annotations

import pytest

from scowl import wire
from scowl.actors.bootstrap import Bootstrap
from scowl.balance.sharding import generator_id
from scowl.broker.broker import Broker
from scowl.plan import make_plan
from scowl.runtime import Actor, RemoteError


async def test_bootstrap_ids_are_hashes_of_address_and_server_nonce_and_repeat(zctx):
    boot = Bootstrap("bootstrap", "inproc://svc-boot", seed=7)
    await boot.start(zctx)
    client = Actor("fleet-0")
    await client.start(zctx)
    try:
        await client.connect("bootstrap", "inproc://svc-boot")
        a = await client.request("bootstrap", wire.GeneratorJoin("gen-a", "h1/gen-a"))
        again = await client.request("bootstrap", wire.GeneratorJoin("gen-a", "h1/gen-a"))
        b = await client.request("bootstrap", wire.GeneratorJoin("gen-b", "h1/gen-b"))
        assert again == a and b.gen_id != a.gen_id
        # MurmurHash3 (seed 42) over the address plus the nonce the server drew, in int32
        assert a.gen_id == generator_id("h1/gen-a", a.nonce) and -(2**31) <= a.gen_id < 2**31
        c = await client.request("bootstrap", wire.ConsumerJoin("population-0", 0, 1000))
        assert await client.request("bootstrap", wire.ConsumerJoin("population-0", 0, 1000)) == c
        assert c.hi >= 2**63 and (c.first, c.count) == (0, 1000)  # 128-bit ids: (hi, global index)
        # another fleet asking for fleet-0's unit is refused, counted per reason and sender
        other = Actor("fleet-1")
        await other.start(zctx)
        try:
            await other.connect("bootstrap", "inproc://svc-boot")
            with pytest.raises(RemoteError, match="Reject:not_owner"):
                await other.request("bootstrap", wire.GeneratorJoin("gen-a", "h1/gen-a"))
        finally:
            await other.stop()
        assert boot.rejection_figures() == {"rejected:not_owner": 1.0, "rejected_from:fleet-1": 1.0}
    finally:
        await client.stop()
        await boot.stop()


async def test_broker_routes_each_generator_to_the_tracker_of_its_bucket(zctx):
    plan = make_plan("configs/small.toml", transport="inproc")  # two trackers
    plan.fleets[0].rows = [0, 1, 2, 3]  # the client below locates four generators as fleet-0
    broker = Broker("broker", "inproc://svc-broker", plan)
    await broker.start(zctx)
    client = Actor("fleet-0")
    await client.start(zctx)
    try:
        await client.connect("broker", "inproc://svc-broker")
        for t in plan.trackers:
            assert (await client.request("broker", wire.PeerRegister(t, "tracker", f"inproc://{t}"))).ok
        ids = [-(2**31), -1, 0, 2**31 - 1]
        located = await client.request("broker", wire.Locate(ids, [1.0, 2.0, 3.0, 4.0]))
        assert located.buckets == [0, 0, 1, 1] and located.trackers == ["tracker-0", "tracker-0", "tracker-1", "tracker-1"]
        table = await client.request("broker", wire.RoutingQuery())
        assert list(zip(table.low, table.high)) == [(-(2**31), 0), (0, 2**31)]  # equal halves of int32
        assert table.trackers == ["tracker-0", "tracker-1"] and table.generators == [2, 2]
        assert table.capacity_mw == [3.0, 7.0]
        refused = await client.request("broker", wire.PeerRegister("tracker-9", "tracker", "inproc://x"))
        assert not refused.ok and "not a tracker of this run" in refused.detail
    finally:
        await client.stop()
        await broker.stop()


async def test_broker_assigns_by_load_zone_when_the_scenario_says_so(zctx, tmp_path):
    """[trackers] assign = "zone": upstate zones A-E go to one tracker, the rest to the other
    (cut at about half the load), whatever the ids hash to; a locate without zones stays hashed."""
    from scowl.balance.sharding import zone_buckets
    from scowl.config import load_scenario, override
    from scowl.model.zones import zone_shares
    from scowl.sweep import scenario_toml

    assert zone_buckets(range(11), 2, zone_shares()).tolist() == [0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1]
    assert zone_buckets(range(11), 1, zone_shares()).tolist() == [0] * 11
    cfg = tmp_path / "zoned.toml"
    cfg.write_text(scenario_toml(override(load_scenario("configs/small.toml"), {"trackers.assign": "zone"})))
    plan = make_plan(str(cfg), transport="inproc")
    plan.fleets[0].rows = [0, 1, 2, 3]  # the client below locates four generators as fleet-0
    plan.storage_fleets[0].rows = [0, 1]  # and two as the storage fleet
    broker = Broker("broker", "inproc://svc-broker-zone", plan)
    await broker.start(zctx)
    client = Actor("fleet-0")
    await client.start(zctx)
    try:
        await client.connect("broker", "inproc://svc-broker-zone")
        for t in plan.trackers:
            assert (await client.request("broker", wire.PeerRegister(t, "tracker", f"inproc://{t}"))).ok
        ids = [-(2**31), -1, 0, 2**31 - 1]
        located = await client.request("broker", wire.Locate(ids, [1.0, 2.0, 3.0, 4.0], [9, 0, 2, 10]))
        assert located.buckets == [1, 0, 0, 1]  # J and K downstate; A and C upstate; not the hash's [0, 0, 1, 1]
        hubs = Actor(plan.storage_fleets[0].name)  # a fleet locates all its generators in one request: another one
        await hubs.start(zctx)
        try:
            await hubs.connect("broker", "inproc://svc-broker-zone")
            hashed = await hubs.request("broker", wire.Locate([5, 6], [1.0, 1.0]))
            assert hashed.buckets == [1, 1]
        finally:
            await hubs.stop()
    finally:
        await client.stop()
        await broker.stop()


async def test_a_planned_units_id_goes_only_to_its_planned_fleet_even_when_another_asks_first(zctx):
    """First come is not first served: the plan gives each unit to one fleet, and the bootstrap
    binds its id to that fleet before anyone asks (scowl.security.units)."""
    from scowl.security.attacks import fleet_generator_ids

    plan = make_plan("configs/small.toml", run_id="svc-planned")
    unit = plan.scenario()  # fleet-0's first unit, at the address fleet-0 asks for it with
    from scowl.model import build_generators
    from scowl.streams import StreamRepo

    name = build_generators(unit, StreamRepo(unit.seed)).name[plan.fleets[0].rows[0]]
    boot = Bootstrap("bootstrap", "inproc://svc-boot-planned", seed=unit.seed, plan=plan)
    await boot.start(zctx)
    liars, fleet = [Actor("storage-0"), Actor("fleet-x")], Actor("fleet-0")
    try:
        for peer in (*liars, fleet):
            await peer.start(zctx)
            await peer.connect("bootstrap", "inproc://svc-boot-planned")
        for liar in liars:  # a planned storage fleet and a joiner, both before fleet-0
            with pytest.raises(RemoteError, match="Reject:not_owner"):
                await liar.request("bootstrap", wire.GeneratorJoin(name, f"local/{name}"))
        with pytest.raises(RemoteError, match="Reject:not_owner"):  # a planned fleet asks for no unit beyond its rows
            await fleet.request("bootstrap", wire.GeneratorJoin("fleet-0/unit-9", "local/fleet-0/unit-9"))
        mine = await fleet.request("bootstrap", wire.GeneratorJoin(name, f"local/{name}"))
        assert mine.gen_id == fleet_generator_ids(plan, "fleet-0", 1)[0] == generator_id(f"local/{name}", mine.nonce)
        joiner = await liars[1].request("bootstrap", wire.GeneratorJoin("fleet-x/unit-0", "local/fleet-x/unit-0"))
        assert joiner.gen_id not in fleet_generator_ids(plan, "fleet-0", 99)  # a joiner's own new unit still gets an id
    finally:
        for peer in (*liars, fleet):
            await peer.stop()
        await boot.stop()
    assert boot.rejection_figures() == {"rejected:not_owner": 3.0, "rejected_from:storage-0": 1.0,
                                        "rejected_from:fleet-x": 1.0, "rejected_from:fleet-0": 1.0}
