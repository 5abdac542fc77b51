"""Open membership: the run's join token and the per-peer tickets derived from it. Pure
functions, no sockets.

`scowl run` draws a join token (128 random bits, hex) into the run plan and prints it. A peer
the plan does not name shows the token to the bootstrap once (`join`); the bootstrap answers
with a ticket, HMAC-SHA256(token, name | role | public key), which the peer shows the broker
(`peer-register`) and the metronome (`ready`). They hold the plan, so they check it without
asking the bootstrap, and the token itself travels only once. With CURVE on, the public key
in the ticket ties the admission to the key the peer authenticates with."""

from __future__ import annotations

import hashlib
import hmac
import secrets

#: Roles a peer may join a running grid as: generator fleets (their generators go to the
#: trackers of their buckets). Trackers and consumer populations are fixed by the plan (the
#: bucket table and the consumer id space are laid out before tick 0).
JOINABLE_ROLES = ("generator",)


def new_token() -> str:
    """A fresh join token: a secret, not a simulation draw (so not from scowl.streams)."""
    return secrets.token_hex(16)


def ticket(token: str, name: str, role: str, public_key: str = "") -> str:
    return hmac.new(token.encode(), f"{name}\0{role}\0{public_key}".encode(), hashlib.sha256).hexdigest()


def ticket_ok(token: str, presented: str, name: str, role: str, public_key: str = "") -> bool:
    """Whether `presented` is the ticket of this name and role (constant-time compare)."""
    return bool(token) and hmac.compare_digest(ticket(token, name, role, public_key), presented)


def join_refusal(token: str, presented_token: str, name: str, role: str, taken: set[str]) -> str:
    """Why a `join` is refused ("" when it is admitted)."""
    if not token:
        return "this run takes no joins (its plan has no join token)"
    if not hmac.compare_digest(token.encode(), presented_token.encode()):
        return "bad join token (use the token `scowl run` printed, also in RUN/join.json)"
    if role not in JOINABLE_ROLES:
        return f"role {role!r} cannot join a running grid (only {', '.join(JOINABLE_ROLES)} fleets can)"
    if not name or len(name.encode()) > 64 or name == "*":
        return f"bad name {name[:64]!r}: 1 to 64 bytes, not '*'"
    if name in taken:
        return f"duplicate name: {name!r} is already a peer of this run"
    return ""
