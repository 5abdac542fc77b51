"""A joiner's key reaches the peers of other hosts (issue 14). A deployment gives each host its
own copy of the enrolment table, made before the run; the bootstrap enrols a joiner in its own
host's copy only. Here the bootstrap and a tracker run on real tcp sockets with separate key
directories and separate ZeroMQ contexts (so separate ZAP authorities), as on two hosts: the
tracker's copy never learns the joiner from its file, yet its ZAP accepts the joiner by asking
the bootstrap (`whois` -> `enrolled`), and the roster counts it a member. A key the bootstrap
does not know stays refused, and an `enrolled` from any other peer enrols nothing."""

from __future__ import annotations

import asyncio
import json
import shutil
from dataclasses import replace

import pytest
import zmq
import zmq.asyncio

from scowl import wire
from scowl.actors.bootstrap import Bootstrap
from scowl.plan import make_plan
from scowl.runtime import Actor
from scowl.security import EnrolmentError, Keypair, enrol_all, enrol_plan, equip
from scowl.security.attacks import Attacker
from scowl.security.zap import stop_authority


async def test_a_tracker_on_another_host_accepts_a_joiner_its_own_table_lacks(tmp_path, zctx):
    plan = make_plan("configs/small.toml", transport="tcp")
    boot_keys, tracker_keys = tmp_path / "host-a" / "keys", tmp_path / "host-b" / "keys"
    boot_plan = replace(plan, keys_dir=str(boot_keys))
    enrol_plan(boot_plan)
    shutil.copytree(boot_keys, tracker_keys)  # the deployment's copy for host b, made before the run
    boot = Bootstrap("bootstrap", "tcp://127.0.0.1:0", seed=1, plan=boot_plan)
    equip([boot], boot_plan)
    await boot.start(zctx)
    boot_plan.bootstrap = boot.bound_address
    tracker_plan = replace(plan, keys_dir=str(tracker_keys), bootstrap=boot.bound_address)
    tracker = Actor("tracker-0", "tcp://127.0.0.1:0")
    equip([tracker], tracker_plan)
    host_b = zmq.asyncio.Context()  # host b: its own ZAP authority, reading its own table
    await tracker.start(host_b)
    peers = []
    try:
        joiner = Attacker(boot_plan, "windco", enrolled=False)  # its own keypair, as a third party's
        peers.append(joiner)
        joiner.directory["tracker-0"] = tracker.bound_address
        assert joiner.keys is not None
        key = joiner.keys.public.decode()
        joined = await asyncio.to_thread(joiner.request, "bootstrap", wire.Join("windco", "generator", plan.join_token, key))
        assert isinstance(joined, wire.Joined) and joined.ok, joined
        assert json.loads((boot_keys / "enrolment.json").read_text())["windco"]["joined"] is True

        welcome = await asyncio.to_thread(joiner.request, "tracker-0", wire.Hello("generator"), 5.0)
        assert welcome == wire.Welcome("actor")  # the handshake passed and the frame was taken as windco's
        assert "windco" not in json.loads((tracker_keys / "enrolment.json").read_text())  # host b's file never had it
        assert tracker.roster is not None and tracker.credentials is not None
        assert tracker.roster.role("windco") == "generator" and tracker.roster.is_member("windco")
        assert tracker.credentials.authority is not None and tracker.credentials.authority.learnt == {"windco": key}
        assert tracker.credentials.refused() == {} and not tracker.stats.rejected

        # a key nobody enrolled: the bootstrap says so, and the handshake is refused (no frame read)
        stranger = Attacker(boot_plan, "mallory", enrolled=False)
        peers.append(stranger)
        stranger.directory["tracker-0"] = tracker.bound_address
        assert await asyncio.to_thread(stranger.request, "tracker-0", wire.Hello("generator"), 1.0) is None
        assert sum(tracker.credentials.refused().values()) >= 1 and tracker.roster.role("mallory") is None

        # an enrolled peer that is not the bootstrap tells the tracker a key is "evil"'s: refused, nothing learnt
        liar = Attacker(tracker_plan, "population-0", enrolled=True)
        peers.append(liar)
        liar.directory["tracker-0"] = tracker.bound_address
        evil = stranger.keys.public.decode() if stranger.keys is not None else ""
        await asyncio.to_thread(lambda: (liar.send("tracker-0", wire.Enrolled(evil, "evil", "generator")), liar.settle(5)))
        assert tracker.stats.rejected[("population-0", "unauthorized")] == 1
        assert tracker.roster.role("evil") is None and "evil" not in tracker.credentials.authority.learnt
    finally:
        for p in peers:
            p.close()
        await tracker.stop()
        stop_authority(host_b)
        host_b.destroy(linger=0)
        await boot.stop()


def test_a_learnt_entry_stays_in_memory_and_never_rebinds_a_name_or_key(tmp_path):
    table = enrol_all(tmp_path / "keys", {"fleet-0": "generator", "tracker-0": "tracker"})
    joiner = Keypair.generate()
    table.learn("windco", "generator", joiner.public)
    assert table.name_of(joiner.public) == "windco" and table.joined("windco") and table.role("windco") == "generator"
    assert "windco" not in json.loads((tmp_path / "keys" / "enrolment.json").read_text())  # the host's file is the deployment's
    with pytest.raises(EnrolmentError, match="duplicate name"):
        table.learn("fleet-0", "generator", Keypair.generate().public)  # a planned name, another key
    with pytest.raises(EnrolmentError, match="duplicate key"):
        table.learn("other", "generator", joiner.public)
    table.refresh()
    assert table.name_of(joiner.public) == "windco"  # a re-read of the file keeps what was learnt
