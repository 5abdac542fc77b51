"""The wire protocol: every message Scowl sends, as typed immutable records, in one place.

A ZeroMQ payload is a *packet*: a MessagePack array of frames, so that the messages one actor
sends to one peer within an event-loop iteration cross the socket together (per-message
socket calls, not encoding, are what limit Python messaging). Each frame inside is one
MessagePack array, the `Envelope`: protocol version, message type, sender,
recipient, sequence number, simulated tick, the request/reply correlation, and the body
(the message's own MessagePack array, kept raw until the type is known). Decoding is two
stages so that every rejection has a precise reason:

    oversized     the frame is larger than MAX_FRAME_BYTES (checked before parsing)
    malformed     not MessagePack, truncated, or not an envelope
    version       an envelope of another protocol version
    unknown_type  a message type this build does not know
    invalid       the body does not match its type's schema (or its own checks)
    misaddressed  the envelope names another recipient
    spoofed       the envelope's sender differs from the transport's identity of the peer
                  (checked by the actor, which knows the socket it came on)

Untrusted bytes never raise out of `decode_frame` as anything but `ProtocolError`.

Batches are first-class: a batch message carries many logical messages as columns
(numpy arrays packed to bytes), e.g. the demand of 100,000 consumers, each keeping its own
128-bit id on the wire; `len(batch)` is the number of logical messages it carries.
"""

from __future__ import annotations

from typing import ClassVar

import msgspec
import numpy as np

from scowl.errors import ProtocolError

PROTOCOL_VERSION = 1
MAX_FRAME_BYTES = 64 * 1024 * 1024
BROADCAST = "*"
REJECT_REASONS = ("oversized", "malformed", "version", "unknown_type", "invalid", "misaddressed", "spoofed")

#: dtype of a 128-bit consumer id on the wire: two little-endian uint64 words (hi, lo)
CONSUMER_ID_DTYPE = np.dtype([("hi", "<u8"), ("lo", "<u8")])


class Envelope(msgspec.Struct, array_like=True, frozen=True):
    """What every frame carries around its body."""

    v: int
    type: str
    sender: str
    recipient: str
    seq: int
    tick: int
    reply_to: int  # seq of the request this answers; 0 when it answers nothing
    ask: bool  # the sender awaits a reply
    body: msgspec.Raw


class Message(msgspec.Struct, array_like=True, frozen=True):
    """Base of every wire message. Subclasses register with @message("type-name")."""

    TYPE: ClassVar[str] = ""


MESSAGE_TYPES: dict[str, type[Message]] = {}
_DECODERS: dict[str, msgspec.msgpack.Decoder] = {}


def message(type_name: str):
    """Register a Message subclass under its wire type name (unique)."""

    def register(cls: type[Message]) -> type[Message]:
        if type_name in MESSAGE_TYPES:
            raise ValueError(f"message type {type_name!r} registered twice ({MESSAGE_TYPES[type_name].__name__}, {cls.__name__})")
        cls.TYPE = type_name
        MESSAGE_TYPES[type_name] = cls
        _DECODERS[type_name] = msgspec.msgpack.Decoder(cls)
        return cls

    return register


# --------------------------------------------------------------------------- batches


def _check_column(name: str, data: bytes, itemsize: int, n: int) -> None:
    if len(data) != itemsize * n:
        raise ValueError(f"column {name}: {len(data)} bytes, expected {itemsize} x {n} = {itemsize * n}")


class Batch(Message):
    """Base of columnar batches: `n` logical messages, one column per field, packed little-endian.

    Subclasses declare COLUMNS = (("field", "dtype"), ...); __post_init__ checks every column's
    length against n, so a mutated batch is rejected as `invalid` instead of misread."""

    COLUMNS: ClassVar[tuple[tuple[str, str], ...]] = ()

    def __post_init__(self) -> None:
        n = self.n  # type: ignore[attr-defined]
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        for name, dtype in self.COLUMNS:
            _check_column(name, getattr(self, name), np.dtype(dtype).itemsize if dtype != "id128" else 16, n)

    def __len__(self) -> int:
        return self.n  # type: ignore[attr-defined]

    def column(self, name: str) -> np.ndarray:
        """A read-only numpy view of one column (no copy)."""
        dtype = dict(self.COLUMNS)[name]
        return np.frombuffer(getattr(self, name), dtype=CONSUMER_ID_DTYPE if dtype == "id128" else np.dtype(dtype))

    @classmethod
    def pack(cls, **columns):
        """Build a batch from numpy arrays (one per declared column) plus any scalar fields."""
        fields = {}
        n = None
        declared = dict(cls.COLUMNS)
        for key, value in columns.items():
            if key in declared:
                dtype = CONSUMER_ID_DTYPE if declared[key] == "id128" else np.dtype(declared[key])
                arr = np.ascontiguousarray(value, dtype=dtype)
                if n is not None and len(arr) != n:
                    raise ValueError(f"{cls.__name__}.pack: column {key} has {len(arr)} rows, expected {n}")
                n = len(arr)
                fields[key] = arr.tobytes()
            else:
                fields[key] = value
        return cls(n=n or 0, **fields)


# --------------------------------------------------------------------------- runtime messages


@message("failure")
class Failure(Message):
    """Reply sent when a request's handler raised: the asker gets RemoteError, the actor goes on."""

    error: str
    detail: str


@message("hello")
class Hello(Message):
    """Readiness handshake on a new link: answered with Welcome once the link carries traffic."""

    role: str
    address: str = ""


@message("welcome")
class Welcome(Message):
    role: str


@message("sync-probe")
class SyncProbe(Message):
    """Published until every expected subscriber acknowledged it: no slow-joiner losses."""

    token: int


@message("sync-ack")
class SyncAck(Message):
    token: int


@message("ping")
class Ping(Message):
    n: int
    payload: bytes = b""


@message("pong")
class Pong(Message):
    n: int


@message("stats-request")
class StatsRequest(Message):
    pass


@message("stats-reply")
class StatsReply(Message):
    received: int
    logical: int
    rejected: int
    failed: int


@message("stop")
class Stop(Message):
    """Ask an actor (or a whole node, when sent to its control actor) to stop cleanly."""

    reason: str = ""


@message("values-batch")
class ValuesBatch(Batch):
    """Demo/benchmark batch: one float32 value per 128-bit consumer id."""

    COLUMNS: ClassVar = (("ids", "id128"), ("values", "<f4"))
    n: int
    ids: bytes
    values: bytes


# --------------------------------------------------------------------------- codec

_ENCODER = msgspec.msgpack.Encoder()
_ENVELOPE_DECODER = msgspec.msgpack.Decoder(Envelope)
_PACKET_DECODER = msgspec.msgpack.Decoder(list[bytes])


def encode_packet(frames: list[bytes]) -> bytes:
    """Frames for one peer, sent as one ZeroMQ message."""
    return _ENCODER.encode(frames)


def decode_packet(data: bytes) -> list[bytes]:
    """Split an untrusted packet into frames; raises only ProtocolError."""
    if len(data) > MAX_FRAME_BYTES:
        raise ProtocolError("oversized", f"{len(data)} bytes > {MAX_FRAME_BYTES}")
    try:
        return _PACKET_DECODER.decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise ProtocolError("malformed", f"not a packet: {exc}") from None
    except Exception as exc:  # noqa: BLE001
        raise ProtocolError("malformed", f"not a packet: {type(exc).__name__}: {exc}") from None


def encode_body(msg: Message) -> bytes:
    return _ENCODER.encode(msg)


def encode_frame(msg: Message, sender: str, recipient: str, seq: int, tick: int = 0, reply_to: int = 0, ask: bool = False) -> bytes:
    """One frame: the envelope with the message's body inside."""
    if not msg.TYPE:
        raise TypeError(f"{type(msg).__name__} is not a registered message type (use @message)")
    return _ENCODER.encode(
        Envelope(PROTOCOL_VERSION, msg.TYPE, sender, recipient, seq, tick, reply_to, ask, msgspec.Raw(_ENCODER.encode(msg)))
    )


def decode_frame(frame: bytes, recipient: str | None = None) -> tuple[Envelope, Message]:
    """Parse and validate an untrusted frame; raises only ProtocolError (with .reason)."""
    if len(frame) > MAX_FRAME_BYTES:
        raise ProtocolError("oversized", f"{len(frame)} bytes > {MAX_FRAME_BYTES}")
    try:
        env = _ENVELOPE_DECODER.decode(frame)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise ProtocolError("malformed", str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - hostile bytes may trip anything in a parser
        raise ProtocolError("malformed", f"{type(exc).__name__}: {exc}") from None
    if env.v != PROTOCOL_VERSION:
        raise ProtocolError("version", f"protocol version {env.v}, this build speaks {PROTOCOL_VERSION}")
    decoder = _DECODERS.get(env.type)
    if decoder is None:
        raise ProtocolError("unknown_type", f"message type {env.type[:64]!r}")
    if recipient is not None and env.recipient not in (recipient, BROADCAST):
        raise ProtocolError("misaddressed", f"for {env.recipient[:64]!r}, this is {recipient!r}")
    try:
        msg = decoder.decode(env.body)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise ProtocolError("invalid", f"{env.type}: {exc}") from None
    except Exception as exc:  # noqa: BLE001
        raise ProtocolError("invalid", f"{env.type}: {type(exc).__name__}: {exc}") from None
    return env, msg


# =========================================================================== grid protocol
# Units: power in MW (float64 for generators, float32 per consumer), ticks as ints.
# Generator ids are signed 32-bit MurmurHash3 values; consumer ids are 128-bit.
# Every per-tick message carries the tick in the envelope AND in the body, so an actor can
# check it and a late message is recognised as late.


@message("generator-join")
class GeneratorJoin(Message):
    """Generator -> bootstrap: issue my 32-bit id (the server draws the nonce)."""

    name: str
    address: str


@message("generator-id")
class GeneratorId(Message):
    gen_id: int
    nonce: str


@message("consumer-join")
class ConsumerJoin(Message):
    """Population -> bootstrap: issue 128-bit ids for my `count` consumers starting at global
    index `first` (ids are (hi, lo): hi drawn by the server per population, lo = global index)."""

    population: str
    first: int
    count: int


@message("consumer-ids")
class ConsumerIds(Message):
    hi: int
    first: int
    count: int


@message("peer-register")
class PeerRegister(Message):
    """Any actor -> broker: put me in the directory (role, ROUTER and PUB addresses)."""

    name: str
    role: str
    address: str
    pub_address: str = ""
    bucket: int = -1  # trackers: the bucket they own


@message("registered")
class Registered(Message):
    ok: bool
    detail: str = ""


@message("directory-query")
class DirectoryQuery(Message):
    role: str = ""  # empty: every role


@message("directory")
class Directory(Message):
    names: list[str]
    roles: list[str]
    addresses: list[str]
    pub_addresses: list[str]


@message("locate")
class Locate(Message):
    """Fleet -> broker: which tracker owns each of these generators (by hash bucket)?
    Nameplates let the broker weigh regions when it places consumers."""

    gen_ids: list[int]
    nameplate_mw: list[float]


@message("located")
class Located(Message):
    trackers: list[str]
    buckets: list[int]


@message("place-consumers")
class PlaceConsumers(Message):
    """Population -> broker: which tracker manages each of my consumers at first?"""

    population: str
    count: int


@message("placement")
class Placement(Message):
    """Contiguous runs of the population's consumers, one per tracker, in order."""

    trackers: list[str]
    counts: list[int]


@message("routing-query")
class RoutingQuery(Message):
    pass


@message("routing-table")
class RoutingTable(Message):
    buckets: list[int]
    low: list[int]  # inclusive, signed 32-bit
    high: list[int]  # exclusive
    trackers: list[str]
    generators: list[int]  # generators located per bucket
    capacity_mw: list[float]


@message("generators-register")
class GeneratorsRegister(Batch):
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


@message("consumers-register")
class ConsumersRegister(Batch):
    """Population -> tracker: these consumers are yours (with their current demand)."""

    COLUMNS: ClassVar = (("ids", "id128"), ("demand_mw", "<f4"))
    n: int
    ids: bytes
    demand_mw: bytes


@message("tick")
class Tick(Message):
    """Metronome -> everyone (PUB): tick `tick` begins; `seconds` since the day's start."""

    tick: int
    seconds: float
    last: bool = False


@message("ready")
class Ready(Message):
    """Actor -> metronome: registered, linked and subscribed; count me in."""

    name: str
    role: str


@message("tick-done")
class TickDone(Message):
    """Actor -> metronome: my part of the tick is done; `figures` go to the state log."""

    tick: int
    role: str
    figures: dict[str, float]


@message("gen-status")
class GenStatus(Batch):
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
class DemandReport(Batch):
    """Population -> tracker, once per tick: consumers whose demand moved past the report
    threshold since they last reported (MW)."""

    COLUMNS: ClassVar = (("ids", "id128"), ("demand_mw", "<f4"))
    tick: int
    n: int
    ids: bytes
    demand_mw: bytes


@message("assign")
class Assign(Batch):
    """Tracker -> population, once per tick: consumers whose generator changed (gen id, or
    STARVED_ID when disconnected and starved). The sender is now each consumer's tracker."""

    COLUMNS: ClassVar = (("ids", "id128"), ("gen_ids", "<i4"))
    tick: int
    n: int
    ids: bytes
    gen_ids: bytes


@message("tree-delta")
class TreeDelta(Batch):
    """Tracker -> fleet: changes to generators' distribution trees (consumer -> gen id, or
    STARVED_ID when it left), so each generator holds its own copy of its tree."""

    COLUMNS: ClassVar = (("ids", "id128"), ("gen_ids", "<i4"))
    tick: int
    n: int
    ids: bytes
    gen_ids: bytes


@message("setpoints")
class Setpoints(Batch):
    """Tracker -> fleet, once per tick and after its TreeDelta: dispatch of continuous
    generators (MW). Also the end-of-orders marker for the tick."""

    COLUMNS: ClassVar = (("gen_ids", "<i4"), ("setpoint_mw", "<f8"))
    tick: int
    n: int
    gen_ids: bytes
    setpoint_mw: bytes


@message("draw")
class Draw(Batch):
    """Population -> fleet, once per tick: the power its consumers draw from each generator."""

    COLUMNS: ClassVar = (("gen_ids", "<i4"), ("draw_mw", "<f8"))
    tick: int
    n: int
    gen_ids: bytes
    draw_mw: bytes


@message("verdict")
class Verdict(Message):
    """Fleet -> populations (PUB), once per tick: which generators blacked out (their whole
    tree is choked this tick) and which warn `capacity_low` / unchoke (partitioned day)."""

    tick: int
    fleet: str
    choked: list[int]
    capacity_low: list[int] = []
    unchoked: list[int] = []


@message("region-summary")
class RegionSummary(Message):
    """Tracker -> peer trackers, once per tick: spare capacity and shortfall of my region."""

    tick: int
    capacity_mw: float
    load_mw: float
    headroom_mw: float
    starved_mw: float
    starved: int


@message("handover")
class Handover(Batch):
    """Tracker -> peer tracker, once per tick: starved consumers I hand you because you had
    spare capacity (empty when none)."""

    COLUMNS: ClassVar = (("ids", "id128"), ("demand_mw", "<f4"))
    tick: int
    n: int
    ids: bytes
    demand_mw: bytes


@message("final-query")
class FinalQuery(Message):
    """Metronome -> actor after the last tick: send your whole-run figures."""


@message("final-figures")
class FinalFigures(Message):
    """Actor -> metronome at the end of the run: whole-run figures (starvation spells, etc.)."""

    role: str
    figures: dict[str, float]


STARVED_ID = -(2**31)  # in gen_ids columns: no generator (starved / left the tree)


@message("resync")
class Resync(Batch):
    """Population -> tracker it had lost and hears again: the truth about its consumers
    (demand, and the generator each is on), because what the tracker decided during the
    partition never arrived."""

    COLUMNS: ClassVar = (("ids", "id128"), ("demand_mw", "<f4"), ("gen_ids", "<i4"))
    n: int
    ids: bytes
    demand_mw: bytes
    gen_ids: bytes
