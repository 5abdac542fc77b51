"""An open grid, over real processes and tcp: a peer the run plan does not name (the
third-party fleet in examples/, pyzmq and msgpack only) joins a running day through the
bootstrap and the broker, supplies consumers, and leaves mid-day with every consumer
rehomed; and every wrong join gets a refusal that says why, within a second."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import zmq

from scowl import membership, wire
from scowl.actors.peer import Gather
from scowl.plan import make_plan
from scowl.run import start_node, stop_nodes
from scowl.security import enrol_plan

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "reference_generator.py"



def test_the_reference_peer_joins_a_running_day_and_leaves_with_nobody_lost(tmp_path, long_small):
    """Security on, every guard on: the peer makes its own CURVE key, the bootstrap enrols it
    by the join token, and every peer it talks to accepts it by that key."""
    run_dir = tmp_path / "run"
    day = subprocess.Popen([sys.executable, "-m", "scowl", "run", str(long_small), "--out", str(run_dir),
                            "--processes", "--transport", "tcp", "--quiet"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (run_dir / "join.json").exists():  # written with the plan, before any process starts
            assert day.poll() is None and time.monotonic() < deadline, "no join.json"
            time.sleep(0.05)  # polling for a file another process writes
        peer = subprocess.run([sys.executable, str(EXAMPLE), "--join", str(run_dir / "join.json"), "--name", "windco",
                               "--wait-for-tick", "20", "--leave-after", "30"], check=False, capture_output=True, text=True,
                              timeout=180)
        _out, err = day.communicate(timeout=180)
    finally:
        if day.poll() is None:
            day.kill()
            day.communicate()
    assert peer.returncode == 0, peer.stdout + peer.stderr
    assert day.returncode == 0, err[-3000:]
    assert "join: bootstrap=tcp://" in err and f"(also in {run_dir / 'join.json'})" in err  # `scowl run` says how to join
    info = json.loads((run_dir / "join.json").read_text())
    assert {"bootstrap", "broker", "metronome", "tracker-0"} <= set(info["keys"])  # the keys a joiner pins
    counted = int(re.search(r"counted from tick (\d+)", peer.stdout).group(1))
    left = int(re.search(r"left at tick (\d+)", peer.stdout).group(1))
    assert 20 < counted < left == counted + 31 < 150  # joined mid-day, left mid-day (the tick after it asked)

    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["security"]["mode"] == "curve", summary["security"]
    assert not summary["security"].get("guards_off"), summary["security"]
    enrolment = json.loads((run_dir / "keys" / "enrolment.json").read_text())
    assert enrolment["windco"]["role"] == "generator"  # enrolled by its join, with the key it made
    assert summary["security"]["rejected"] == 0, summary["security"]  # not one of its messages refused by any guard
    joined = summary["membership"]["joined"]["windco"]
    assert joined["tick"] == counted and joined["generators"] == 3 and joined["ticks_reported"] == left - counted
    assert joined["generated_mwh"] > 0  # its generators carried consumers
    assert summary["membership"]["left"]["windco"]["tick"] == left
    energy = summary["energy_mwh"]
    assert energy["served"] == pytest.approx(energy["generated"], rel=1e-9)  # its energy is in the books

    state = pd.read_parquet(run_dir / "state.parquet")
    mine = state[state["actor"] == "windco"]
    assert sorted(mine["tick"]) == list(range(counted, left))  # counted by the metronome exactly while a member
    assert (mine["delivered_mw"] > 0).any()
    # nobody lost: every consumer is held by exactly one tracker at the end of every tick (a
    # handover is placed by its taker in the same tick's sub-round, so none is in flight)
    plan = json.loads((run_dir / "plan.json").read_text())
    n_global = plan["n_consumers"] + plan["n_fixed_blocks"]
    trackers = state[state["role"] == "tracker"].groupby("tick")[["consumers", "handed_out"]].sum()
    assert len(trackers) == 150 and (trackers["consumers"] == n_global).all() and trackers["handed_out"].sum() > 0
    pops = state[state["role"] == "consumer"]
    assert ((pops["assigned"] + pops["starved"]) == pops["consumers"]).all()
    finals = json.loads((run_dir / "finals.json").read_text())
    rehomed = sum(f.get("rehomed", 0) for f in finals.values() if f.get("role") == "tracker")
    assert rehomed > 0  # it had consumers when it left, and they went elsewhere
    assert finals["windco"]["left_at_tick"] == left
    after = state[(state["role"] == "tracker") & (state["tick"] >= left)]
    assert after.groupby("tick")["generators"].sum().eq(after.groupby("tick")["generators"].sum().iloc[0]).all()


# --------------------------------------------------------------------------- refusals


class RawPeer:
    """A bare DEALER per service, as a third party would have: frames in, replies out, timed."""

    def __init__(self, ctx: zmq.Context, name: str) -> None:
        self.ctx, self.name, self.seq = ctx, name, 0

    def socket(self, service: str) -> zmq.Socket:
        sock = self.ctx.socket(zmq.DEALER)
        sock.setsockopt(zmq.ROUTING_ID, self.name.encode())
        sock.setsockopt(zmq.LINGER, 0)
        return sock

    def link(self, service: str, address: str) -> zmq.Socket:
        sock = self.socket(service)
        sock.connect(address)
        return sock

    def done(self, sock: zmq.Socket) -> None:
        sock.close()

    def ask(self, service: str, address: str, msg: wire.Message | bytes) -> tuple[wire.Message, float]:
        """Send one request on a fresh DEALER; (the reply, seconds it took)."""
        sock = self.link(service, address)
        try:
            self.seq += 1
            frame = msg if isinstance(msg, bytes) else wire.encode_frame(msg, self.name, service, self.seq, ask=True)
            t0 = time.monotonic()
            sock.send(wire.encode_packet([frame]))
            assert sock.poll(5000), f"{service} did not answer {msg!r} within 5 s"
            elapsed = time.monotonic() - t0
            env, reply = wire.decode_frame(wire.decode_packet(sock.recv())[0], self.name)
        finally:
            self.done(sock)
        assert env.reply_to == self.seq, "the refusal answers the request it refuses"
        return reply, elapsed


@pytest.fixture(scope="module")
def services(tmp_path_factory):
    """The bootstrap, broker and metronome of a tcp plan, each in its own scowl-node process."""
    out = tmp_path_factory.mktemp("services")
    plan = make_plan(str(ROOT / "configs/small.toml"), transport="tcp", out_dir=str(out), secure=False)
    plan.guards_off = ["roles"]  # the handlers' refusals under test (the role guard refuses unknown names silently)
    plan.save(out / "plan.json")
    procs = [start_node(plan, out / "plan.json", name) for name in ("bootstrap", "broker", "metronome")]
    ctx = zmq.Context()
    try:
        yield plan, ctx
    finally:
        ctx.destroy(linger=0)
        stop_nodes(procs)


def _refused(reply: wire.Message) -> str:
    if isinstance(reply, wire.Joined | wire.Registered):
        assert not reply.ok, reply
        return reply.reason if isinstance(reply, wire.Joined) else reply.detail
    if isinstance(reply, wire.Failure):
        return f"{reply.error}: {reply.detail}"
    assert isinstance(reply, wire.Reject), reply
    return f"{reply.reason}: {reply.detail}"


def test_each_wrong_join_is_refused_with_the_reason_within_a_second(services):
    plan, ctx = services
    token = plan.join_token
    good = membership.ticket(token, "stranger", "generator")
    cases = [
        ("bad token", "stranger", "bootstrap", wire.Join("stranger", "generator", "0" * 32), "bad join token"),
        ("name of a planned peer", "fleet-0", "bootstrap", wire.Join("fleet-0", "generator", token), "duplicate name"),
        ("role that cannot join", "shopper", "bootstrap", wire.Join("shopper", "consumer", token), "cannot join a running grid"),
        ("join under another name", "mallory", "bootstrap", wire.Join("alice", "generator", token), "joins under its own name"),
        ("register without a ticket", "stranger", "broker", wire.PeerRegister("stranger", "generator", ""), "shows no join ticket"),
        ("register with a forged ticket", "stranger", "broker",
         wire.PeerRegister("stranger", "generator", "", ticket="ab" * 32), "bad join ticket"),
        ("another peer's ticket", "mallory", "broker", wire.PeerRegister("mallory", "generator", "", ticket=good), "bad join ticket"),
        ("fewer generators than planned", "fleet-0", "broker", wire.Locate([1, 2], [1.0, 1.0]),
         f"located 2 generators but the run plan lists {len(plan.fleets[0].rows)}"),
        ("locate before registering", "stranger", "broker", wire.Locate([1], [1.0]), "send `peer-register`"),
        ("ready without a ticket", "stranger", "metronome", wire.Ready("stranger", "generator"), "shows no join ticket"),
        ("ready with a forged ticket", "stranger", "metronome", wire.Ready("stranger", "generator", "cd" * 32), "bad join ticket"),
        ("leave before joining", "stranger", "metronome", wire.Leave("stranger"), "is not counted in this run"),
    ]
    address = {"bootstrap": plan.bootstrap, "broker": plan.broker, "metronome": plan.metronome}
    for what, sender, service, msg, reason in cases:
        reply, elapsed = RawPeer(ctx, sender).ask(service, address[service], msg)
        assert reason in _refused(reply), (what, reply)
        assert elapsed < 1.0, f"{what}: refused after {elapsed:.2f} s"
    # a well-formed join is admitted, and asking again gets the same ticket
    first, _ = RawPeer(ctx, "stranger").ask("bootstrap", plan.bootstrap, wire.Join("stranger", "generator", token))
    again, _ = RawPeer(ctx, "stranger").ask("bootstrap", plan.bootstrap, wire.Join("stranger", "generator", token))
    assert first.ok and first == again and first.ticket == good and first.broker == plan.broker


def test_requests_that_cannot_be_decoded_get_a_typed_reject_within_a_second(services):
    plan, ctx = services
    peer = RawPeer(ctx, "garbler")
    ping = wire.encode_frame(wire.Ping(1), "garbler", "bootstrap", 1, ask=True)
    frames = {
        "invalid": ping.replace(b"\xa4ping", b"\xa4stop"),  # a stop's body is [reason], not [n, payload]
        "unknown_type": ping.replace(b"\xa4ping", b"\xa4pang"),
        "misaddressed": wire.encode_frame(wire.Ping(1), "garbler", "broker", 1, ask=True),
        "spoofed": wire.encode_frame(wire.Ping(1), "alice", "bootstrap", 1, ask=True),
        "version": ping.replace(b"\x99\x01", b"\x99\x07", 1),
    }
    for reason, frame in frames.items():
        peer.seq = 0  # each frame above says seq 1
        reply, elapsed = peer.ask("bootstrap", plan.bootstrap, frame)
        assert isinstance(reply, wire.Reject) and reply.reason == reason, (reason, reply)
        assert elapsed < 1.0


# --------------------------------------------------------------------------- pure parts


def test_tickets_bind_name_role_and_key_to_the_run_token():
    token = membership.new_token()
    t = membership.ticket(token, "windco", "generator")
    assert membership.ticket_ok(token, t, "windco", "generator")
    assert not membership.ticket_ok(token, t, "windco2", "generator")
    assert not membership.ticket_ok(token, t, "windco", "storage")
    assert not membership.ticket_ok(token, t, "windco", "generator", "another-key")
    assert not membership.ticket_ok(membership.new_token(), t, "windco", "generator")
    assert not membership.ticket_ok("", t, "windco", "generator")
    assert membership.join_refusal(token, token, "windco", "generator", {"fleet-0"}) == ""
    assert "no join token" in membership.join_refusal("", "", "windco", "generator", set())


def test_gather_counts_members_only_while_they_are_members():
    g = Gather(["a"], "gen-status")
    g.join("b", 3)
    g.leave("a", 5)
    assert g.expected_at(2) == {"a"} and g.expected_at(3) == {"a", "b"} and g.expected_at(5) == {"b"}
    g.add(4, "a", 1)
    assert not g.complete(4) and g.missing(4) == ["b"]
    g.add(4, "b", 2)
    assert g.complete(4) and g.take(4) == [1, 2]
    assert g.complete(6) is False and g.missing(6) == ["b"]
    with pytest.raises(ValueError, match="unexpected sender"):
        g.add(6, "c", 3)
    assert np.array_equal(sorted(g.expected), ["b"])


# --------------------------------------------------------------------------- refusals under CURVE


@pytest.fixture(scope="module")
def secure_services(tmp_path_factory):
    """The same services with CURVE keys and every guard on, as `scowl run` starts them."""
    out = tmp_path_factory.mktemp("secure-services")
    plan = make_plan(str(ROOT / "configs/small.toml"), transport="tcp", out_dir=str(out))
    enrol_plan(plan)
    plan.save(out / "plan.json")
    procs = [start_node(plan, out / "plan.json", name) for name in ("bootstrap", "broker", "metronome")]
    ctx = zmq.Context()
    try:
        yield plan, ctx, json.loads((out / "join.json").read_text())["keys"]
    finally:
        ctx.destroy(linger=0)
        stop_nodes(procs)


class CurvePeer(RawPeer):
    """A third party with its own CURVE key, pinning each service's key from join.json. It
    keeps one DEALER per service (a secure ROUTER refuses a second connection with the same
    routing id while the first is still there: no handover), until `close`."""

    def __init__(self, ctx: zmq.Context, name: str, keys: dict[str, str], pair: tuple[bytes, bytes] | None = None) -> None:
        super().__init__(ctx, name)
        self.keys = keys
        self.public, self.secret = pair or zmq.curve_keypair()
        self.links: dict[str, zmq.Socket] = {}

    def link(self, service: str, address: str) -> zmq.Socket:
        if service not in self.links:
            self.links[service] = super().link(service, address)
        return self.links[service]

    def done(self, sock: zmq.Socket) -> None:
        pass

    def close(self) -> None:
        for sock in self.links.values():
            sock.close()
        self.links.clear()

    def socket(self, service: str) -> zmq.Socket:
        sock = super().socket(service)
        sock.curve_publickey, sock.curve_secretkey = self.public, self.secret
        sock.curve_serverkey = self.keys[service].encode()
        return sock


def test_wrong_joins_under_curve_are_refused_with_the_reason_within_a_second(secure_services):
    plan, ctx, keys = secure_services
    token = plan.join_token
    mine = zmq.curve_keypair()
    cases = [
        ("bad token", "stranger", wire.Join("stranger", "generator", "0" * 32, mine[0].decode()), "bad join token"),
        ("role that cannot join", "shopper", wire.Join("shopper", "consumer", token, mine[0].decode()), "cannot join a running grid"),
        ("a key it does not hold", "stranger", wire.Join("stranger", "generator", token, zmq.curve_keypair()[0].decode()),
         "is not the CURVE key this connection authenticated with"),
        ("no key over CURVE", "stranger", wire.Join("stranger", "generator", token, ""), "is not the CURVE key"),
        ("name of a planned peer", "fleet-0", wire.Join("fleet-0", "generator", token, mine[0].decode()), "duplicate name"),
    ]
    peers = {name: CurvePeer(ctx, name, keys, mine) for name in ("stranger", "shopper", "fleet-0")}
    for what, sender, msg, reason in cases:
        reply, elapsed = peers[sender].ask("bootstrap", plan.bootstrap, msg)
        assert reason in _refused(reply), (what, reply)
        assert elapsed < 1.0, f"{what}: refused after {elapsed:.2f} s"
    # admitted: enrolled with its key, and the ticket names that key
    stranger = peers["stranger"]
    first, _ = stranger.ask("bootstrap", plan.bootstrap, wire.Join("stranger", "generator", token, mine[0].decode()))
    assert first.ok and first.ticket == membership.ticket(token, "stranger", "generator", mine[0].decode())
    enrolled = json.loads((Path(plan.keys_dir) / "enrolment.json").read_text())["stranger"]
    assert enrolled == {"role": "generator", "public": mine[0].decode(), "joined": True}
    # the broker and metronome now know it by its key, and check the ticket against that key
    for service, msg, reason in [
        ("broker", wire.PeerRegister("stranger", "generator", "", ticket=membership.ticket(token, "stranger", "generator")),
         "bad join ticket"),  # a ticket without its key
        ("metronome", wire.Ready("stranger", "generator", "cd" * 32), "bad join ticket"),
    ]:
        reply, elapsed = stranger.ask(service, getattr(plan, service), msg)
        assert reason in _refused(reply) and elapsed < 1.0, (service, reply, elapsed)
    ok, _ = stranger.ask("broker", plan.broker, wire.PeerRegister("stranger", "generator", "", ticket=first.ticket))
    assert ok.ok, ok
    for peer in peers.values():
        peer.close()
    # another key cannot take the enrolled name over (the broker's handshake refuses a key it does not know)
    sock = CurvePeer(ctx, "stranger", keys).socket("broker")
    try:
        sock.connect(plan.broker)
        sock.send(wire.encode_packet([wire.encode_frame(wire.Ping(1), "stranger", "broker", 1, ask=True)]))
        assert not sock.poll(1000), "an unenrolled key got an answer from the broker"
    finally:
        sock.close()


def _approve(run_dir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "scowl", "approve", str(run_dir), *args], check=False,
                          capture_output=True, text=True, timeout=60)


def test_approve_refuses_a_planned_name_and_a_malformed_key(secure_services):
    plan, _, _ = secure_services
    run_dir = Path(plan.out_dir)
    key = zmq.curve_keypair()[0].decode()
    # --public-key=KEY: a Z85 key may start with '-', which argparse would take for an option
    refused = _approve(run_dir, "--name", "fleet-0", f"--public-key={key}")
    assert refused.returncode == 2 and "already has that name" in refused.stderr
    assert _approve(run_dir, "--name", "partner", "--public-key=not-a-key").returncode == 2


@pytest.mark.flaky
def test_an_operator_approved_key_joins_without_the_token(secure_services):
    """Known intermittent (clean-clone CI failed it once in three runs): the join after approval
    sometimes gets no answer within 5 s, on a fresh connection as on the one opened before
    (see the next test); the likely cause is a secure ROUTER keeping the name 'partner' on a
    connection the client already closed or lost (no handover), not yet confirmed."""
    plan, ctx, keys = secure_services
    run_dir = Path(plan.out_dir)
    pair = zmq.curve_keypair()
    key = pair[0].decode()
    partner = CurvePeer(ctx, "partner", keys, pair)
    # before approval an unknown key gets nothing past the bootstrap's open door but a refusal of its bad token
    reply, _ = partner.ask("bootstrap", plan.bootstrap, wire.Join("partner", "generator", "", key))
    assert "bad join token" in _refused(reply)
    partner.close()
    done = _approve(run_dir, "--name", "partner", f"--public-key={key}")
    assert done.returncode == 0, done.stderr
    # approved: the key alone admits it, no token
    reply, elapsed = partner.ask("bootstrap", plan.bootstrap, wire.Join("partner", "generator", "", key))
    assert reply.ok and elapsed < 1.0, reply
    assert reply.ticket == membership.ticket(plan.join_token, "partner", "generator", key)
    partner.close()
    again, _ = partner.ask("bootstrap", plan.bootstrap, wire.Join("partner", "generator", "", key))
    assert again == reply
    ok, _ = partner.ask("broker", plan.broker, wire.PeerRegister("partner", "generator", "", ticket=reply.ticket))
    assert ok.ok, ok
    partner.close()


@pytest.mark.flaky
def test_an_approved_key_joins_on_the_connection_it_opened_before_approval(secure_services):
    """Known intermittent (about 1 run in 10-20 on a loaded 2-core machine, issue 14 note): the
    bootstrap admits the Join and sends `Joined`, but the client's connection drops 1-5 ms after
    and reconnects, the reply dies with the old pipe, and the secure ROUTER keeps the name on the
    old connection, so the client waits out its 5 s. Cause of the drop not found yet; run with
    `pytest -m flaky`."""
    plan, ctx, keys = secure_services
    pair = zmq.curve_keypair()
    key = pair[0].decode()
    partner = CurvePeer(ctx, "opener", keys, pair)
    reply, _ = partner.ask("bootstrap", plan.bootstrap, wire.Join("opener", "generator", "", key))
    assert "bad join token" in _refused(reply)
    assert _approve(Path(plan.out_dir), "--name", "opener", f"--public-key={key}").returncode == 0
    reply, elapsed = partner.ask("bootstrap", plan.bootstrap, wire.Join("opener", "generator", "", key))
    assert reply.ok and elapsed < 1.0, reply
    partner.close()
