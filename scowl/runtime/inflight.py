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
"""

from __future__ import annotations

import asyncio
import weakref

import numpy as np


class InFlight:
    """Bytes handed to libzmq (through `hold`) and not yet released by it."""

    def __init__(self) -> None:
        self.bytes = 0
        self.peak = 0  # the most ever held at once
        self.packets = 0  # packets sent through `hold`
        self._room = asyncio.Event()
        self._room.set()
        self._limit = 0

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
        if self.bytes <= self._limit:
            self._room.set()

    async def wait_room(self, limit: int) -> None:
        """Until at most `limit` bytes are in flight."""
        while self.bytes > limit:
            self._limit = limit
            self._room.clear()
            await self._room.wait()


def _released(loop: asyncio.AbstractEventLoop, flight: InFlight, n: int) -> None:
    """The view's last reference went (in pyzmq's garbage-collector thread, or in ours when a
    send never took it): counted in the loop's thread."""
    try:
        loop.call_soon_threadsafe(flight.release, n)
    except RuntimeError:  # the loop is closed: nobody waits any more
        flight.bytes -= n
