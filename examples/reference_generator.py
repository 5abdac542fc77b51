#!/usr/bin/env python3
"""A generator fleet written without Scowl: a tutorial of the wire protocol (docs/protocol.md).

It uses only pyzmq and msgpack (and the standard library): no `import scowl`, no numpy. It
joins a grid that is already running and that did not plan it, brings its own output model
(a small wind farm whose units follow a slow daily swing plus seeded gusts), takes part in
every tick from the one the metronome counts it in, and can leave mid-day.

Try it:

    scowl run configs/small.toml --processes --transport tcp --out runs/open
        # prints `join: bootstrap=tcp://127.0.0.1:PORT token=HEX` and writes runs/open/join.json
    python examples/reference_generator.py --join runs/open/join.json --name windco --units 3 --leave-after 10

The file reads top to bottom in the order a peer does things:
  1. the bytes: packets, frames, envelopes, batch columns
  2. the sockets: one DEALER per peer, one SUB for the metronome's ticks; with CURVE on (the
     default of `scowl run`: join.json then lists every peer's public key) each socket is a
     CURVE client that pins the server's key, and our own key is the one we join with
  3. joining: bootstrap (token -> ticket, generator ids), broker (register, locate, directory),
     the trackers that own our generators, the populations, the metronome
  4. every tick: gen-status out; tree-delta, setpoints and draws in; verdict and tick-done out
  5. leaving, the final report, stop
"""

from __future__ import annotations

import argparse
import json
import math
import random
import struct
import sys
import time

import msgpack
import zmq

PROTOCOL_VERSION = 1
STARVED_ID = -(2**31)  # "no generator" in a gen_ids column
KIND_STOCHASTIC = 1  # generator kind codes: 0 fixed, 1 stochastic, 2 continuous, 3 storage
TYPE_LAND_WIND = 3  # type codes: index into the mix's types (3 = land-based wind)


# --------------------------------------------------------------------------- 1. the bytes

def pack_column(fmt: str, values) -> bytes:
    """A batch column: n little-endian values back to back ('i' int32, 'd' float64, 'B' uint8)."""
    values = list(values)
    return struct.pack(f"<{len(values)}{fmt}", *values)


def unpack_column(fmt: str, data: bytes) -> list:
    return [v[0] for v in struct.iter_unpack(f"<{fmt}", data)]


def unpack_ids(data: bytes) -> list[tuple[int, int]]:
    """A 128-bit consumer id column: 16 bytes per id, hi then lo, each uint64 little-endian."""
    return list(struct.iter_unpack("<QQ", data))


def tree_delta_ids(ids: bytes, hi: int = 0, lo: bytes = b"") -> list[tuple[int, int]]:
    """A tree-delta's consumer ids in either form: the 16-byte column, or the compact one (`ids`
    empty, every id's high word `hi`, its low words `lo` as uint32 little-endian)."""
    if ids or not lo:
        return unpack_ids(ids)
    return [(hi, low) for (low,) in struct.iter_unpack("<I", lo)]


class Envelope:
    """One received frame: [v, type, sender, recipient, seq, tick, reply_to, ask, body]."""

    __slots__ = ("ask", "body", "reply_to", "sender", "seq", "tick", "type")

    def __init__(self, fields: list) -> None:
        v, self.type, self.sender, _recipient, self.seq, self.tick, self.reply_to, self.ask, self.body = fields
        if v != PROTOCOL_VERSION:
            raise ValueError(f"protocol version {v}, this peer speaks {PROTOCOL_VERSION}")


def decode_packet(packet: bytes) -> list[Envelope]:
    """A packet is an array of frames (bin); EVERY frame counts: one packet often holds several."""
    return [Envelope(msgpack.unpackb(frame, raw=False)) for frame in msgpack.unpackb(packet, raw=False)]


# --------------------------------------------------------------------------- 2. the sockets

class Peer:
    """One name, one DEALER per peer we talk to (our name is its routing id), one SUB.
    Every reply comes back on the DEALER the request went out on.

    Security (docs/protocol.md section 6): when the run has CURVE keys, `keys` maps every
    peer's name to its public key (from join.json). We make our own keypair; every socket we
    open is a CURVE client that presents it and accepts only the server whose key we pinned.
    The bootstrap lets an unknown key in to ask to `join`, and enrols it under our name; from
    then on every peer knows us by that key (the sender of what we send is who the key is)."""

    def __init__(self, name: str, keys: dict[str, str] | None = None) -> None:
        self.name = name
        self.keys = keys  # name -> Z85 public key of the run's peers; None: the run has no keys
        self.public_key, self.secret_key = zmq.curve_keypair() if keys else (b"", b"")
        self.ctx = zmq.Context()
        self.links: dict[str, zmq.Socket] = {}
        self.poller = zmq.Poller()
        self.sub: zmq.Socket | None = None
        self.seq = 0
        self.tick = 0
        self.replies: dict[int, Envelope] = {}
        self.inbox: list[Envelope] = []  # everything that is not a reply we wait for

    def send(self, peer: str, msg_type: str, body: list, *, ask: bool = False, reply_to: int = 0) -> int:
        self.seq += 1
        frame = msgpack.packb([PROTOCOL_VERSION, msg_type, self.name, peer, self.seq, self.tick, reply_to, ask, body],
                              use_bin_type=True)
        self.links[peer].send(msgpack.packb([frame], use_bin_type=True))  # a packet of one frame
        return self.seq

    def secure(self, sock: zmq.Socket, server: str) -> None:
        """CURVE client: present our key, talk only to the holder of `server`'s key."""
        if self.keys:
            sock.curve_publickey, sock.curve_secretkey = self.public_key, self.secret_key
            sock.curve_serverkey = self.keys[server].encode()

    def connect(self, peer: str, address: str) -> None:
        """A DEALER to the peer's ROUTER; hello/welcome proves the link carries traffic."""
        sock = self.ctx.socket(zmq.DEALER)
        sock.setsockopt(zmq.ROUTING_ID, self.name.encode())
        sock.setsockopt(zmq.LINGER, 0)
        self.secure(sock, peer)
        sock.connect(address)
        self.links[peer] = sock
        self.poller.register(sock, zmq.POLLIN)
        self.request(peer, "hello", ["generator", ""], expect="welcome")

    def subscribe(self, address: str, topics: list[str]) -> None:
        self.sub = self.ctx.socket(zmq.SUB)
        self.secure(self.sub, "metronome")  # the ticks are the metronome's
        for topic in topics:
            self.sub.setsockopt(zmq.SUBSCRIBE, topic.encode())
        self.sub.connect(address)
        self.poller.register(self.sub, zmq.POLLIN)

    def poll(self, timeout_s: float) -> None:
        """Read whatever arrived within timeout_s: replies to their askers, the rest to the inbox."""
        for sock, _ in self.poller.poll(int(timeout_s * 1000)):
            parts = sock.recv_multipart()
            for env in decode_packet(parts[-1]):  # SUB messages are [topic, packet]
                if env.reply_to:
                    self.replies[env.reply_to] = env
                else:
                    self.inbox.append(env)

    def request(self, peer: str, msg_type: str, body: list, *, expect: str, timeout_s: float = 10.0) -> list:
        """Ask and wait for the answer; a refusal (failure, or registered/joined with ok false)
        ends the program with the reason the grid gave."""
        seq = self.send(peer, msg_type, body, ask=True)
        deadline = time.monotonic() + timeout_s
        while seq not in self.replies:
            if time.monotonic() > deadline:
                sys.exit(f"{self.name}: no answer to {msg_type} from {peer} within {timeout_s} s")
            self.poll(0.05)
        reply = self.replies.pop(seq)
        if reply.type in ("failure", "reject"):
            sys.exit(f"{self.name}: {peer} refused {msg_type}: {reply.body}")
        if reply.type != expect:
            sys.exit(f"{self.name}: {peer} answered {msg_type} with {reply.type}, expected {expect}")
        if reply.type in ("registered", "joined") and not reply.body[0]:
            sys.exit(f"{self.name}: {peer} refused {msg_type}: {reply.body[1]}")
        return reply.body

    def close(self) -> None:
        self.ctx.destroy(linger=0)


# --------------------------------------------------------------------------- our own model

class WindFarm:
    """Our output model, nothing to do with Scowl's: each unit's available output is its
    nameplate times a slow swing over the day plus gusts from its own seeded stream."""

    def __init__(self, units: int, nameplate_mw: float, seed: int) -> None:
        self.nameplate = [nameplate_mw] * units
        self.rngs = [random.Random(seed * 1000 + u) for u in range(units)]  # one named stream per unit

    def available(self, seconds: float) -> list[float]:
        swing = 0.55 + 0.25 * math.sin(2 * math.pi * seconds / (6 * 3600))
        return [p * min(1.0, max(0.0, swing + rng.gauss(0.0, 0.08))) for p, rng in zip(self.nameplate, self.rngs)]


# --------------------------------------------------------------------------- 3. joining

def join(peer: Peer, info: dict, farm: WindFarm, wait_for_tick: int = 0) -> dict:
    """The join sequence of docs/protocol.md section 5; returns what the tick loop needs."""
    name, n = peer.name, len(farm.nameplate)
    # the bootstrap: our token buys a ticket (and the addresses of the broker and metronome);
    # with CURVE on, it enrols our public key under our name, and the ticket names that key
    peer.connect("bootstrap", info["bootstrap"])
    _ok, _reason, ticket, broker, metronome, metronome_pub = peer.request(
        "bootstrap", "join", [name, "generator", info["token"], peer.public_key.decode()], expect="joined")
    # the metronome's ticks and sync probes (PUB/SUB, topic = message type)
    peer.subscribe(metronome_pub, ["tick", "sync-probe"])
    while wait_for_tick and not any(env.type == "tick" and env.body[0] >= wait_for_tick for env in peer.inbox):
        peer.poll(0.05)  # join at a moment of our choosing: once the running grid reached this tick
    # one 32-bit id per generator: MurmurHash3 of our address plus the bootstrap's nonce
    gen_ids = [peer.request("bootstrap", "generator-join", [f"{name}/unit-{u}", f"{name}/unit-{u}"], expect="generator-id")[0]
               for u in range(n)]
    # the broker: register (we bind nothing: address ""), then where each generator goes
    peer.connect("broker", broker)
    peer.request("broker", "peer-register", [name, "generator", "", "", -1, ticket], expect="registered")
    trackers, _buckets = peer.request("broker", "locate", [gen_ids, farm.nameplate], expect="located")
    names, roles, addresses, _pubs = peer.request("broker", "directory-query", [""], expect="directory")
    directory = {nm: (role, addr) for nm, role, addr in zip(names, roles, addresses)}
    # only the trackers that own our generators: a batch of our generators in each one's bucket
    owners = sorted(set(trackers))
    for tracker in owners:
        rows = [i for i in range(n) if trackers[i] == tracker]
        peer.connect(tracker, directory[tracker][1])
        peer.request(tracker, "generators-register", [
            len(rows), pack_column("i", (gen_ids[i] for i in rows)), pack_column("d", (farm.nameplate[i] for i in rows)),
            pack_column("d", (0.0 for _ in rows)), pack_column("d", (farm.nameplate[i] for i in rows)),
            pack_column("B", (KIND_STOCHASTIC for _ in rows)), pack_column("B", (TYPE_LAND_WIND for _ in rows))],
            expect="registered")
    # every population: they send us their draws (back through their ROUTER), we send them verdicts
    populations = sorted(nm for nm, (role, _) in directory.items() if role == "consumer")
    for population in populations:
        peer.connect(population, directory[population][1])
    # the metronome: ready with our ticket; it counts us in once we acknowledged a sync probe
    peer.connect("metronome", metronome)
    peer.request("metronome", "ready", [name, "generator", ticket], expect="registered")
    print(f"{name}: joined with generators {gen_ids}, trackers {owners}, populations {populations}", flush=True)
    return {"gen_ids": gen_ids, "trackers": trackers, "owners": owners, "populations": populations}


# --------------------------------------------------------------------------- 4. every tick

def run(peer: Peer, farm: WindFarm, grid: dict, leave_after: int, deadline_s: float) -> int:
    gen_ids, owners, populations = grid["gen_ids"], grid["owners"], grid["populations"]
    row_of = {g: i for i, g in enumerate(gen_ids)}
    n = len(gen_ids)
    tree: dict[tuple[int, int], int] = {}  # consumer id -> our generator it is on
    orders: dict[int, set[str]] = {}  # tick -> trackers whose setpoints (end of orders) came
    draws: dict[int, dict[str, list[float]]] = {}  # tick -> population -> MW per unit
    state = {"active_from": None, "current": None, "tick_started": 0.0, "available": [0.0] * n, "load": [0.0] * n,
             "blacked": [False] * n, "events": 0, "blackout_ticks": 0, "leaving": False, "finished": set()}

    def start_tick(tick: int, seconds: float) -> None:
        state["current"], state["tick_started"] = tick, time.monotonic()
        state["available"] = farm.available(seconds)
        for tracker in owners:  # every tick, even when nothing changed
            rows = [i for i in range(n) if grid["trackers"][i] == tracker]
            peer.send(tracker, "gen-status", [
                tick, len(rows), pack_column("i", (gen_ids[i] for i in rows)),
                pack_column("d", (state["available"][i] for i in rows)), pack_column("d", (0.0 for _ in rows)),
                pack_column("d", (state["load"][i] for i in rows)), pack_column("d", (0.0 for _ in rows))])

    def maybe_finish(tick: int, late: bool = False) -> None:
        complete = orders.get(tick, set()) >= set(owners) and draws.get(tick, {}).keys() >= set(populations)
        if tick != state["current"] or tick in state["finished"] or not (complete or late):
            return
        state["finished"].add(tick)
        load = [0.0] * n
        for per_unit in draws.pop(tick, {}).values():
            load = [a + b for a, b in zip(load, per_unit)]
        orders.pop(tick, None)
        avail = state["available"]
        blacked = [ld > av * (1 + 1e-9) + 1e-9 for ld, av in zip(load, avail)]
        new_events = sum(b and not was for b, was in zip(blacked, state["blacked"]))
        state["events"] += new_events
        state["blackout_ticks"] += sum(blacked)
        state["blacked"], state["load"] = blacked, load
        choked = [g for g, b in zip(gen_ids, blacked) if b]
        for population in populations:  # our verdict goes straight to each population
            peer.send(population, "verdict", [tick, peer.name, choked, [], []])
        delivered = sum(ld for ld, b in zip(load, blacked) if not b)
        peer.send("metronome", "tick-done", [tick, "generator", {
            "generators": float(n), "available_mw": sum(avail), "output_mw": sum(avail), "load_mw": sum(load),
            "delivered_mw": delivered, "blacked_out": float(sum(blacked)), "blackout_events": float(new_events),
            "tree_members": float(len(tree)), "late": 1.0 if late else 0.0}])

    heard = time.monotonic()
    while True:
        peer.poll(0.05)
        if peer.inbox:
            heard = time.monotonic()
        elif time.monotonic() - heard > 60:
            print(f"{peer.name}: nothing heard from the grid for 60 s; giving up", file=sys.stderr, flush=True)
            return 1
        if state["current"] is not None and time.monotonic() - state["tick_started"] > deadline_s:
            maybe_finish(state["current"], late=True)  # never wait forever for a peer that went quiet
        inbox, peer.inbox = peer.inbox, []
        for env in inbox:
            body = env.body
            if env.type == "sync-probe":  # acknowledge on our DEALER to the metronome
                peer.send("metronome", "sync-ack", [body[0]])
            elif env.type == "hello":  # a liveness probe
                peer.send(env.sender, "welcome", ["generator"], reply_to=env.seq)
            elif env.type == "tick":
                tick, seconds, _last, joined, _roles, left = (body + [[], [], []])[:6]
                peer.tick = tick
                if peer.name in joined:
                    state["active_from"] = tick
                    print(f"{peer.name}: counted from tick {tick}", flush=True)
                if peer.name in left:
                    print(f"{peer.name}: left at tick {tick}", flush=True)
                    state["active_from"], state["current"] = None, None
                    continue
                if state["active_from"] is None:
                    continue  # the grid runs, we are not counted yet (or any more)
                start_tick(tick, seconds)
                if leave_after and not state["leaving"] and tick - state["active_from"] >= leave_after:
                    state["leaving"] = True
                    print(f"{peer.name}: {peer.request('metronome', 'leave', [peer.name, 'tutorial over'], expect='registered')[1]}",
                          flush=True)
                maybe_finish(tick)
            elif env.type == "tree-delta":  # the consumers joining (our gen id) or leaving our trees
                _tick, _n, ids, gens, *compact = body  # hi, lo: the optional compact form (protocol section 2)
                for cid, g in zip(tree_delta_ids(ids, *compact), unpack_column("i", gens)):
                    if g in row_of:
                        tree[cid] = g
                    else:
                        tree.pop(cid, None)
            elif env.type == "setpoints":  # our units are stochastic: no setpoint to follow; it ends the orders
                orders.setdefault(body[0], set()).add(env.sender)
                maybe_finish(body[0])
            elif env.type == "draw":  # what a population's consumers draw from each generator
                tick, _n, gens, mw = body
                per_unit = [0.0] * n
                for g, x in zip(unpack_column("i", gens), unpack_column("d", mw)):
                    if g in row_of:
                        per_unit[row_of[g]] += x
                draws.setdefault(tick, {})[env.sender] = per_unit
                maybe_finish(tick)
            elif env.type == "final-query":  # 5. the final report
                peer.send(env.sender, "final-figures", ["generator", {
                    "generators": float(n), "blackout_events": float(state["events"]),
                    "blackout_generator_ticks": float(state["blackout_ticks"]), "blackout_consumer_ticks": 0.0}],
                    reply_to=env.seq)
                if state["leaving"]:
                    return 0
            elif env.type == "stop":
                return 0
            elif env.type == "ping":
                peer.send(env.sender, "pong", [body[0]], reply_to=env.seq)


# --------------------------------------------------------------------------- main

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="A third-party generator fleet that joins a running Scowl grid.")
    parser.add_argument("--join", required=True, help="the run's join.json (bootstrap address and join token)")
    parser.add_argument("--name", default="windco", help="our peer name (unique in the run)")
    parser.add_argument("--units", type=int, default=3, help="wind turbines (generators) in the fleet")
    parser.add_argument("--nameplate", type=float, default=1.5, help="MW per unit")
    parser.add_argument("--seed", type=int, default=1, help="seed of our own gust streams")
    parser.add_argument("--token", help="the join token, overriding the one in --join")
    parser.add_argument("--leave-after", type=int, default=0, help="leave after this many ticks (0: stay to the end)")
    parser.add_argument("--wait-for-tick", type=int, default=0, help="join once the running grid reached this tick")
    parser.add_argument("--deadline", type=float, default=5.0, help="seconds a tick waits for orders and draws")
    args = parser.parse_args(argv)
    with open(args.join) as f:
        info = json.load(f)
    if args.token is not None:
        info["token"] = args.token
    farm = WindFarm(args.units, args.nameplate, args.seed)
    peer = Peer(args.name, info.get("keys"))
    try:
        grid = join(peer, info, farm, args.wait_for_tick)
        return run(peer, farm, grid, args.leave_after, args.deadline)
    finally:
        peer.close()


if __name__ == "__main__":
    raise SystemExit(main())
