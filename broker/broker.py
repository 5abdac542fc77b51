"""The broker: the bucket table (trackers register the bucket they own), generator routing
by MurmurHash3 bucket, first placement of consumers, and the run's directory of addresses.

Questions that need the whole picture (where a generator goes before every tracker has
registered; the directory before every actor has) are answered when it is complete: the
broker keeps the request and replies later, it never blocks its mailbox."""

from __future__ import annotations

import numpy as np

from scowl import wire
from scowl.balance.sharding import bucket_bounds, bucket_of, split_by_weight, zone_buckets
from scowl.plan import RunPlan
from scowl.runtime import Actor, on


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

    # ---------------------------------------------------------------- directory

    @on(wire.PeerRegister)
    def on_register(self, msg: wire.PeerRegister, env: wire.Envelope):
        if msg.role == "tracker":
            if msg.name not in self.plan.trackers:
                return wire.Registered(False, f"{msg.name} is not a tracker of this run")
            bucket = self.plan.trackers.index(msg.name)
            self.bucket_owner[bucket] = msg.name
        before = self.directory.get(msg.name)
        self.directory[msg.name] = msg
        self._answer_waiting()
        if before is None:
            return wire.Registered(True)
        if (before.address, before.pub_address) != (msg.address, msg.pub_address):
            self._announce(msg)
        return wire.Registered(True, "rejoined")  # it registered before: it restarted

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
        return len(self.located) >= sum(len(f.rows) for f in self.plan.fleets)

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
