"""Local links: actors of one process reach each other over inproc, without CURVE.

An actor whose ROUTER listens on tcp or ipc also binds a second ROUTER, its *local* one, at
`inproc://scowl-local/<name>` in its node's ZeroMQ context, and offers it here. A peer of the
same process that connects to it (Links.connect: the address it was given is the one this
actor bound) opens its DEALER to the local ROUTER instead: same messages, same decoding,
validation, authorization and link counters, but no encryption and no kernel copy (on ipc
every byte was CURVE-encrypted and decrypted by the process's one ZeroMQ I/O thread: a
5.5 MB report cost 20 ms of CPU there, 1.7 ms without CURVE; about half of a whole-state
day's report bytes pass between actors of one process).

Why it is as safe as the CURVE link it replaces (docs/protocol.md, section 6):
- An inproc endpoint exists only inside its ZeroMQ context, that is inside this process: no
  socket of another process (or host) can connect to it, whatever keys it holds. The local
  ROUTER has no other endpoint.
- The directory below is a dict of this process's memory, keyed by context: a peer learns a
  local address only from it, never from the wire, and only for an actor of its own context.
- The sender of what arrives on the local ROUTER is its connection's routing id, which the
  runtime sets to the connecting actor's own name (Links.connect); the envelope must name the
  same sender (`spoofed` otherwise). Code that could pick another routing id here runs in the
  same process as the actors' secret keys, which it could read anyway: CURVE never separated
  actors of one process. So a second local connection under a routing id in use takes the
  route (an actor restarted in this process), as the same key does on the CURVE ROUTER.
- Everything after the sender (the role table, value checks, reply matching) is the same
  code for both ROUTERs; a remote peer still reaches the actor only on its CURVE ROUTER,
  named by its enrolled key.
"""

from __future__ import annotations

import os
import weakref
from typing import Any, Protocol

import zmq

PREFIX = "inproc://scowl-local/"
# SCOWL_LOCAL_LINKS=0: every link crosses its tcp/ipc socket as before (to measure the difference)
ENABLED = os.environ.get("SCOWL_LOCAL_LINKS", "1") != "0"

# context -> actor name -> (the address its main ROUTER bound, its local address)
_OFFERED: weakref.WeakKeyDictionary[zmq.Context[Any], dict[str, tuple[str, str]]] = weakref.WeakKeyDictionary()
# context -> actor name -> the actors of this context that opened a local link to it: told when it
# offers its endpoint again (libzmq's inproc does not reconnect to a ROUTER bound anew)
_LINKED: weakref.WeakKeyDictionary[zmq.Context[Any], dict[str, weakref.WeakSet[Linker]]] = weakref.WeakKeyDictionary()


class Linker(Protocol):
    def local_peer_offered(self, peer: str, bound: str) -> None: ...


def wanted(address: str | None) -> bool:
    """A local ROUTER is worth binding beside a ROUTER on a wire (tcp, ipc); an inproc one is
    local already."""
    return ENABLED and address is not None and address.startswith(("tcp://", "ipc://"))


def address_of(name: str) -> str:
    return PREFIX + name


def offer(ctx: zmq.Context[Any], name: str, bound: str) -> None:
    """`name`, whose main ROUTER bound `bound`, takes local links in this context. When it
    offers again (stopped and started anew in this process), the actors linked to it before
    open their link again (`Linker.local_peer_offered`)."""
    _OFFERED.setdefault(ctx, {})[name] = (bound, address_of(name))
    for actor in list(_LINKED.get(ctx, {}).get(name, ())):
        actor.local_peer_offered(name, bound)


def linked(ctx: zmq.Context[Any], name: str, actor: Linker) -> None:
    """`actor` opened a local link to `name` (held weakly: a stopped actor is forgotten)."""
    _LINKED.setdefault(ctx, {}).setdefault(name, weakref.WeakSet()).add(actor)


def withdraw(ctx: zmq.Context[Any], name: str) -> None:
    here = _OFFERED.get(ctx)
    if here is not None:
        here.pop(name, None)


def find(ctx: zmq.Context[Any], name: str, address: str) -> str | None:
    """The local address of `name` when it is an actor of this context whose main ROUTER is at
    `address` (the address the caller was given for it), else None: connect as usual."""
    here = _OFFERED.get(ctx)
    got = None if here is None else here.get(name)
    if got is None or got[0] != address:
        return None
    return got[1]
