"""The codec: envelope, packet and frame encoding/decoding, the message registry and the limits.

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
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, TypeVar

import msgspec

from scowl.errors import ProtocolError

PROTOCOL_VERSION = 1
MAX_FRAME_BYTES = 64 * 1024 * 1024
BROADCAST = "*"
REJECT_REASONS = ("oversized", "malformed", "version", "unknown_type", "invalid", "misaddressed", "spoofed")


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


class _Outgoing(msgspec.Struct, array_like=True, frozen=True):
    """An Envelope as it is encoded: the body is the message itself, encoded in the same pass
    (the same bytes as an Envelope whose body is Raw(encode(msg)), without that copy)."""

    v: int
    type: str
    sender: str
    recipient: str
    seq: int
    tick: int
    reply_to: int
    ask: bool
    body: Message


MESSAGE_TYPES: dict[str, type[Message]] = {}
_DECODERS: dict[str, msgspec.msgpack.Decoder[Message]] = {}
#: a frame at least this large is decoded with its bytes fields as read-only views of the
#: received bytes (a batch's columns are not copied; the message keeps the packet alive)
VIEW_MIN_BYTES = 64 * 1024
_VIEW_DECODERS: dict[str, tuple[type[Message], msgspec.msgpack.Decoder[msgspec.Struct]]] = {}

M = TypeVar("M", bound=type[Message])


def message(type_name: str) -> Callable[[M], M]:
    """Register a Message subclass under its wire type name (unique)."""

    def register(cls: M) -> M:
        if type_name in MESSAGE_TYPES:
            raise ValueError(f"message type {type_name!r} registered twice ({MESSAGE_TYPES[type_name].__name__}, {cls.__name__})")
        cls.TYPE = type_name
        MESSAGE_TYPES[type_name] = cls
        _DECODERS[type_name] = msgspec.msgpack.Decoder(cls)
        views = _views_of(cls)
        if views is not None:
            _VIEW_DECODERS[type_name] = (cls, msgspec.msgpack.Decoder(views))
        return cls

    return register


def _views_of(cls: type[Message]) -> type[msgspec.Struct] | None:
    """The same fields as `cls` with `memoryview` for `bytes` (msgspec decodes those as views
    of its input); None when `cls` has no bytes field."""
    fields = msgspec.structs.fields(cls)
    if not any(f.type is bytes for f in fields):
        return None
    spec: list[tuple[str, object] | tuple[str, object, object]] = []
    for f in fields:
        t = memoryview if f.type is bytes else f.type
        if f.default is not msgspec.NODEFAULT:
            spec.append((f.name, t, msgspec.field(default=f.default)))
        elif f.default_factory is not msgspec.NODEFAULT:
            spec.append((f.name, t, msgspec.field(default_factory=f.default_factory)))
        else:
            spec.append((f.name, t))
    return msgspec.defstruct(f"{cls.__name__}Views", spec, array_like=True, frozen=True)


_ENCODER = msgspec.msgpack.Encoder()
_ENVELOPE_DECODER = msgspec.msgpack.Decoder(Envelope)
_PACKET_DECODER = msgspec.msgpack.Decoder(list[bytes])
_PACKET_VIEWS_DECODER = msgspec.msgpack.Decoder(list[memoryview])
_HEAD = 6  # room before a packet's one frame for the packet's header: fixarray(1) + bin32 length


def encode_packet(frames: list[bytes]) -> bytes:
    """Frames for one peer, sent as one ZeroMQ message."""
    return _ENCODER.encode(frames)


def encode_alone(msg: Message, sender: str, recipient: str, seq: int, tick: int = 0, reply_to: int = 0,
                 ask: bool = False) -> tuple[memoryview, memoryview]:
    """A packet holding one frame, built in one buffer: (the packet, the frame inside it), the
    same bytes as encode_packet([encode_frame(...)]) without the frame's copy (for a large
    message: a batch's columns are copied once, into the packet)."""
    if not msg.TYPE:
        raise TypeError(f"{type(msg).__name__} is not a registered message type (use @message)")
    buf = bytearray(_HEAD)
    _ENCODER.encode_into(_Outgoing(PROTOCOL_VERSION, msg.TYPE, sender, recipient, seq, tick, reply_to, ask, msg), buf, _HEAD)
    n = len(buf) - _HEAD
    head = b"\x91" + (b"\xc4" + n.to_bytes(1, "big") if n < 0x100 else b"\xc5" + n.to_bytes(2, "big") if n < 0x10000
                      else b"\xc6" + n.to_bytes(4, "big"))
    start = _HEAD - len(head)
    buf[start:_HEAD] = head
    view = memoryview(buf)
    return view[start:], view[_HEAD:]


def decode_packet(data: bytes | bytearray | memoryview, views: bool = False) -> list[bytes] | list[memoryview]:
    """Split an untrusted packet into frames; raises only ProtocolError. `views`: the frames
    are views of `data`, not copies."""
    if len(data) > MAX_FRAME_BYTES:
        raise ProtocolError("oversized", f"{len(data)} bytes > {MAX_FRAME_BYTES}")
    try:
        return (_PACKET_VIEWS_DECODER if views else _PACKET_DECODER).decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise ProtocolError("malformed", f"not a packet: {exc}") from None
    except Exception as exc:
        raise ProtocolError("malformed", f"not a packet: {type(exc).__name__}: {exc}") from None


def encode_body(msg: Message) -> bytes:
    return _ENCODER.encode(msg)


def encode_frame(msg: Message, sender: str, recipient: str, seq: int, tick: int = 0, reply_to: int = 0, ask: bool = False) -> bytes:
    """One frame: the envelope with the message's body inside."""
    if not msg.TYPE:
        raise TypeError(f"{type(msg).__name__} is not a registered message type (use @message)")
    return _ENCODER.encode(_Outgoing(PROTOCOL_VERSION, msg.TYPE, sender, recipient, seq, tick, reply_to, ask, msg))


def decode_frame(frame: bytes | bytearray | memoryview, recipient: str | None = None,
                 max_bytes: int | None = None) -> tuple[Envelope, Message]:
    """Parse and validate an untrusted frame; raises only ProtocolError (with .reason).
    `max_bytes`: the size limit instead of MAX_FRAME_BYTES (a frame put together from chunks).
    A frame of at least VIEW_MIN_BYTES given as a read-only memoryview decodes its bytes
    fields as views of it: the message keeps `frame`'s buffer alive, and nothing is copied."""
    limit = MAX_FRAME_BYTES if max_bytes is None else max_bytes
    if len(frame) > limit:
        raise ProtocolError("oversized", f"{len(frame)} bytes > {limit}")
    try:
        env = _ENVELOPE_DECODER.decode(frame)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise ProtocolError("malformed", str(exc)) from None
    except Exception as exc:
        raise ProtocolError("malformed", f"{type(exc).__name__}: {exc}") from None
    if env.v != PROTOCOL_VERSION:
        raise ProtocolError("version", f"protocol version {env.v}, this build speaks {PROTOCOL_VERSION}")
    decoder = _DECODERS.get(env.type)
    if decoder is None:
        raise ProtocolError("unknown_type", f"message type {env.type[:64]!r}")
    if recipient is not None and env.recipient not in (recipient, BROADCAST):
        raise ProtocolError("misaddressed", f"for {env.recipient[:64]!r}, this is {recipient!r}")
    try:
        if len(frame) >= VIEW_MIN_BYTES and type(frame) is memoryview and frame.readonly and env.type in _VIEW_DECODERS:
            cls, views = _VIEW_DECODERS[env.type]
            msg = cls(*msgspec.structs.astuple(views.decode(env.body)))  # its own checks (__post_init__) run here
        else:
            msg = decoder.decode(env.body)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise ProtocolError("invalid", f"{env.type}: {exc}") from None
    except Exception as exc:
        raise ProtocolError("invalid", f"{env.type}: {type(exc).__name__}: {exc}") from None
    return env, msg
