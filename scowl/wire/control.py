"""Runtime control messages: handshakes, subscription sync, liveness probes, stats, stop, failure."""

from __future__ import annotations

from typing import ClassVar

from scowl.wire.batch import Batch
from scowl.wire.codec import Message, message


@message("failure")
class Failure(Message, frozen=True):
    """Reply sent when a request's handler raised: the asker gets RemoteError, the actor goes on."""

    error: str
    detail: str


@message("hello")
class Hello(Message, frozen=True):
    """Readiness handshake on a new link: answered with Welcome once the link carries traffic."""

    role: str
    address: str = ""


@message("welcome")
class Welcome(Message, frozen=True):
    role: str


@message("sync-probe")
class SyncProbe(Message, frozen=True):
    """Published until every expected subscriber acknowledged it: no slow-joiner losses."""

    token: int


@message("sync-ack")
class SyncAck(Message, frozen=True):
    token: int


@message("ping")
class Ping(Message, frozen=True):
    n: int
    payload: bytes = b""


@message("pong")
class Pong(Message, frozen=True):
    n: int


@message("stats-request")
class StatsRequest(Message, frozen=True):
    pass


@message("stats-reply")
class StatsReply(Message, frozen=True):
    received: int
    logical: int
    rejected: int
    failed: int


@message("stop")
class Stop(Message, frozen=True):
    """Ask an actor (or a whole node, when sent to its control actor) to stop cleanly."""

    reason: str = ""


@message("values-batch")
class ValuesBatch(Batch, frozen=True):
    """Demo/benchmark batch: one float32 value per 128-bit consumer id."""

    COLUMNS: ClassVar = (("ids", "id128"), ("values", "<f4"))
    n: int
    ids: bytes
    values: bytes


@message("reject")
class Reject(Message, frozen=True):
    """The reply to a frame that could not be accepted (scowl.wire.REJECT_REASONS): sent where
    the sender asked (`ask`) and its envelope could be read; otherwise at most once per sender
    and reason, with reply_to 0. `type` is the offending frame's type when known."""

    reason: str
    detail: str
    type: str = ""


@message("whois")
class Whois(Message, frozen=True):
    """A peer -> bootstrap: whose is this CURVE public key (Z85)? Asked by a server whose own
    copy of the enrolment table does not know a client key (a peer that joined the running
    grid, enrolled on the bootstrap's host only). Answered with `enrolled`."""

    public_key: str


@message("enrolled")
class Enrolled(Message, frozen=True):
    """Bootstrap -> asker: `public_key` is enrolled under `name` as `role` by a join (or an
    operator's approval) of this run; `name` "" when it is not. Trusted only as the bootstrap's
    reply to a `whois` on a link that pins the bootstrap's key."""

    public_key: str
    name: str = ""
    role: str = ""


@message("gone")
class Gone(Message, frozen=True):
    """Metronome -> everyone (PUB), beside `tick`: the connections of these peers closed during
    tick `tick` (their process died or was killed): wait for them no longer this tick, as for a
    peer that missed its deadline. Not dead: a peer not back within the grace is named in a
    later tick's `left`."""

    tick: int
    names: list[str]
