"""Peers with identities: CURVE keys and the enrolment table (keys), ZAP on the asyncio loop
(zap), an actor's identity on its sockets (credentials), who may send what (policy) and the
value checks every message passes where it enters (values).

The runtime applies four guards to every frame it receives, in this order; each can be
switched off for a test that shows what it stops (RunPlan.guards_off, never in a real run):

    sender   the envelope's sender must be the authenticated peer ("spoofed")
    values   NaN, infinities and out-of-range numbers ("invalid_value")
    roles    the authorization table: roles and owner rules (policy.RULES)
    replies  a reply must come from the peer the request went to ("reply_mismatch")
"""

from scowl import wire
from scowl.security.credentials import Credentials, needs_keys
from scowl.security.keys import (
    Enrolment,
    EnrolmentError,
    Keypair,
    enrol,
    enrol_all,
    enrol_plan,
    load_keypair,
)
from scowl.security.policy import RULES, Roster, authorize
from scowl.security.values import check as check_values
from scowl.security.zap import Resolver

GUARDS = frozenset({"sender", "values", "roles", "replies"})

__all__ = ["GUARDS", "RULES", "Credentials", "Enrolment", "EnrolmentError", "Keypair", "Roster", "authorize", "ask_bootstrap",
           "check_values", "enrol", "enrol_all", "enrol_plan", "equip", "load_keypair", "needs_keys"]


def equip(actors, plan) -> None:
    """Give a run's actors their identities: who is who (the roster), their CURVE keys when
    the plan has a key directory, and the guards the plan leaves on."""
    unknown = set(plan.guards_off) - GUARDS
    if unknown:
        raise ValueError(f"guards_off: unknown guards {sorted(unknown)} (guards: {', '.join(sorted(GUARDS))})")
    enrolment = Enrolment.load(plan.keys_dir) if plan.keys_dir else None
    roster = Roster(plan, enrolment)
    for actor in actors:
        actor.roster = roster
        actor.guards = GUARDS - set(plan.guards_off)
        if enrolment is not None:  # the bootstrap of a run that takes joiners lets unenrolled keys ask to join
            open_door = actor.role == "bootstrap" and bool(getattr(plan, "join_token", ""))
            actor.credentials = Credentials.load(plan.keys_dir, actor.name, enrolment, open_door)
            if actor.role != "bootstrap" and getattr(plan, "join_token", "") and plan.bootstrap:
                actor.credentials.resolver = ask_bootstrap(actor, plan.bootstrap)


def ask_bootstrap(actor, address: str, timeout: float = 2.0) -> Resolver:
    """A resolver for the ZAP authority of `actor`'s process: whose is a client key this host's
    table lacks? Asked of the bootstrap as a request on `actor`'s link to it, which pins the
    bootstrap's key; only its `enrolled` reply to this very request counts (the replies and
    roles guards), so no other peer can enrol a key here."""

    async def whois(key: str) -> tuple[str, str] | None:
        await actor.connect("bootstrap", address, timeout=timeout)
        reply = await actor.request("bootstrap", wire.Whois(key), timeout=timeout, reply=wire.Enrolled)
        return (reply.name, reply.role) if reply.name and reply.public_key == key else None

    return whois
