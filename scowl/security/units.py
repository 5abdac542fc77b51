"""Whose generator ids are whose, from the run plan: each planned unit belongs to the fleet
whose plan rows hold it, so the bootstrap and every tracker know its owner before anyone
asks (first come is not first served: a liar asking or registering before the real fleet
is refused as not_owner all the same).

The ids are drawn as the bootstrap always drew them (a nonce from a stream keyed by the
server's seed and the unit's name; MurmurHash3 of address + nonce), for every planned unit
in plan order: the same ids in every process and in every run, whatever order the fleets
ask in. Pure: no sockets."""

from __future__ import annotations

from dataclasses import dataclass

from scowl.balance.sharding import generator_id
from scowl.streams import StreamRepo
from scowl.wire import STARVED_ID


@dataclass(frozen=True)
class PlannedUnit:
    fleet: str  # the fleet the plan gives the unit to
    address: str  # its logical address, "host/name" (what the fleet asks the bootstrap with)
    gen_id: int
    nonce: str


def draw_id(streams: StreamRepo, name: str, address: str, issued: set[int]) -> tuple[int, str]:
    """A unit's id and nonce: redrawn on a collision with `issued` or the reserved 'no generator' id."""
    rng = streams.generator(f"bootstrap/{name}", "nonce")
    while True:
        nonce = f"{int(rng.integers(0, 2**16)):04x}"
        gid = generator_id(address, nonce)
        if gid not in issued and gid != STARVED_ID:
            return gid, nonce


def unit_names(fleet, generator_names) -> list[str]:
    """The names a fleet asks the bootstrap with (actors/generator.py, actors/storage.py);
    `generator_names`: the scenario's generators' names, by plan row."""
    if fleet.kind == "storage":
        return [f"{fleet.name}/hub-{int(h)}" for h in fleet.rows]
    return [generator_names[r] for r in fleet.rows]


def planned_units(plan, scenario, seed: int) -> dict[str, PlannedUnit]:
    """Unit name -> its planned fleet, address and id, for every unit of the plan's fleets."""
    from scowl.model import build_generators

    generator_names = build_generators(scenario, StreamRepo(scenario.seed)).name  # once, not once per fleet
    streams, issued, out = StreamRepo(seed), set[int](), {}
    for fleet in plan.fleets:
        host = plan.hosts.get(fleet.name, "local")
        for name in unit_names(fleet, generator_names):
            gid, nonce = draw_id(streams, name, f"{host}/{name}", issued)
            issued.add(gid)
            out[name] = PlannedUnit(fleet.name, f"{host}/{name}", gid, nonce)
    return out


def unit_claim(sender: str, name: str, address: str, units: dict[str, PlannedUnit], planned_fleets: set[str]) -> str | None:
    """Why `sender` may not have the id of unit `name` at `address` (None: it may). A planned
    unit's id goes to its planned fleet only, at its planned address; a planned fleet asks for
    no unit beyond its rows. The bootstrap rejects what this refuses as `not_owner`."""
    unit = units.get(name)
    if unit is not None and unit.fleet != sender:
        return f"generator {name[:64]!r} is planned for {unit.fleet!r}, asked for by {sender[:64]!r}"
    if unit is not None and unit.address != address:
        return f"generator {name[:64]!r} is planned at {unit.address[:64]!r}, asked for at {address[:64]!r}"
    if unit is None and sender in planned_fleets:
        return f"{sender[:64]!r} asks for {name[:64]!r}, not a unit the plan gives it"
    return None
