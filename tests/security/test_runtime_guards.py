"""The runtime's guards over real tcp sockets in one process: a reply counts only from the peer
that was asked (and the guard is what stops a forged one), and a route through a ROUTER is taken
over only by the same authenticated key (a restarted peer), never by a name someone claims."""

from __future__ import annotations

import asyncio
import threading

import pytest

from scowl import wire
from scowl.plan import make_plan
from scowl.runtime import Actor, local, on
from scowl.security import GUARDS, Credentials, Roster, enrol_all
from scowl.security.attacks import Attacker


class SlowEcho(Actor):
    role = "tracker"

    @on(wire.Ping)
    async def on_ping(self, msg: wire.Ping, env: wire.Envelope):
        await asyncio.sleep(0.5)
        return wire.Pong(msg.n)


@pytest.fixture
def keys(tmp_path):
    names = {"tracker-0": "tracker", "population-0": "consumer", "mallory": "consumer", "broker": "broker",
             "bootstrap": "bootstrap", "metronome": "metronome"}
    enrol_all(tmp_path / "keys", names)
    return tmp_path / "keys"


def _equip(actor: Actor, keys, plan, guards=GUARDS) -> Actor:
    actor.credentials = Credentials.load(keys, actor.name)
    actor.roster = Roster(plan, actor.credentials.enrolment)
    actor.guards = guards
    return actor


def _plan(keys):
    plan = make_plan("configs/small.toml", transport="tcp")
    plan.keys_dir = str(keys)
    return plan


async def _forge_reply(zctx, keys, guards) -> tuple[wire.Message, Actor]:
    plan = _plan(keys)
    echo = _equip(SlowEcho("tracker-0", "tcp://127.0.0.1:0"), keys, plan)
    asker = _equip(Actor("population-0", "tcp://127.0.0.1:0"), keys, plan, guards)
    await echo.start(zctx)
    await asker.start(zctx)
    try:
        await asker.connect("tracker-0", echo.bound_address)
        plan.broker = asker.bound_address  # the attacker's way in: population-0's ROUTER
        mallory = Attacker(plan, "mallory", enrolled=True)
        mallory.directory["population-0"] = asker.bound_address
        answer = asyncio.ensure_future(asker.request("tracker-0", wire.Ping(1)))
        await asyncio.sleep(0)
        seq = asker._seq  # the request's sequence number: one a watcher could guess

        def forge():
            mallory.send("population-0", wire.Pong(666), reply_to=seq)
            mallory.settle(5)
            mallory.close()

        thread = threading.Thread(target=forge)
        thread.start()
        reply = await answer
        await asyncio.to_thread(thread.join)
        return reply, asker
    finally:
        await asker.stop()
        await echo.stop()


async def test_a_reply_counts_only_from_the_peer_asked(zctx, keys):
    reply, asker = await _forge_reply(zctx, keys, GUARDS)
    assert reply == wire.Pong(1)  # tracker-0's answer, half a second later
    assert asker.stats.rejected[("mallory", "reply_mismatch")] == 1


async def test_without_the_replies_guard_a_forged_reply_answers_the_request(zctx, keys):
    reply, _ = await _forge_reply(zctx, keys, GUARDS - {"replies"})
    assert reply == wire.Pong(666)


async def test_a_route_is_taken_over_only_by_the_same_key(zctx, keys, monkeypatch):
    monkeypatch.setattr(local, "ENABLED", False)  # over tcp: actors of one context would link over inproc (scowl.runtime.local)
    plan = _plan(keys)
    tracker = _equip(Actor("tracker-0", "tcp://127.0.0.1:0"), keys, plan)
    first = _equip(Actor("population-0"), keys, plan)
    again = _equip(Actor("population-0"), keys, plan)  # the same peer, restarted: the same key
    await tracker.start(zctx)
    await first.start(zctx)
    await again.start(zctx)
    try:
        await first.connect("tracker-0", tracker.bound_address)
        plan.broker = tracker.bound_address
        mallory = Attacker(plan, "mallory", enrolled=True)
        mallory.directory["tracker-0"] = tracker.bound_address
        await asyncio.to_thread(lambda: (mallory.send("tracker-0", wire.Hello("consumer"), claim="population-0",
                                                      routing_id="population-0"), mallory.settle(5), mallory.close()))
        assert tracker.stats.rejected[("mallory", "spoofed")] == 1
        assert tracker.peers() == ["mallory", "population-0"]
        assert await first.request("tracker-0", wire.Hello("consumer")) == wire.Welcome("actor")
        # the same peer restarted (the same key): its new connection takes the route at once
        route = tracker._router_peers["population-0"]
        await again.connect("tracker-0", tracker.bound_address)
        assert tracker._router_peers["population-0"] != route
        assert await again.request("tracker-0", wire.Hello("consumer")) == wire.Welcome("actor")
    finally:
        await again.stop()
        await first.stop()
        await tracker.stop()


async def test_an_open_bootstrap_lets_an_unenrolled_key_say_hello_and_nothing_else(zctx, keys):
    """A run that takes joiners: the bootstrap admits unknown keys (as "key:..."), and the
    authorization table lets them send only what is marked open (hello; joining)."""
    plan = _plan(keys)
    boot = Actor("bootstrap", "tcp://127.0.0.1:0")
    boot.credentials = Credentials.load(keys, "bootstrap", open_door=True)
    boot.roster = Roster(plan, boot.credentials.enrolment)
    await boot.start(zctx)
    try:
        plan.bootstrap = boot.bound_address
        stranger = Attacker(plan, "joiner", enrolled=False)
        welcome = await asyncio.to_thread(stranger.request, "bootstrap", wire.Hello("generator"))
        refused = await asyncio.to_thread(stranger.request, "bootstrap", wire.DirectoryQuery(), 1.0)
        stranger.close()
        assert welcome == wire.Welcome("actor") and refused is None
        assert dict(boot.stats.rejected) == {("joiner", "unenrolled"): 1}
        assert boot.unenrolled_keys == {"joiner": stranger.keys.public.decode()}  # for the join to check
        impostor = Attacker(plan, "tracker-0", enrolled=False)  # an enrolled name, claimed by another key
        assert await asyncio.to_thread(impostor.request, "bootstrap", wire.Hello("tracker"), 1.0) is None
        impostor.close()
        assert boot.stats.rejected[(f"key:{impostor.keys.public.decode()}", "spoofed")] == 1
    finally:
        await boot.stop()
