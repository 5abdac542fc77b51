"""One actor's identity on its sockets: CURVE keys on every tcp and ipc socket it opens.

Servers (its ROUTER, its PUB) present its key and ask the context's ZAP authority about each
client, under the actor's name as ZAP domain. Clients (its DEALER links, its SUB sockets) present
its key and pin the enrolled key of the peer they connect to, so whatever arrives on a link comes
from that peer. inproc sockets (one process, no wire) get no keys: ZeroMQ runs no handshake there."""

from __future__ import annotations

from pathlib import Path

import zmq

from scowl.security.keys import Enrolment, Keypair, load_keypair
from scowl.security.zap import (
    OPEN_DOMAIN_PREFIX,
    ZAP_DOMAIN_PREFIX,
    Authority,
    Resolver,
    authority_for,
)


def needs_keys(address: str) -> bool:
    return address.startswith(("tcp://", "ipc://"))


class Credentials:
    def __init__(self, name: str, keypair: Keypair, enrolment: Enrolment, open_door: bool = False) -> None:
        self.name = name
        self.open_door = open_door  # unenrolled keys get in (as "key:..."), for joining: the bootstrap of a run that takes joiners
        self.keypair = keypair
        self.enrolment = enrolment
        self.authority: Authority | None = None
        self.resolver: Resolver | None = None  # asks the bootstrap about a joiner's key (scowl.security.equip)

    @classmethod
    def load(cls, keys_dir: str | Path, name: str, enrolment: Enrolment | None = None, open_door: bool = False) -> Credentials:
        return cls(name, load_keypair(keys_dir, name), enrolment if enrolment is not None else Enrolment.load(keys_dir),
                   open_door)

    def server(self, sock: zmq.Socket, ctx: zmq.Context) -> None:
        """Make `sock` a CURVE server guarded by ZAP (before it binds)."""
        self.authority = authority_for(ctx, self.enrolment)
        if self.authority.resolver is None:
            self.authority.resolver = self.resolver
        self.authority.serves_bootstrap |= self.open_door
        sock.curve_server = True
        sock.curve_publickey = self.keypair.public
        sock.curve_secretkey = self.keypair.secret
        sock.zap_domain = ((OPEN_DOMAIN_PREFIX if self.open_door else ZAP_DOMAIN_PREFIX) + self.name).encode()

    def client(self, sock: zmq.Socket, peer: str) -> None:
        """Make `sock` a CURVE client that talks only to the holder of `peer`'s enrolled key."""
        sock.curve_serverkey = self.enrolment.public_key(peer)
        sock.curve_publickey = self.keypair.public
        sock.curve_secretkey = self.keypair.secret

    def refused(self) -> dict[str, int]:
        """Handshakes the ZAP authority refused at this actor's servers, by key prefix."""
        return self.authority.refused_by(self.name) if self.authority is not None else {}
