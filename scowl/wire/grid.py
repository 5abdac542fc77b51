"""The grid protocol: registration, directory, placement and the per-tick messages of a day.

Units: power in MW (float64 for generators, float32 per consumer), ticks as ints.
Generator ids are signed 32-bit MurmurHash3 values; consumer ids are 128-bit.
Every per-tick message carries the tick in the envelope AND in the body, so an actor can
check it and a late message is recognised as late.
"""

from __future__ import annotations

from typing import ClassVar

from scowl.wire.batch import Batch, CompactIds
from scowl.wire.codec import Message, message


@message("generator-join")
class GeneratorJoin(Message, frozen=True):
    """Generator -> bootstrap: issue my 32-bit id (the server draws the nonce)."""

    name: str
    address: str


@message("generator-id")
class GeneratorId(Message, frozen=True):
    gen_id: int
    nonce: str


@message("consumer-join")
class ConsumerJoin(Message, frozen=True):
    """Population -> bootstrap: issue 128-bit ids for my `count` consumers starting at global
    index `first` (ids are (hi, lo): hi drawn by the server per population, lo = global index)."""

    population: str
    first: int
    count: int


@message("consumer-ids")
class ConsumerIds(Message, frozen=True):
    hi: int
    first: int
    count: int


@message("peer-register")
class PeerRegister(Message, frozen=True):
    """Any actor -> broker: put me in the directory (role, ROUTER and PUB addresses)."""

    name: str
    role: str
    address: str
    pub_address: str = ""
    bucket: int = -1  # trackers: the bucket they own
    ticket: str = ""  # a peer the run plan does not name: the ticket the bootstrap's `joined` gave it


@message("registered")
class Registered(Message, frozen=True):
    ok: bool
    detail: str = ""


@message("directory-query")
class DirectoryQuery(Message, frozen=True):
    role: str = ""  # empty: every role


@message("directory")
class Directory(Message, frozen=True):
    names: list[str]
    roles: list[str]
    addresses: list[str]
    pub_addresses: list[str]


@message("locate")
class Locate(Message, frozen=True):
    """Fleet -> broker: which tracker owns each of these generators (by hash bucket, or by
    load zone under [trackers] assign = "zone": then `zones` gives each one's zone index)?
    Nameplates let the broker weigh regions when it places consumers."""

    gen_ids: list[int]
    nameplate_mw: list[float]
    zones: list[int] = []


@message("located")
class Located(Message, frozen=True):
    trackers: list[str]
    buckets: list[int]


@message("place-consumers")
class PlaceConsumers(Message, frozen=True):
    """Population -> broker: which tracker manages each of my consumers at first?"""

    population: str
    count: int


@message("placement")
class Placement(Message, frozen=True):
    """Contiguous runs of the population's consumers, one per tracker, in order."""

    trackers: list[str]
    counts: list[int]


@message("routing-query")
class RoutingQuery(Message, frozen=True):
    pass


@message("routing-table")
class RoutingTable(Message, frozen=True):
    buckets: list[int]
    low: list[int]  # inclusive, signed 32-bit
    high: list[int]  # exclusive
    trackers: list[str]
    generators: list[int]  # generators located per bucket
    capacity_mw: list[float]


@message("generators-register")
class GeneratorsRegister(Batch, frozen=True):
    """Fleet -> tracker: these generators are yours."""

    COLUMNS: ClassVar = (("gen_ids", "<i4"), ("nameplate_mw", "<f8"), ("min_mw", "<f8"), ("ramp_mw", "<f8"),
                         ("kind", "<u1"), ("type_code", "<u1"))
    n: int
    gen_ids: bytes
    nameplate_mw: bytes
    min_mw: bytes
    ramp_mw: bytes
    kind: bytes
    type_code: bytes
    zone: bytes = b""  # NYISO load zone of each generator (uint8, 0 = A .. 10 = K), or empty (EV hubs: none)

    def __post_init__(self) -> None:
        super().__post_init__()
        if len(self.zone) not in (0, self.n) or (self.zone and max(self.zone) > 10):
            raise ValueError(f"zone: expected {self.n} zone indices 0..10 (or none), found {len(self.zone)} bytes")


@message("consumers-register")
class ConsumersRegister(Batch, frozen=True):
    """Population -> tracker: these consumers are yours (with their current demand)."""

    COLUMNS: ClassVar = (("ids", "id128"), ("demand_mw", "<f4"))
    n: int
    ids: bytes
    demand_mw: bytes


@message("tick")
class Tick(Message, frozen=True):
    """Metronome -> everyone (PUB): tick `tick` begins; `seconds` since the day's start."""

    tick: int
    seconds: float
    last: bool = False
    joined: list[str] = []  # peers counted from this tick on (they joined the running grid)
    joined_roles: list[str] = []  # their roles, in the same order
    left: list[str] = []  # peers gone from this tick on (they sent `leave`, or the metronome declared them dead)


@message("ready")
class Ready(Message, frozen=True):
    """Actor -> metronome: registered, linked and subscribed; count me in."""

    name: str
    role: str
    ticket: str = ""  # a peer the run plan does not name: the ticket the bootstrap's `joined` gave it


@message("tick-done")
class TickDone(Message, frozen=True):
    """Actor -> metronome: my part of the tick is done; `figures` go to the state log."""

    tick: int
    role: str
    figures: dict[str, float]


@message("gen-status")
class GenStatus(Batch, frozen=True):
    """Fleet -> tracker, once per tick: each generator's available output (what it could give
    if asked: for continuous units the availability cap, not the setpoint), its actual
    setpoint (continuous units and EV hubs; the truth the tracker dispatches from), the load it
    carried last tick and, for EV hubs, the charge it could take this tick (MW; 0 for every
    other kind). An empty batch still says 'nothing changed'."""

    COLUMNS: ClassVar = (("gen_ids", "<i4"), ("output_mw", "<f8"), ("setpoint_mw", "<f8"), ("load_mw", "<f8"),
                         ("charge_mw", "<f8"))
    tick: int
    n: int
    gen_ids: bytes
    output_mw: bytes
    setpoint_mw: bytes
    load_mw: bytes
    charge_mw: bytes


@message("demand-report")
class DemandReport(CompactIds, frozen=True):
    """Population -> tracker, once per tick: consumers whose demand moved past the report
    threshold since they last reported (MW). Compact form (what Scowl's populations send):
    `ids` empty, `hi` every id's high word, `lo` their low words as n x uint32 LE."""

    COLUMNS: ClassVar = (("ids", "id128"), ("demand_mw", "<f4"))
    tick: int
    n: int
    ids: bytes
    demand_mw: bytes
    hi: int = 0
    lo: bytes = b""


@message("assign")
class Assign(CompactIds, frozen=True):
    """Tracker -> population, once per tick: consumers whose generator changed (gen id, or
    STARVED_ID when disconnected and starved). The sender is now each consumer's tracker.
    `seq` 0: the tick's round (one per tick, awaited). Real-time pacing only, `seq` k > 0: the
    k-th continuous round since the tracker's round of `tick`: followed, in arrival order,
    right after that tick's assignments (when the population follows `tick` or a later one).
    The last `handed` entries (STARVED_ID) are starved consumers I handed to a peer tracker this
    tick: any other tracker's word about one of them in its Assign of the same tick wins,
    whatever the sender order (the peer took it); without one it stays starved, with me. Compact
    form (trackers send it when all ids share a high word): `ids` empty, `hi`, `lo` n x uint32 LE."""

    COLUMNS: ClassVar = (("ids", "id128"), ("gen_ids", "<i4"))
    tick: int
    n: int
    ids: bytes
    gen_ids: bytes
    seq: int = 0
    handed: int = 0
    hi: int = 0
    lo: bytes = b""


@message("tree-delta")
class TreeDelta(CompactIds, frozen=True):
    """Tracker -> fleet: changes to generators' distribution trees (consumer -> gen id, or STARVED_ID when it left), so each
    generator holds its own copy of its tree; several a tick, applied in the order sent. Compact form as an Assign's."""

    COLUMNS: ClassVar = (("ids", "id128"), ("gen_ids", "<i4"))
    tick: int
    n: int
    ids: bytes
    gen_ids: bytes
    hi: int = 0
    lo: bytes = b""


@message("setpoints")
class Setpoints(Batch, frozen=True):
    """Tracker -> fleet, once per tick and after its TreeDelta: dispatch of continuous generators (MW). Also the end-of-orders marker for the tick."""

    COLUMNS: ClassVar = (("gen_ids", "<i4"), ("setpoint_mw", "<f8"))
    tick: int
    n: int
    gen_ids: bytes
    setpoint_mw: bytes


@message("draw")
class Draw(Batch, frozen=True):
    """Population -> fleet, once per tick: the power its consumers draw from each generator."""

    COLUMNS: ClassVar = (("gen_ids", "<i4"), ("draw_mw", "<f8"))
    tick: int
    n: int
    gen_ids: bytes
    draw_mw: bytes


@message("verdict")
class Verdict(Message, frozen=True):
    """Fleet -> populations (PUB), once per tick: which generators blacked out (their whole tree is choked this tick) and which warn `capacity_low` / unchoke (partitioned day)."""

    tick: int
    fleet: str
    choked: list[int]
    capacity_low: list[int] = []
    unchoked: list[int] = []


@message("final-query")
class FinalQuery(Message, frozen=True):
    """Metronome -> actor after the last tick: send your whole-run figures."""


@message("final-figures")
class FinalFigures(Message, frozen=True):
    """Actor -> metronome at the end of the run: whole-run figures (starvation spells, etc.)."""

    role: str
    figures: dict[str, float]


STARVED_ID = -(2**31)  # in gen_ids columns: no generator (starved / left the tree)


@message("resync")
class Resync(Batch, frozen=True):
    """Population -> tracker it had lost and hears again: the truth about its consumers
    (demand, and the generator each is on), because what the tracker decided during the
    partition never arrived."""

    COLUMNS: ClassVar = (("ids", "id128"), ("demand_mw", "<f4"), ("gen_ids", "<i4"))
    n: int
    ids: bytes
    demand_mw: bytes
    gen_ids: bytes


# --------------------------------------------------------------------------- open membership


@message("join")
class Join(Message, frozen=True):
    """A peer the run plan does not name -> bootstrap: admit me to the running grid. `token` is
    the run's join token (`scowl run` prints it and writes it to RUN/join.json); `public_key`
    is my CURVE public key (Z85) when the grid is secure, "" otherwise."""

    name: str
    role: str
    token: str
    public_key: str = ""


@message("joined")
class Joined(Message, frozen=True):
    """Bootstrap -> joiner: admitted (`ticket` to show the broker and the metronome, and where
    they are), or refused (`ok` false and `reason` says why)."""

    ok: bool
    reason: str = ""
    ticket: str = ""
    broker: str = ""
    metronome: str = ""
    metronome_pub: str = ""


@message("leave")
class Leave(Message, frozen=True):
    """A fleet -> metronome: I leave the grid. Answered with `registered` (detail "leaves at tick
    N"); the `tick` of tick N lists it in `left`, its trackers rehome its consumers that tick,
    and the metronome asks it `final-query` once more before it goes."""

    name: str
    reason: str = ""
