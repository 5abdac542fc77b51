"""Chunked frames: a message whose frame is larger than the frame limit crosses as a run of
`chunk` messages and is put together again by the receiver before anyone sees it, so no batch
is refused for its size (the population of a whole state reporting to one tracker is ~170 MB).

The sender encodes the whole frame as usual (its envelope keeps its own sequence number, so a
chunked request is answered like any other), cuts the bytes into pieces that each fit a frame
with their own envelope, and sends them in order on the same link (ZeroMQ keeps a link's
order). The receiver keeps one message in assembly per sender:

    chunk  whole  sequence number of the whole frame (the same in every piece)
           index  0 .. count-1, in order
           count  pieces of the whole, >= 2
           size   bytes of the whole frame, <= MAX_MESSAGE_BYTES
           data   this piece's bytes

Whatever does not fit that description (a piece out of order, of another whole before the
current one is complete, more or fewer bytes than announced, a whole over MAX_MESSAGE_BYTES)
drops the assembly and is rejected as `malformed` with the reason; the whole, once complete,
is decoded and checked like any frame (with MAX_MESSAGE_BYTES instead of the frame limit).
Memory for an assembly grows with the bytes received, never with what a piece announces.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from scowl.errors import ProtocolError
from scowl.wire import codec
from scowl.wire.codec import Message, message

#: the largest message a receiver puts together from chunks (a whole state's report is ~170 MB)
MAX_MESSAGE_BYTES = 2 * 1024 * 1024 * 1024
#: bytes of a chunk frame that are not data, at most: packet and frame headers, the envelope's
#: fixed fields, the chunk's integers (names are added on top)
CHUNK_OVERHEAD = 256


@message("chunk")
class Chunk(Message, frozen=True):
    """A piece of a frame larger than the frame limit (see scowl.wire.chunks)."""

    whole: int
    index: int
    count: int
    size: int
    data: bytes


def piece_bytes(sender: str, recipient: str) -> int:
    """Data bytes per chunk so that each chunk frame, packed alone, fits the frame limit."""
    room = codec.MAX_FRAME_BYTES - CHUNK_OVERHEAD - len(sender.encode()) - len(recipient.encode())
    if room < 64:
        raise ValueError(f"frame limit {codec.MAX_FRAME_BYTES} B leaves no room for chunks between {sender!r} and {recipient!r}")
    return room


def needs_chunks(frame: bytes | memoryview, most: int | None = None) -> bool:
    """True when a frame, packed alone, would not fit the frame limit (or is over `most`
    bytes: a sender may cut a large frame into smaller pieces than the limit needs)."""
    return len(frame) + 16 > codec.MAX_FRAME_BYTES or (most is not None and len(frame) > most)


def split(frame: bytes | memoryview, whole: int, sender: str, recipient: str, most: int | None = None) -> list[Chunk]:
    """The pieces of a frame too large for one (or over `most` bytes), in order, each of at
    most `most` data bytes when given."""
    if len(frame) > MAX_MESSAGE_BYTES:
        raise ValueError(f"a message of {len(frame)} bytes is over MAX_MESSAGE_BYTES ({MAX_MESSAGE_BYTES})")
    step = piece_bytes(sender, recipient) if most is None else min(most, piece_bytes(sender, recipient))
    view = memoryview(frame)
    count = -(-len(frame) // step)
    # msgspec encodes a memoryview as binary: the pieces are not copied until they are encoded
    return [Chunk(whole, i, count, len(frame), view[i * step:(i + 1) * step]) for i in range(count)]  # type: ignore[arg-type]


@dataclass
class _Assembly:
    whole: int
    count: int
    size: int
    next: int = 0
    buf: bytearray = field(default_factory=bytearray)


class Reassembler:
    """Puts chunked frames together again, one in assembly per sender."""

    def __init__(self, max_bytes: int | None = None) -> None:
        self.max_bytes = max_bytes
        self._open: dict[str, _Assembly] = {}

    def __len__(self) -> int:
        return len(self._open)

    def add(self, sender: str, chunk: Chunk) -> bytes | bytearray | None:
        """Take one piece; the whole frame once its last piece came, else None. Raises
        ProtocolError("malformed") for a piece that does not continue the assembly (which is dropped)."""
        limit = MAX_MESSAGE_BYTES if self.max_bytes is None else self.max_bytes
        a = self._open.get(sender)
        if chunk.index == 0:
            if a is not None:
                del self._open[sender]
                raise ProtocolError("malformed", f"chunk 0 of message {chunk.whole} while message {a.whole} had "
                                                 f"{a.next} of {a.count} pieces (that one is dropped)")
            if chunk.count < 2 or not 0 < chunk.size <= limit:
                raise ProtocolError("malformed", f"chunked message of {chunk.count} pieces and {chunk.size} bytes "
                                                 f"(expected >= 2 pieces, 1..{limit} bytes)")
            a = self._open[sender] = _Assembly(chunk.whole, chunk.count, chunk.size)
        elif a is None:
            raise ProtocolError("malformed", f"chunk {chunk.index} of message {chunk.whole} without its first piece")
        if (chunk.whole, chunk.index, chunk.count, chunk.size) != (a.whole, a.next, a.count, a.size):
            del self._open[sender]
            raise ProtocolError("malformed", f"chunk {chunk.index}/{chunk.count} of message {chunk.whole} ({chunk.size} B) "
                                             f"does not continue message {a.whole}: expected piece {a.next}/{a.count} of {a.size} B")
        if not chunk.data or len(a.buf) + len(chunk.data) > a.size:
            del self._open[sender]
            raise ProtocolError("malformed", f"message {a.whole}: piece {chunk.index} brings {len(chunk.data)} B, "
                                             f"{len(a.buf)} of {a.size} B already in")
        a.buf += chunk.data
        a.next += 1
        if a.next < a.count:
            return None
        del self._open[sender]
        if len(a.buf) != a.size:
            raise ProtocolError("malformed", f"message {a.whole}: {len(a.buf)} B in {a.count} pieces, {a.size} B announced")
        return a.buf

    def forget(self, sender: str) -> None:
        """Drop what a sender had in assembly (its link closed)."""
        self._open.pop(sender, None)
