"""Bootstrap: issues generator ids and consumer ids; a repeated join gets the same answer. A
planned unit's id goes only to the fleet the plan gives it to, whoever asks first (the ids of
every planned unit are drawn when the bootstrap starts, scowl.security.units); a joiner's own
new unit goes to the fleet that asked for it first. Others are refused: not_owner.

Nonces and id prefixes are drawn from streams keyed by the requester (seed, name, purpose),
not from one stream in arrival order: joins from different actors interleave differently
from run to run, and lockstep runs must be identical. The requester still cannot pick its
id: the stream's key includes the server's seed."""

from __future__ import annotations

from scowl import membership, wire
from scowl.errors import Refused
from scowl.runtime import Actor, on
from scowl.security import EnrolmentError
from scowl.security.units import draw_id, planned_units, unit_claim
from scowl.streams import StreamRepo


class Bootstrap(Actor):
    role = "bootstrap"

    def __init__(self, name: str, address: str, seed: int, plan=None, scenario=None, **kw) -> None:
        super().__init__(name, address, **kw)
        self.plan = plan  # the run plan: its names and join token (None: joins are refused)
        self._joiners: dict[str, tuple[str, str]] = {}  # admitted at run time: name -> (role, public key)
        self._streams = StreamRepo(seed)
        self._generators: dict[tuple[str, str], wire.GeneratorId] = {}
        self._issued_to: dict[tuple[str, str], str] = {}  # (unit name, address) -> the fleet it was issued to
        self._populations: dict[tuple[str, int, int], wire.ConsumerIds] = {}
        # every planned unit's id and owner, drawn now in plan order (what each tracker computes too)
        self._units = planned_units(plan, scenario or plan.scenario(), seed) if plan is not None else {}
        self._planned_fleets = {f.name for f in plan.fleets} if plan is not None else set()
        self._issued: set[int] = {u.gen_id for u in self._units.values()}

    @on(wire.GeneratorJoin)
    def on_generator_join(self, msg: wire.GeneratorJoin, env: wire.Envelope):
        why = unit_claim(env.sender, msg.name, msg.address, self._units, self._planned_fleets)
        if why is not None:
            raise Refused("not_owner", why)
        unit = self._units.get(msg.name)
        if unit is not None:
            return wire.GeneratorId(unit.gen_id, unit.nonce)
        key = (msg.name, msg.address)
        owner = self._issued_to.setdefault(key, env.sender)  # a joiner's new unit: the fleet that asked first owns it
        if owner != env.sender:  # (a restarted fleet asks again under its own name: the same answer)
            raise Refused("not_owner", f"generator {msg.name[:64]!r} at {msg.address[:64]!r} is {owner!r}'s, asked for by {env.sender!r}")
        if key not in self._generators:
            gid, nonce = draw_id(self._streams, msg.name, msg.address, self._issued)
            self._issued.add(gid)
            self._generators[key] = wire.GeneratorId(gid, nonce)
        return self._generators[key]

    @on(wire.ConsumerJoin)
    def on_consumer_join(self, msg: wire.ConsumerJoin, env: wire.Envelope):
        if msg.count < 0 or msg.first < 0:
            raise ValueError(f"consumer join from {msg.population}: first={msg.first}, count={msg.count} must be >= 0")
        key = (msg.population, msg.first, msg.count)
        if key not in self._populations:
            rng = self._streams.generator(f"bootstrap/{msg.population}/{msg.first}", "consumer-id")
            hi = int(rng.integers(1, 2**63, dtype="int64")) | (1 << 63)
            self._populations[key] = wire.ConsumerIds(hi, msg.first, msg.count)
        return self._populations[key]

    @on(wire.Whois)
    def on_whois(self, msg: wire.Whois, env: wire.Envelope):
        """Whose is this key? Asked by a server on another host, whose copy of the enrolment
        table lacks a peer enrolled here at run time (a join, or `scowl approve`). Only such
        peers are named: the plan's are in every host's copy already."""
        enrolment = self.credentials.enrolment if self.credentials is not None else None
        name = enrolment.name_of(msg.public_key.encode("ascii", "replace")) if enrolment is not None else None
        if enrolment is None or name is None or not enrolment.joined(name):
            return wire.Enrolled(msg.public_key)
        return wire.Enrolled(msg.public_key, name, enrolment.role(name) or "")

    @on(wire.Join)
    def on_join(self, msg: wire.Join, env: wire.Envelope):
        """A peer the plan does not name asks to join the running grid (docs/protocol.md, 5).
        Refused with the reason, or admitted with a ticket for the broker and the metronome;
        asking again with the same name, role and key gets the same answer."""
        if self.plan is None:
            return wire.Joined(False, "this bootstrap has no run plan: it takes no joins")
        if env.sender != msg.name:
            return wire.Joined(False, f"join for {msg.name[:64]!r} sent by {env.sender[:64]!r}: a peer joins under its own name")
        again = self._joiners.get(msg.name) == (msg.role, msg.public_key)
        taken = {"bootstrap", "broker", "metronome", *self.plan.names()} | (set() if again else set(self._joiners))
        enrolment = self.credentials.enrolment if self.credentials is not None else None
        if enrolment is not None:
            enrolment.refresh()  # an operator may have approved its key since (`scowl approve`)
        approved = (enrolment is not None and enrolment.joined(msg.name) and enrolment.role(msg.name) == msg.role
                    and msg.name not in taken)  # `scowl approve`: its key is enrolled, so the connection proves it
        reason = membership.join_refusal(self.plan.join_token, self.plan.join_token if approved else msg.token, msg.name,
                                         msg.role, taken)
        if reason:
            return wire.Joined(False, reason)
        if self.credentials is None and self.roster is not None and "roles" in self.guards:
            return wire.Joined(False, "this run has no identities (security off): the roles guard of every peer would "
                                      "refuse a joiner's messages; join a run with CURVE on")
        if self.credentials is not None and not again:  # CURVE on: the key it connected with is enrolled under its name
            key = self.unenrolled_keys.get(msg.name) or (self.roster.public_key(msg.name) if approved and self.roster else "")
            if msg.public_key != key:
                return wire.Joined(False, f"public_key {msg.public_key[:40]!r} is not the CURVE key this connection "
                                          f"authenticated with ({key[:8]!r}...)")
            try:
                self.credentials.enrolment.add(msg.name, msg.role, msg.public_key, joined=True)
            except EnrolmentError as exc:
                return wire.Joined(False, str(exc))
        self._joiners[msg.name] = (msg.role, msg.public_key)
        return wire.Joined(True, "", membership.ticket(self.plan.join_token, msg.name, msg.role, msg.public_key),
                           self.plan.broker, self.plan.metronome, self.plan.metronome_pub)
