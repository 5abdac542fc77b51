"""The attacks of issue 13, replayed against a running day over real sockets (for the attack
suite in tests/security, and to demonstrate what the guards stop).

An `Attacker` is a process of the same host (it reads the run's plan.json and the public half
of the enrolment table, which are not secret). It attacks either as an *outsider* (a CURVE key
nobody enrolled, or no key when the run is insecure) or as an *enrolled peer that lies*: it
holds the secret key of an enrolled identity and sends what that identity may not. Each attack
crafts real frames (wire.encode_frame) with the sender name, routing id, sequence numbers and
values it likes, on plain pyzmq sockets: nothing of the runtime's own checks is on its side.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import zmq

from scowl import wire
from scowl.plan import RunPlan
from scowl.security.keys import Enrolment, Keypair, load_keypair

HUGE_FRAME_BYTES = 400 * 1024 * 1024


class Attacker:
    """One attacking identity: `name` is who it is to the network (an enrolled name whose key
    it holds, or any name at all for an outsider)."""

    def __init__(self, plan: RunPlan, name: str, *, enrolled: bool, ctx: zmq.Context | None = None) -> None:
        self.plan = plan
        self.name = name
        self._own_ctx = ctx is None
        self.ctx = ctx or zmq.Context()
        self.enrolment = Enrolment.load(plan.keys_dir) if plan.keys_dir else None
        self.keys: Keypair | None = None
        if plan.keys_dir:
            self.keys = load_keypair(plan.keys_dir, name) if enrolled else Keypair.generate()
        self.seq = 10_000
        self.unsent = 0
        self._links: dict[tuple[str, str], zmq.Socket] = {}
        self.unsettled: list[zmq.Socket] = []
        self._side_ctx: zmq.Context | None = None
        self.directory: dict[str, str] = {"bootstrap": plan.bootstrap, "broker": plan.broker, "metronome": plan.metronome}

    # ------------------------------------------------------------ sockets
    def link(self, peer: str, routing_id: str | None = None) -> zmq.Socket:
        """A DEALER to `peer`'s ROUTER (its address from the plan or the directory), with
        the routing id we like (route takeover), pinning the peer's enrolled key."""
        key = (peer, routing_id or "")
        sock = self._links.get(key)
        if sock is None:
            sock = self.ctx.socket(zmq.DEALER)
            sock.linger = 0
            if routing_id or self.keys is None:  # insecure: the routing id is the name; secure: ours to pick
                sock.routing_id = (routing_id or self.name).encode()
            self._client(sock, peer)
            sock.connect(self.directory[peer])
            self._links[key] = sock
        return sock

    def _client(self, sock: zmq.Socket, server: str) -> None:
        if self.keys is not None and self.enrolment is not None:
            sock.curve_publickey, sock.curve_secretkey = self.keys.public, self.keys.secret
            sock.curve_serverkey = self.enrolment.public_key(server)

    def send(self, peer: str, msg: wire.Message, *, claim: str | None = None, tick: int = 0, reply_to: int = 0,
             ask: bool = False, routing_id: str | None = None) -> None:
        """One frame to `peer`, claiming to be `claim` (default: who we are)."""
        self.seq += 1
        frame = wire.encode_frame(msg, claim or self.name, peer, self.seq, tick, reply_to, ask)
        self._put(self.link(peer, routing_id), wire.encode_packet([frame]))

    def send_raw(self, peer: str, payload: bytes) -> None:
        """`payload` as it is, on a link of its own in a context of its own: CURVE-encrypting
        400 MB keeps a context's I/O thread busy for seconds, and our other links would miss
        their heartbeats meanwhile (and be cut)."""
        if self._side_ctx is None:
            self._side_ctx = zmq.Context()
        sock = self._side_ctx.socket(zmq.DEALER)
        sock.linger = 0
        self._client(sock, peer)
        sock.connect(self.directory[peer])
        self._links[(peer, "raw")] = sock
        self._put(sock, payload)

    def _put(self, sock: zmq.Socket, payload: bytes) -> None:
        """Never blocks: a socket whose handshake was refused has nowhere to send (unsent)."""
        try:
            sock.send(payload, zmq.NOBLOCK, copy=False)
        except zmq.Again:
            self.unsent += 1

    def request(self, peer: str, msg: wire.Message, timeout_s: float = 5.0) -> wire.Message | None:
        """Ask and wait for the answer (None: no answer, e.g. the handshake was refused)."""
        self.send(peer, msg, ask=True)
        sock = self.link(peer)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not sock.poll(int(1000 * max(0.0, deadline - time.monotonic()))):
                return None
            for frame in wire.decode_packet(sock.recv()):
                env, reply = wire.decode_frame(frame)
                if env.reply_to == self.seq:
                    return reply
        return None

    def lookup(self) -> dict[str, str]:
        """The broker's directory (as an enrolled peer; an outsider gets no answer)."""
        d = self.request("broker", wire.DirectoryQuery(), timeout_s=60)
        if isinstance(d, wire.Directory):
            self.directory.update(zip(d.names, d.addresses))
        return self.directory

    def settle(self, timeout_s: float = 10.0) -> dict[tuple[str, str], bool]:
        """A round trip on every link (a Ping asked, its Pong awaited, all at once): what was
        sent on it before has been delivered. Returns, per link, whether it was answered (an
        outsider: never). A reply may come back on another of our links to the same peer (the
        peer routes to the name, not the socket): every link is listened to."""
        probes: dict[int, tuple[str, str]] = {}
        for (peer, routing_id), sock in list(self._links.items()):
            self.seq += 1
            probes[self.seq] = (peer, routing_id)
            self._put(sock, wire.encode_packet([wire.encode_frame(wire.Ping(0), self.name, peer, self.seq, 0, 0, True)]))
        answered = {link: False for link in probes.values()}
        poller = zmq.Poller()
        for sock in self._links.values():
            poller.register(sock, zmq.POLLIN)
        deadline = time.monotonic() + timeout_s
        while not all(answered.values()) and time.monotonic() < deadline:
            for sock, _ in poller.poll(int(1000 * max(0.0, deadline - time.monotonic()))):
                for frame in wire.decode_packet(sock.recv()):
                    env, _ = wire.decode_frame(frame)
                    if env.reply_to in probes:
                        answered[probes[env.reply_to]] = True
        return answered

    def close(self) -> None:
        for sock in [*self._links.values(), *self.unsettled]:
            sock.close(linger=0)
        self._links.clear()
        self.unsettled.clear()
        if self._side_ctx is not None:
            self._side_ctx.term()
        if self._own_ctx:
            self.ctx.term()


class TickWatch:
    """Follows the metronome's ticks on its PUB (as an enrolled identity: subscribing is for
    enrolled keys only), so attacks land mid-day."""

    def __init__(self, attacker: Attacker) -> None:
        self.tick = -1
        self.last = False
        self._sock = attacker.ctx.socket(zmq.SUB)
        self._sock.linger = 0
        attacker._client(self._sock, "metronome")
        self._sock.setsockopt(zmq.SUBSCRIBE, wire.Tick.TYPE.encode())
        self._sock.connect(attacker.plan.metronome_pub)
        self._stop = False
        self._thread = threading.Thread(target=self._follow, daemon=True)
        self._thread.start()

    def _follow(self) -> None:
        while not self._stop:
            if self._sock.poll(100):
                _, packet = self._sock.recv_multipart()
                for frame in wire.decode_packet(packet):
                    _, msg = wire.decode_frame(frame)
                    if isinstance(msg, wire.Tick):
                        self.tick, self.last = msg.tick, msg.last

    def wait_for(self, tick: int, timeout_s: float = 120.0) -> int:
        deadline = time.monotonic() + timeout_s
        while self.tick < tick:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the day did not reach tick {tick} within {timeout_s} s (at {self.tick})")
            time.sleep(0.01)
        return self.tick

    def close(self) -> None:
        self._stop = True
        self._thread.join(2)
        self._sock.close(linger=0)


def _ids(plan: RunPlan, population: str, n: int = 200) -> np.ndarray:
    """Consumer ids of a population (hi words are not checked by the owner rules, lo is the index)."""
    shard = next(p for p in plan.populations if p.name == population)
    ids = np.zeros(min(n, shard.stop - shard.start), dtype=wire.CONSUMER_ID_DTYPE)
    ids["lo"] = np.arange(shard.start, shard.start + len(ids))
    return ids


def _generators(gen_ids, nameplate: float) -> wire.GeneratorsRegister:
    n = len(gen_ids)
    return wire.GeneratorsRegister.pack(gen_ids=np.asarray(gen_ids, dtype=np.int32), nameplate_mw=np.full(n, nameplate),
                                        min_mw=np.zeros(n), ramp_mw=np.full(n, 1e3), kind=np.zeros(n, dtype=np.uint8),
                                        type_code=np.zeros(n, dtype=np.uint8))


@dataclass(frozen=True)
class Attack:
    name: str
    fire: Callable[[Attacker, int], None]  # (attacker, the tick now)
    what: str


def _forged_sender(a: Attacker, t: int) -> None:  # an Assign starving every consumer, "from tracker-0"
    ids = _ids(a.plan, "population-0", 10**9)
    a.send("population-0", wire.Assign.pack(tick=t + 1, ids=ids, gen_ids=np.full(len(ids), wire.STARVED_ID, dtype=np.int32)),
           claim="tracker-0", tick=t + 1)


def _stop_metronome(a: Attacker, t: int) -> None:
    a.send("metronome", wire.Stop("attack"))


def _stop_tracker(a: Attacker, t: int) -> None:
    a.send("tracker-0", wire.Stop("attack"))


def _hijack(a: Attacker, t: int) -> None:
    a.send("broker", wire.PeerRegister("tracker-0", "tracker", "tcp://127.0.0.1:9", ""), ask=True)


def _route_takeover(a: Attacker, t: int) -> None:  # connect to tracker-0 as "population-0": its Assigns would come here
    a.send("tracker-0", wire.Hello("consumer", ""), claim="population-0", routing_id="population-0", ask=True)
    a.send("metronome", wire.Hello("tracker", ""), claim="tracker-1", routing_id="tracker-1", ask=True)


def _tick_report(a: Attacker, t: int) -> None:
    a.send("metronome", wire.TickDone(t + 1, "consumer", {"demand_mw": 1e5, "served_mw": 0.0, "consumers": 1e6}), tick=t + 1)


def _verdict(a: Attacker, t: int) -> None:  # every generator blacked out, "says fleet-0"
    a.send("population-0", wire.Verdict(t + 1, "fleet-0", list(range(-(2**31) + 1, -(2**31) + 2))), tick=t + 1)


def _resync(a: Attacker, t: int) -> None:  # "these consumers are starved": the tracker would drop them off their generators
    ids = _ids(a.plan, "population-0", 10**9)
    for tracker in a.plan.trackers:
        a.send(tracker, wire.Resync.pack(ids=ids, demand_mw=np.full(len(ids), 5.0, dtype=np.float32),
                                         gen_ids=np.full(len(ids), wire.STARVED_ID, dtype=np.int32)))


def _region_offer(a: Attacker, t: int) -> None:  # "I have room": starved consumers would be handed to us and lost
    for tracker in a.plan.trackers:
        a.send(tracker, wire.RegionSummary(t + 1, 1e5, 0.0, 1e5, 0.0, 0), tick=t + 1)


def _fake_generator(a: Attacker, t: int) -> None:
    a.send("tracker-0", _generators([1234567], 1e4), ask=True)


def _nan_generator(a: Attacker, t: int) -> None:
    a.send("tracker-1", _generators([7654321], float("nan")), ask=True)


def _foreign_reply(a: Attacker, t: int) -> None:  # answers to requests population-0 may have out (probes, queries)
    frames = [wire.encode_frame(wire.Pong(0), a.name, "population-0", a.seq + i, t, reply_to=s, ask=False)
              for i, s in enumerate(range(1, 3000))]
    a.seq += len(frames)
    a._put(a.link("population-0"), wire.encode_packet(frames))


def _nan_draw(a: Attacker, t: int) -> None:  # population-0's own Draw of the next tick, with NaN in it
    for f in a.plan.fleets:
        a.send(f.name, wire.Draw.pack(tick=t + 1, gen_ids=np.arange(1, 4, dtype=np.int32),
                                      draw_mw=np.array([np.nan, 1.0, 2.0])), tick=t + 1)


def _stop_as_metronome(a: Attacker, t: int) -> None:  # a Stop to tracker-0 claiming to be the metronome
    a.send("tracker-0", wire.Stop("attack"), claim="metronome", routing_id="metronome")


def _huge_frame(a: Attacker, t: int) -> None:
    a.send_raw("tracker-1", b"\x00" * HUGE_FRAME_BYTES)


def fleet_generator_ids(plan: RunPlan, fleet: str, n: int = 3) -> list[int]:
    """The ids the bootstrap gives a fleet's first `n` units, predicted as it draws them (the
    nonce stream is keyed by the scenario's seed and the unit's name, both public)."""
    from scowl.security.units import planned_units

    scenario = plan.scenario()
    return [u.gen_id for u in planned_units(plan, scenario, scenario.seed).values() if u.fleet == fleet][:n]


def _foreign_generators(a: Attacker, t: int) -> None:  # fleet-0's own generators, registered by someone else
    ids = fleet_generator_ids(a.plan, "fleet-0")
    for tracker in a.plan.trackers:
        a.send(tracker, _generators(ids, 100.0), ask=True)


def _plain_socket(a: Attacker, t: int) -> None:  # no CURVE at all: a plain socket, a Stop to tracker-0
    sock = a.ctx.socket(zmq.DEALER)
    sock.linger = 0
    sock.routing_id = b"metronome"
    sock.connect(a.directory["tracker-0"])
    a.seq += 1
    a._put(sock, wire.encode_packet([wire.encode_frame(wire.Stop("attack"), "metronome", "tracker-0", a.seq, t)]))
    a.unsettled.append(sock)  # nothing will ever answer on it: left out of settle, closed with the rest


ATTACKS: tuple[Attack, ...] = (  # the 400 MB frame first: cut, reconnected and counted well within the day
    Attack("huge_frame", _huge_frame, "a 400 MB frame to tracker-1"),
    Attack("forged_sender", _forged_sender, "an Assign to population-0 claiming to come from tracker-0"),
    Attack("stop_metronome", _stop_metronome, "Stop to the metronome (used to end the run with no results)"),
    Attack("stop_tracker", _stop_tracker, "Stop to tracker-0 (used to kill it)"),
    Attack("broker_hijack", _hijack, "PeerRegister of tracker-0 at another address (used to move its traffic)"),
    Attack("route_takeover", _route_takeover, "connect with routing id population-0 / tracker-1 (ROUTER_HANDOVER)"),
    Attack("tick_report", _tick_report, "a forged per-tick report to the metronome (demand 1e5 MW)"),
    Attack("verdict", _verdict, "a Verdict for fleet-0 sent to population-0"),
    Attack("resync", _resync, "Resync of population-0's consumers as starved, to every tracker"),
    Attack("region_offer", _region_offer, "RegionSummary with 1e5 MW headroom to every tracker"),
    Attack("fake_generator", _fake_generator, "a 10 GW generator registered with tracker-0 mid-run"),
    Attack("nan_generator", _nan_generator, "a generator with NaN nameplate registered with tracker-1"),
    Attack("foreign_reply", _foreign_reply, "Pong replies to sequence numbers 1..2999 of population-0"),
    Attack("foreign_generators", _foreign_generators, "fleet-0's generator ids registered with every tracker"),
    Attack("plain_socket", _plain_socket, "a Stop 'from the metronome' on a plain socket (no CURVE) to tracker-0"),
)
#: what a real member may lie about: its own per-tick message, with a NaN in it
NAN_DRAW = Attack("nan_draw", _nan_draw, "a Draw of the next tick with a NaN, to every fleet")
#: the envelope and the routing id both say "metronome"
STOP_AS_METRONOME = Attack("stop_as_metronome", _stop_as_metronome, "Stop to tracker-0 claiming to be the metronome")
BY_NAME = {a.name: a for a in (*ATTACKS, NAN_DRAW, STOP_AS_METRONOME)}
#: what a fleet that joined may lie about: another fleet's generators, another fleet's Verdict
FLEET_LIES = (BY_NAME["foreign_generators"], BY_NAME["verdict"])


def attack_day(plan: RunPlan, identities: list[tuple[str, bool, tuple[Attack, ...]]], watcher_identity: str, *,
               at_tick: int = 3) -> dict[str, list[str]]:
    """Fire attacks at a running day, once it reached `at_tick`: from each identity (name,
    enrolled, its attacks); returns what each identity fired. `watcher_identity` (enrolled
    when the run has keys) follows the ticks and looks up the peers' addresses for everyone."""
    ctx = zmq.Context()
    fired: dict[str, list[str]] = {}
    watcher = Attacker(plan, watcher_identity, enrolled=bool(plan.keys_dir), ctx=ctx)
    watch = TickWatch(watcher)
    try:
        watch.wait_for(0)
        directory = watcher.lookup()
        t = watch.wait_for(at_tick)

        def fire(name: str, enrolled: bool, attacks: tuple[Attack, ...]) -> None:
            att = Attacker(plan, name, enrolled=enrolled)  # a context each: one's 400 MB frame stalls no other
            att.directory.update(directory)
            fired[name] = []
            try:
                for attack in attacks:
                    attack.fire(att, t)
                    fired[name].append(attack.name)
                if name in plan.names():  # a member's own peers would answer its real self: just let the frames go
                    time.sleep(1.0)
                else:
                    att.settle(timeout_s=4.0 if enrolled else 2.0)  # within the day: replies may go to a twin link
            finally:
                att.close()

        threads = [threading.Thread(target=fire, args=ident, daemon=True) for ident in identities]
        for th in threads:
            th.start()
        for th in threads:
            th.join(120)
        fired["_landed_by_tick"] = [str(watch.tick), "last" if watch.last else ""]  # the attacks were all out by then
    finally:
        watch.close()
        watcher.close()
        ctx.destroy(linger=0)
    return fired
