"""Authorization by role: ONE table, message type -> the roles allowed to send it, and the
owner rule it must pass (a message about an object must come from the object's owner).

The sender is always the authenticated peer (the runtime decides it: ZAP User-Id, or the peer
whose server key we pinned), never a field of the message; its role is the one it was enrolled
with. `authorize(msg, sender, roster)` returns None or (reason, detail); the runtime rejects and
counts the message under that reason, before any handler sees it. Reasons:

    unenrolled    the sender has no role in this run (not enrolled, not in the plan), or is an
                  unenrolled key let in to join (only rules marked `open` accept those)
    unauthorized  its role may not send this message type (e.g. a Stop not from the metronome)
    not_owner     the message is about something the sender does not own (another peer's name,
                  another fleet's verdict, another population's consumers)
    not_member    a per-tick message from a peer that is not a member of this run's day

A message type without a rule is refused (`unauthorized`, "no rule"): a new message type must
say here who may send it (tests/security/test_policy.py checks every registered type has one)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from scowl.security.zap import UNENROLLED

SERVICES = ("bootstrap", "broker", "metronome")
GRID = ("tracker", "generator", "storage", "consumer")
SUPPLY = ("generator", "storage")
ANY = None  # any enrolled peer


class Roster:
    """Who is who in a run: the role of each name (the enrolment table when security is on,
    else the plan), and the plan's shards (which consumers each population owns)."""

    def __init__(self, plan=None, enrolment=None) -> None:
        self.plan = plan
        self.enrolment = enrolment
        self._members = set(plan.names()) | set(SERVICES) if plan is not None else set()
        self._shards = {p.name: p for p in plan.populations} if plan is not None else {}
        self._roles: dict[str, str | None] = {}

    def role(self, name: str) -> str | None:
        if name.startswith(UNENROLLED):
            return None
        if self.enrolment is not None:
            role = self.enrolment.role(name)
            if role is not None:
                return role
        if name in self._roles:
            return self._roles[name]
        role = None
        if self.plan is not None and name in self._members:
            from scowl.plan import role_of

            role = role_of(self.plan, name)
        self._roles[name] = role
        return role

    def is_member(self, name: str) -> bool:
        """A peer of this run's day: the plan's, one added (`add_member`), or a grid peer the
        bootstrap enrolled for a `join` (it showed the join token: scowl.membership). A key
        merely enrolled is not a member."""
        if name in self._members:
            return True
        return self.enrolment is not None and self.enrolment.joined(name) and self.enrolment.role(name) in GRID

    def public_key(self, name: str) -> str:
        """The Z85 public key `name` authenticates with ("" when the run has no keys)."""
        if self.enrolment is None or name not in self.enrolment:
            return ""
        return self.enrolment.public_key(name).decode("ascii")

    def enrolled_as(self, key: str) -> str | None:
        """The name a Z85 public key is enrolled under now (None: not, or no keys)."""
        return self.enrolment.name_of(key.encode("ascii")) if self.enrolment is not None else None

    def add_member(self, name: str) -> None:
        self._members.add(name)

    def owns_consumers(self, name: str, ids: np.ndarray) -> bool:
        """Every consumer id is one of population `name`'s (its global index range in the plan)."""
        return self.owns_indices(name, ids["lo"])

    def owns_indices(self, name: str, lo: np.ndarray) -> bool:
        """Every global index (the ids' low words) is one of population `name`'s consumers."""
        shard = self._shards.get(name)
        if shard is None:
            return lo.size == 0
        if not lo.size or (shard.start <= lo.min() and lo.max() < shard.stop):  # the common case: no n-wide temporaries
            return True
        lo = lo.astype(np.int64)
        n_c = self.plan.n_consumers
        mine = ((lo >= shard.start) & (lo < shard.stop)) | ((lo >= n_c + shard.fixed_start) & (lo < n_c + shard.fixed_stop))
        return bool(mine.all())


Owner = Callable[[object, str, Roster], str | None]


@dataclass(frozen=True)
class Rule:
    roles: tuple[str, ...] | None  # None: any enrolled peer
    owner: Owner | None = None  # returns why the sender does not own what the message is about
    member: bool = False  # only a member of this run's day may send it (per-tick messages)
    open: bool = False  # an unenrolled key let in at an open server (to join) may send it


def _own_name(field: str) -> Owner:
    def rule(msg, sender, roster):
        claimed = getattr(msg, field)
        return None if claimed == sender else f"{field}={claimed[:64]!r} is not the sender {sender!r}"
    return rule


def _own_consumers(msg, sender, roster):
    lo = msg.lo_words() if hasattr(msg, "lo_words") else msg.column("ids")["lo"]  # (wire.CompactIds: no 16-byte ids built)
    return None if roster.owns_indices(sender, lo) else f"consumers of another population (sender {sender!r})"


def _own_consumers_unless_tracker(msg, sender, roster):
    return None if roster.role(sender) == "tracker" else _own_consumers(msg, sender, roster)


def _register(msg, sender, roster):
    """A peer registers (or moves) only its own name, with its own role; the broker alone
    relays another peer's registration (it announces a peer that moved)."""
    if roster.role(sender) == "broker":
        return None
    if msg.name != sender:
        return f"registration of {msg.name[:64]!r} by {sender!r}"
    if msg.role != roster.role(sender):
        return f"{sender!r} registers as role {msg.role[:32]!r}, it is enrolled as {roster.role(sender)!r}"
    return None


def _own_role(msg, sender, roster):
    role = roster.role(sender)
    return None if msg.role == role else f"role {msg.role[:32]!r} claimed, {sender!r} is a {role!r}"


RULES: dict[str, Rule] = {
    # runtime
    "hello": Rule(ANY, open=True), "welcome": Rule(ANY), "failure": Rule(ANY), "ping": Rule(ANY), "pong": Rule(ANY),
    "sync-probe": Rule(ANY), "sync-ack": Rule(ANY), "stats-request": Rule(ANY), "stats-reply": Rule(ANY),
    "values-batch": Rule(ANY), "chunk": Rule(ANY),  # chunks are put together before any rule sees them
    "stop": Rule(("metronome",)),
    # joining: ids, directory, placement
    "generator-join": Rule(SUPPLY), "generator-id": Rule(("bootstrap",)),
    "consumer-join": Rule(("consumer",), _own_name("population")), "consumer-ids": Rule(("bootstrap",)),
    "peer-register": Rule(ANY, _register), "registered": Rule(ANY),
    "directory-query": Rule(ANY), "directory": Rule(("broker",)),
    "locate": Rule(SUPPLY), "located": Rule(("broker",)),
    "place-consumers": Rule(("consumer",), _own_name("population")), "placement": Rule(("broker",)),
    "routing-query": Rule(ANY), "routing-table": Rule(("broker",)),
    "generators-register": Rule(SUPPLY, member=True),
    "consumers-register": Rule(("consumer",), _own_consumers, member=True),
    "ready": Rule(GRID, _own_name("name"), member=True),
    # the day
    "tick": Rule(("metronome",)), "gone": Rule(("metronome",)), "final-query": Rule(("metronome",)),
    "tick-done": Rule(GRID, _own_role, member=True), "final-figures": Rule(GRID + SERVICES, _own_role),
    "gen-status": Rule(SUPPLY, member=True),
    "demand-report": Rule(("consumer",), _own_consumers, member=True),
    "draw": Rule(("consumer",), member=True),
    # a population's truth about its consumers; or a tracker's answer to a restarted population
    "resync": Rule(("consumer", "tracker"), _own_consumers_unless_tracker, member=True),
    "assign": Rule(("tracker",), member=True), "tree-delta": Rule(("tracker",), member=True),
    "setpoints": Rule(("tracker",), member=True),
    "region-summary": Rule(("tracker",), member=True), "handover": Rule(("tracker",), member=True),
    "hub-taken": Rule(("tracker",), member=True),
    "verdict": Rule(SUPPLY, _own_name("fleet"), member=True),
    # open membership (docs/protocol.md section 5): a join comes from a key not yet enrolled
    "join": Rule(ANY, _own_name("name"), open=True), "joined": Rule(("bootstrap",)),
    "leave": Rule(SUPPLY, _own_name("name"), member=True),
    "reject": Rule(ANY),  # the typed answer to a frame that could not be accepted
    # a server on another host than the bootstrap asks whose a client key is (a joiner's)
    "whois": Rule(ANY), "enrolled": Rule(("bootstrap",)),
}


def generator_claim(sender: str, ids: list[int], held: dict[int, str], before: frozenset[int] | None, *,
                    started: bool, planned: bool, plan_owner: Mapping[int, str] | None = None) -> str | None:
    """Why `sender` may not register these generator ids at a tracker (None: it may). A planned
    unit's id belongs to the fleet the plan gives it to (`plan_owner`: id -> fleet,
    scowl.security.units), whoever registers first, and a planned fleet registers only its
    own; a joiner's new ids belong to the fleet that registered them first (a joiner registers
    when it joins); afterwards a fleet registers only the same ids again (it restarted), and a
    planned fleet registers nothing new once the day started. The tracker rejects what this
    refuses as `not_owner`."""
    plan_owner = plan_owner or {}
    theirs = sorted({g for g in ids if plan_owner.get(g, sender) != sender})
    if theirs:
        return f"generators {theirs[:5]} are planned for {plan_owner[theirs[0]][:64]!r}, registered here by {sender[:64]!r}"
    foreign = sorted({g for g in ids if held.get(g, sender) != sender})
    if foreign:
        return f"generators {foreign[:5]} are {held[foreign[0]][:64]!r}'s, registered here by {sender[:64]!r}"
    if before is not None and (frozenset(ids) != before or len(ids) != len(before)):
        return (f"{sender[:64]!r} registered again with other generators ({len(ids)} now, {len(before)} before): "
                "a restarted fleet joins with the ids the bootstrap gave it")
    unplanned = sorted({g for g in ids if g not in plan_owner}) if planned and plan_owner else []
    if unplanned:
        return f"{sender[:64]!r} registers generators the plan does not give it: {unplanned[:5]}"
    if before is None and started and planned and ids:
        return (f"{sender[:64]!r} registers {len(ids)} generators after the day started: a planned fleet registers "
                "before tick 0, and again only the same ids")
    return None


def authorize(type_name: str, msg, sender: str, roster: Roster) -> tuple[str, str] | None:
    """None when `sender` may send `msg`, else (reason, detail)."""
    rule = RULES.get(type_name)
    role = roster.role(sender)
    if role is None and rule is not None and rule.open:  # e.g. a joiner's hello at an open bootstrap
        return None
    if role is None:
        return "unenrolled", f"{sender[:64]!r} has no role in this run"
    if rule is None:
        return "unauthorized", f"no rule says who may send {type_name!r} (scowl.security.policy.RULES)"
    if rule.roles is not None and role not in rule.roles:
        return "unauthorized", f"a {role} may not send {type_name} (only {', '.join(rule.roles)})"
    if rule.member and not roster.is_member(sender):
        return "not_member", f"{type_name} from {sender!r}, not a peer of this run's day"
    if rule.owner is not None:
        why = rule.owner(msg, sender, roster)
        if why is not None:
            return "not_owner", why
    return None
