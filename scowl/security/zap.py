"""ZAP on the asyncio loop: which CURVE clients a process's servers accept, and as whom.

One authenticator serves a ZeroMQ context (ZAP is bound per context at inproc://zeromq.zap.01),
so every ROUTER and PUB socket of every actor of the process is guarded by it. A client key is
accepted only when it is enrolled; the connection's User-Id (each received message's "User-Id"
property) is then the enrolled peer *name*, so the runtime takes a message's sender from the
authenticated key and never from a field the sender wrote. Each server socket sets its ZAP
domain to its actor's name, so refused handshakes are counted per actor.

A key neither in memory nor in this host's copy of the table may be a peer that joined the
running grid, enrolled on the bootstrap's host only (a multi-host deployment). The authority
then asks its `resolver` (the bootstrap, over a link pinning the bootstrap's key: `whois` ->
`enrolled`) and takes the answer into this process's table. Nothing the client itself says
counts; an unknown answer is remembered for UNKNOWN_FOR_S, so a stranger's key cannot make
every handshake a question to the bootstrap.
"""

from __future__ import annotations

import collections
import logging
import time
from collections.abc import Awaitable, Callable

import zmq
import zmq.asyncio
from zmq.auth.asyncio import AsyncioAuthenticator
from zmq.utils import z85

from scowl.security.keys import Enrolment, EnrolmentError

log = logging.getLogger("scowl.security")

ZAP_DOMAIN_PREFIX = "scowl:"
OPEN_DOMAIN_PREFIX = "scowl-open:"  # a server that lets unenrolled keys in (the bootstrap, for joiners)
UNENROLLED = "key:"  # User-Id prefix of an unenrolled key let in at an open server: "key:" + its Z85
UNKNOWN_FOR_S = 5.0  # a key the bootstrap said it does not know is refused without asking again for this long

#: asks the bootstrap whose a Z85 public key is: (name, role) of a peer enrolled by a join, or None
Resolver = Callable[[str], Awaitable[tuple[str, str] | None]]


class _Authenticator(AsyncioAuthenticator):
    def __init__(self, ctx: zmq.Context, authority: Authority) -> None:
        super().__init__(ctx, log=logging.getLogger("scowl.zap"))
        self.authority = authority

    async def _authenticate_curve(self, domain: str, client_key: bytes) -> tuple[bool, bytes]:
        """An enrolled key passes; anything else is refused and counted for the actor whose
        socket was asked (its ZAP domain)."""
        key = z85.encode(client_key)
        try:
            name = self.authority.enrolment.name_of(key)
        except EnrolmentError as exc:  # a broken table refuses everyone rather than anyone
            log.error("enrolment table unreadable: %s", exc)
            name = None
        actor = domain.removeprefix(OPEN_DOMAIN_PREFIX).removeprefix(ZAP_DOMAIN_PREFIX)
        if name is None and not domain.startswith(OPEN_DOMAIN_PREFIX):
            name = await self.authority.resolve(key.decode("ascii"))
        if name is None and domain.startswith(OPEN_DOMAIN_PREFIX):
            self.authority.let_in(actor, UNENROLLED + key.decode("ascii"))
            return True, b"OK"  # known as "key:...": the authorization table lets it say only what joining needs
        if name is None:
            self.authority.refused[(actor, "key:" + key.decode("ascii")[:8])] += 1
            return False, b"not enrolled"
        self.authority.let_in(actor, name)
        return True, b"OK"

    def curve_user_id(self, client_public_key: bytes) -> str:
        key = z85.encode(client_public_key)
        name = self.authority.enrolment.name_of(key)
        return name if name is not None else UNENROLLED + key.decode("ascii")


class Authority:
    """The ZAP handler of one context, and what it refused: (actor, "key:PREFIX") -> count."""

    def __init__(self, ctx: zmq.Context, enrolment: Enrolment) -> None:
        self.enrolment = enrolment
        self.refused: collections.Counter = collections.Counter()
        self.handshakes: dict[tuple[str, str], collections.deque[float]] = {}  # (actor, peer) -> when it last got in
        self.resolver: Resolver | None = None  # asks the bootstrap about a key this host's table lacks
        self.serves_bootstrap = False  # the bootstrap runs in this context: its table is the file, nothing to ask
        self.learnt: dict[str, str] = {}  # name -> Z85 key, learnt from the bootstrap
        self._unknown: dict[str, float] = {}  # Z85 key -> until when the bootstrap's "unknown" stands (monotonic)
        self._auth = _Authenticator(ctx, self)
        self._auth.start()

    async def resolve(self, key: str) -> str | None:
        """The name of a key this host's table lacks, as the bootstrap answers (None: unknown,
        or no resolver). The answer is learnt into the table: role, key, joined."""
        now = time.monotonic()
        # with the bootstrap in this context, asking it would wait for this very ZAP handler
        if self.resolver is None or self.serves_bootstrap or self._unknown.get(key, 0.0) > now:
            return None
        try:
            found = await self.resolver(key)
        except Exception as exc:  # the bootstrap unreachable: refuse, and do not stall every handshake on it
            log.warning("whois %s... at the bootstrap failed: %s", key[:8], exc)
            found = None
        if found is None:
            if len(self._unknown) > 10_000:
                self._unknown = {k: t for k, t in self._unknown.items() if t > now}
            self._unknown[key] = now + UNKNOWN_FOR_S
            return None
        name, role = found
        try:
            self.enrolment.learn(name, role, key.encode("ascii"))
        except EnrolmentError as exc:
            log.error("the bootstrap's answer for key %s... does not fit this host's table: %s", key[:8], exc)
            return None
        self.learnt[name] = key
        log.info("learnt %s (%s) from the bootstrap: enrolled by a join", name, role)
        return name

    def let_in(self, actor: str, peer: str) -> None:
        self.handshakes.setdefault((actor, peer), collections.deque(maxlen=4)).append(time.monotonic())

    def got_in_since(self, actor: str, peer: str, since: float) -> bool:
        """Whether `peer` completed a handshake at `actor`'s servers after `since` (monotonic)."""
        return any(t > since for t in self.handshakes.get((actor, peer), ()))

    def refused_by(self, actor: str) -> dict[str, int]:
        return {who: n for (domain, who), n in self.refused.items() if domain == actor}

    def stop(self) -> None:
        self._auth.stop()


_AUTHORITIES: dict[int, Authority] = {}


def authority_for(ctx: zmq.Context, enrolment: Enrolment) -> Authority:
    """The context's authority, started on first use (inside the running loop)."""
    auth = _AUTHORITIES.get(id(ctx))
    if auth is None or auth._auth.zap_socket is None or auth._auth.zap_socket.closed:
        auth = _AUTHORITIES[id(ctx)] = Authority(ctx, enrolment)
    return auth


def stop_authority(ctx: zmq.Context) -> None:
    auth = _AUTHORITIES.pop(id(ctx), None)
    if auth is not None:
        auth.stop()
