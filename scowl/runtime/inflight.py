"""Bytes in flight: what an actor has handed to ZeroMQ and ZeroMQ still holds.

A packet handed to libzmq is held in the sender's process until libzmq lets go of it: on tcp
and ipc, once its I/O thread has written the last byte into the kernel's socket buffer (its
encoder closes a message when it asks for the next one: libzmq src/encoder.hpp); under CURVE,
once the I/O thread has encrypted it into its own copy (one message per connection). Which
needs the receiver to read: a tick-0 round's Assigns and tree deltas (60 MB for 2.6 M
consumers), packed in one go, sat in the sender whole until the receivers took them.

A packet sent through `hold` goes to libzmq without a copy (pyzmq's zero-copy send: pyzmq
keeps the Python object until libzmq's free callback, then drops it in its garbage-collector
thread, zmq.utils.garbage). The object we hand over is a numpy view of the packet with a
weakref.finalize, so its release reaches the event loop (call_soon_threadsafe) without a poll
or a thread of ours; `wait_room(limit)` then wakes the sender (scowl.runtime.outbox.send_built)
to build its next large message. Only over sockets whose bytes leave the process: on inproc
the receiver holds the very buffer until it drops the decoded message (a population keeps a
tracker's Assign until every tracker's came), so waiting there could wait on each other.

`cutting` counts the frames being cut into chunk pieces (scowl.runtime.outbox: a large message
on a CURVE socket crosses in small pieces) whose bytes are not yet encoded into a piece: a
next large message is built only when the packets in flight and those frames' rest together
are within the limit; a message's next piece waits for the packets alone.
"""

from __future__ import annotations

import asyncio
import collections
import weakref

import numpy as np

from scowl import wire
from scowl.wire import chunks


class InFlight:
    """Bytes handed to libzmq (through `hold`) and not yet released by it."""

    def __init__(self) -> None:
        self.bytes = 0
        self.peak = 0  # the most ever held at once
        self.packets = 0  # packets sent through `hold`
        self.cutting = 0  # bytes of frames being cut into pieces, not yet in a piece
        self._room = asyncio.Event()
        self._room.set()

    def hold(self, packet: bytes | memoryview) -> np.ndarray:
        """What to hand to libzmq without a copy instead of `packet`: counted until released."""
        view = np.frombuffer(packet, dtype=np.uint8)
        n = view.nbytes
        self.bytes += n
        self.packets += 1
        self.peak = max(self.peak, self.bytes)
        weakref.finalize(view, _released, asyncio.get_running_loop(), self, n).atexit = False
        return view

    def release(self, n: int) -> None:
        """(In the loop's thread.) libzmq let go of `n` bytes."""
        self.bytes -= n
        self._room.set()  # the waiters look again (each with its own limit)

    def cut(self, n: int) -> None:
        """`n` more bytes of frames wait to be cut into pieces (fewer when negative)."""
        self.cutting += n
        if n < 0:
            self._room.set()

    def room(self, limit: int, pieces: bool = False) -> bool:
        """At most `limit` bytes in flight: packets, and the frames being cut unless this is for
        a next piece of a message already begun (`pieces`)."""
        return self.bytes + (0 if pieces else self.cutting) <= limit

    async def wait_room(self, limit: int, pieces: bool = False) -> None:
        """Until `room(limit, pieces)`."""
        while not self.room(limit, pieces):
            self._room.clear()
            await self._room.wait()


def _released(loop: asyncio.AbstractEventLoop, flight: InFlight, n: int) -> None:
    """The view's last reference went (in pyzmq's garbage-collector thread, or in ours when a
    send never took it): counted in the loop's thread."""
    try:
        loop.call_soon_threadsafe(flight.release, n)
    except RuntimeError:  # the loop is closed: nobody waits any more
        flight.bytes -= n


class Pieces:
    """The packets of a chunked message's pieces, each encoded when asked for; with `flight`,
    the bytes not yet encoded count as being cut (InFlight.cutting) until they are, or until
    this is dropped."""

    def __init__(self, pieces: list[chunks.Chunk], sender: str, to: str, seqs: list[int], tick: int,
                 flight: InFlight | None = None) -> None:
        self._pieces = collections.deque(zip(pieces, seqs, strict=True))
        self._sender, self._to, self._tick, self._flight = sender, to, tick, flight
        self._left = sum(len(p.data) for p in pieces) if flight is not None else 0
        if flight is not None:
            flight.cut(self._left)

    def __iter__(self) -> Pieces:
        return self

    def __next__(self) -> memoryview:
        if not self._pieces:
            self._done()
            raise StopIteration
        piece, seq = self._pieces.popleft()
        packet = wire.encode_alone(piece, self._sender, self._to, seq, self._tick)[0]
        if self._flight is not None:
            n = len(piece.data)
            self._left -= n
            self._flight.cut(-n)
        return packet

    def _done(self) -> None:
        self._pieces.clear()  # (the frame they are views of goes with them)
        if self._flight is not None and self._left:
            self._flight.cut(-self._left)
            self._left = 0

    def __del__(self) -> None:
        self._done()
