"""Keys, the enrolment table and the ZAP authority over real tcp sockets: an enrolled client is
known by its enrolled name (User-Id), an unknown key never gets a message through and is counted."""

from __future__ import annotations

import asyncio
import stat

import pytest
import zmq

from scowl.security.keys import (
    Enrolment,
    EnrolmentError,
    Keypair,
    enrol,
    enrol_all,
    load_keypair,
)
from scowl.security.zap import ZAP_DOMAIN_PREFIX, authority_for, stop_authority


def test_key_files_are_private_and_the_table_binds_names_to_keys(tmp_path):
    table = enrol_all(tmp_path / "keys", {"tracker-0": "tracker", "broker": "broker"})
    secret = tmp_path / "keys" / "tracker-0.key_secret"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    pair = load_keypair(tmp_path / "keys", "tracker-0")
    assert table.name_of(pair.public) == "tracker-0" and table.role("tracker-0") == "tracker"
    again = Enrolment.load(tmp_path / "keys")  # another process reads the same table
    assert again.public_key("broker") == load_keypair(tmp_path / "keys", "broker").public
    with pytest.raises(EnrolmentError, match="duplicate name"):
        again.add("tracker-0", "tracker", Keypair.generate().public)
    secret.chmod(0o644)
    with pytest.raises(EnrolmentError, match="must be 0600"):
        load_keypair(tmp_path / "keys", "tracker-0")


def test_a_peer_enrolled_later_by_another_process_is_seen_on_a_miss(tmp_path):
    reader = Enrolment.load(enrol_all(tmp_path, {"a": "consumer"}).keys_dir)
    late = enrol(tmp_path, "joiner", "generator")  # written by another Enrolment, as the bootstrap would
    assert reader.name_of(late.public) == "joiner"


def test_a_joined_peer_has_its_role_and_membership_on_a_miss_without_a_key_lookup_first(tmp_path):
    """The roster asks role()/joined() by name: in a shared scowl-node the bootstrap's table
    enrols a joiner and the broker's table (another object) must see it without a whois."""
    keys = enrol_all(tmp_path, {"bootstrap": "bootstrap", "broker": "broker"}).keys_dir
    brokers = Enrolment.load(keys)
    Enrolment.load(keys).add("windco", "generator", Keypair.generate().public, joined=True)  # the bootstrap's
    assert brokers.role("windco") == "generator" and brokers.joined("windco")
    assert brokers.role("nobody") is None and not brokers.joined("nobody")


async def test_zap_user_id_is_the_enrolled_name_and_unknown_keys_are_refused(tmp_path, zctx):
    table = enrol_all(tmp_path, {"server": "broker", "client": "consumer"})
    auth = authority_for(zctx, table)
    server_keys, client_keys, outsider = load_keypair(tmp_path, "server"), load_keypair(tmp_path, "client"), Keypair.generate()
    router = zctx.socket(zmq.ROUTER)
    router.curve_server = True
    router.curve_publickey, router.curve_secretkey = server_keys.public, server_keys.secret
    router.zap_domain = (ZAP_DOMAIN_PREFIX + "server").encode()
    port = router.bind_to_random_port("tcp://127.0.0.1")
    socks = []
    for pair, rid in ((client_keys, b"client"), (outsider, b"mallory")):
        s = zctx.socket(zmq.DEALER)
        s.curve_publickey, s.curve_secretkey, s.curve_serverkey = pair.public, pair.secret, server_keys.public
        s.routing_id = rid
        s.connect(f"tcp://127.0.0.1:{port}")
        socks.append(s)
    try:
        for s in socks:
            await s.send(b"hi")
        frames = await asyncio.wait_for(router.recv_multipart(copy=False), 5)
        assert frames[1].get("User-Id") == "client"
        await asyncio.sleep(0.3)
        assert not await router.poll(200)  # the outsider's message never arrives
        refused = auth.refused_by("server")
        assert list(refused) == ["key:" + outsider.public.decode()[:8]] and refused[next(iter(refused))] >= 1
    finally:
        for s in [router, *socks]:
            s.close(linger=0)
        stop_authority(zctx)
