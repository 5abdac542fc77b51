"""The broker: the bucket table (trackers register the bucket they own), generator routing
by MurmurHash3 bucket, first placement of consumers, and the run's directory of addresses.

Questions that need the whole picture (where a generator goes before every tracker has
registered; the directory before every actor has) are answered when it is complete: the
broker keeps the request and replies later, it never blocks its mailbox."""

from __future__ import annotations

import logging

import numpy as np

from scowl import membership, wire
from scowl.balance.sharding import bucket_bounds, bucket_of, split_by_weight, zone_buckets
from scowl.plan import RunPlan
from scowl.runtime import Actor, on

log = logging.getLogger("scowl.broker")


class JoinRefused(ValueError):
    """A request that does not fit the run; the asker gets `failure` {error: "JoinRefused", detail}."""


class Broker(Actor):
    role = "broker"

    def __init__(self, name: str, address: str, plan: RunPlan, **kw) -> None:
        super().__init__(name, address, **kw)
        self.plan = plan
        self.n_buckets = len(plan.trackers)
        self.bounds = bucket_bounds(self.n_buckets)
        self.bucket_owner: dict[int, str] = {}
        self.directory: dict[str, wire.PeerRegister] = {}
        self.located: dict[int, tuple[int, float]] = {}  # gen id -> (bucket, nameplate)
        self._waiting_locate: list[tuple[wire.Envelope, wire.Locate]] = []
        self._waiting_directory: list[tuple[wire.Envelope, wire.DirectoryQuery]] = []
        self._waiting_place: list[tuple[wire.Envelope, wire.PlaceConsumers]] = []
        self._expected = set(plan.names())
        self.by_zone = plan.scenario().trackers.assign == "zone"
        self._fleet_rows = {f.name: len(f.rows) for f in plan.fleets}  # what each planned fleet must locate
        self._located_by: dict[str, int] = {}  # fleet -> generators it located
        self.joiners: set[str] = set()  # peers the plan does not name, admitted by their ticket

    # ---------------------------------------------------------------- directory

    @on(wire.PeerRegister)
    def on_register(self, msg: wire.PeerRegister, env: wire.Envelope):
        if msg.role == "tracker":
            if msg.name not in self.plan.trackers:
                return wire.Registered(False, f"{msg.name} is not a tracker of this run")
            bucket = self.plan.trackers.index(msg.name)
            self.bucket_owner[bucket] = msg.name
        elif msg.name not in self._expected:
            refusal = self._joiner_refusal(msg, env)
            if refusal:
                return wire.Registered(False, refusal)
            self.joiners.add(msg.name)
        before = self.directory.get(msg.name)
        self.directory[msg.name] = msg
        self._answer_waiting()
        if before is None:
            return wire.Registered(True)
        if (before.address, before.pub_address) != (msg.address, msg.pub_address):
            self._announce(msg)
        return wire.Registered(True, "rejoined")  # it registered before: it restarted

    def _joiner_refusal(self, msg: wire.PeerRegister, env: wire.Envelope) -> str:
        """Why a peer the plan does not name may not register ("" when its ticket admits it)."""
        if env.sender != msg.name:
            return f"registration for {msg.name[:64]!r} sent by {env.sender[:64]!r}: a peer registers under its own name"
        if not msg.ticket:
            return (f"{msg.name[:64]!r} is not a peer of this run's plan and shows no join ticket "
                    "(a peer outside the plan first sends `join` to the bootstrap)")
        key = self.roster.public_key(msg.name) if self.roster is not None else ""  # CURVE on: the ticket names its key
        if not membership.ticket_ok(self.plan.join_token, msg.ticket, msg.name, msg.role, key):
            return f"bad join ticket for {msg.name[:64]!r} as {msg.role!r} (it is the one the bootstrap's `joined` gave)"
        return ""

    def _announce(self, entry: wire.PeerRegister) -> None:
        """A peer restarted at new addresses: tell every other peer in the directory, so those
        linked or subscribed to it move over (GridPeer.on_peer_moved)."""
        for name in sorted(self.directory):
            if name != entry.name and self.has_route(name):
                self.send(name, entry)

    def _directory_complete(self) -> bool:
        return self._expected <= set(self.directory)

    def _answer_waiting(self) -> None:
        if len(self.bucket_owner) == self.n_buckets:
            for env, msg in self._waiting_locate:
                self.reply(env, self._locate(msg))
            self._waiting_locate.clear()
        if self._directory_complete():
            for env, query in self._waiting_directory:
                self.reply(env, self._directory(query.role))
            self._waiting_directory.clear()
        if len(self.bucket_owner) == self.n_buckets and self._all_generators_located():
            for env, place in self._waiting_place:
                self.reply(env, self._place(place))
            self._waiting_place.clear()

    @on(wire.DirectoryQuery)
    def on_directory(self, msg: wire.DirectoryQuery, env: wire.Envelope):
        if self._directory_complete():
            return self._directory(msg.role)
        self._waiting_directory.append((env, msg))
        return None

    def _directory(self, role: str) -> wire.Directory:
        entries = [e for _, e in sorted(self.directory.items()) if not role or e.role == role]
        return wire.Directory([e.name for e in entries], [e.role for e in entries],
                              [e.address for e in entries], [e.pub_address for e in entries])

    # ---------------------------------------------------------------- routing

    @on(wire.Locate)
    def on_locate(self, msg: wire.Locate, env: wire.Envelope):
        if len(msg.gen_ids) != len(msg.nameplate_mw):
            raise ValueError(f"locate: {len(msg.gen_ids)} ids but {len(msg.nameplate_mw)} nameplates")
        claimed = self._fleet_rows.get(env.sender)
        if claimed is not None and len(msg.gen_ids) != claimed:
            log.error("%s: %s located %d generators, its plan lists %d; consumers are placed once it locates them all",
                      self.name, env.sender, len(msg.gen_ids), claimed)
            raise JoinRefused(f"{env.sender} located {len(msg.gen_ids)} generators but the run plan lists {claimed} for it: "
                              f"locate all {claimed} in one request (consumers are placed only once every planned generator is located)")
        if claimed is None and env.sender not in self.joiners:
            raise JoinRefused(f"{env.sender} is neither a fleet of this run's plan nor a registered joiner: "
                              "send `peer-register` (with your join ticket) first")
        self._located_by[env.sender] = len(msg.gen_ids)
        if msg.zones and len(msg.zones) != len(msg.gen_ids):
            raise ValueError(f"locate: {len(msg.gen_ids)} ids but {len(msg.zones)} zones")
        for gid, mw, b in zip(msg.gen_ids, msg.nameplate_mw, self._buckets(msg)):
            self.located[gid] = (int(b), float(mw))
        if len(self.bucket_owner) == self.n_buckets:
            reply = self._locate(msg)
            self._answer_waiting()
            return reply
        self._waiting_locate.append((env, msg))
        return None

    def _buckets(self, msg: wire.Locate) -> list[int]:
        """Hash buckets (the design), or zone buckets when the scenario assigns by zone and the
        sender gave zones (storage hubs have none: they stay hashed)."""
        if self.by_zone and msg.zones:
            from scowl.model.zones import zone_shares

            return zone_buckets(msg.zones, self.n_buckets, zone_shares()).tolist()
        return bucket_of(msg.gen_ids, self.n_buckets).tolist()

    def _locate(self, msg: wire.Locate) -> wire.Located:
        buckets = self._buckets(msg)
        return wire.Located([self.bucket_owner[b] for b in buckets], buckets)

    def _all_generators_located(self) -> bool:
        return all(self._located_by.get(name) == n for name, n in self._fleet_rows.items())

    @on(wire.PlaceConsumers)
    def on_place(self, msg: wire.PlaceConsumers, env: wire.Envelope):
        if len(self.bucket_owner) == self.n_buckets and self._all_generators_located():
            return self._place(msg)
        self._waiting_place.append((env, msg))
        return None

    def _place(self, msg: wire.PlaceConsumers) -> wire.Placement:
        """Consumers go to trackers in proportion to the nameplate their bucket holds."""
        cap = np.zeros(self.n_buckets)
        for bucket, mw in self.located.values():
            cap[bucket] += mw
        counts = split_by_weight(msg.count, cap if cap.sum() > 0 else np.ones(self.n_buckets))
        return wire.Placement([self.bucket_owner[b] for b in range(self.n_buckets)], counts)

    @on(wire.RoutingQuery)
    def on_routing(self, msg: wire.RoutingQuery, env: wire.Envelope):
        gens = np.zeros(self.n_buckets, dtype=int)
        cap = np.zeros(self.n_buckets)
        for bucket, mw in self.located.values():
            gens[bucket] += 1
            cap[bucket] += mw
        return wire.RoutingTable(list(range(self.n_buckets)), [lo for lo, _ in self.bounds], [hi for _, hi in self.bounds],
                                 [self.bucket_owner.get(b, "") for b in range(self.n_buckets)], gens.tolist(), cap.tolist())
