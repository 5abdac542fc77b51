"""Request timeouts on one event-loop timer per actor (the earliest deadline), not one per request.

A timer per request cost a uvloop timer handle made, cancelled and closed on every round trip,
and closing a handle makes the loop poll once more before it sleeps: with one request
outstanding that was one more epoll_pwait per round trip, and the cancel sat between a reply
and the asker's next request. Answered requests leave the heap lazily (when they reach its top,
or when it is rebuilt because they are most of it), so a request costs a heap push.
"""

from __future__ import annotations

import asyncio
import heapq
import math
from typing import Any

from scowl.errors import RequestTimeout

#: a timer may fire up to this much before its deadline (uvloop counts whole milliseconds);
#: what is due within it fails now instead of arming the timer again for the rest
SLACK_S = 0.001


class Timeouts:
    __slots__ = ("_heap", "_timer", "_at", "_n")

    def __init__(self) -> None:
        # (deadline, order, the reply's future, (asker, request type, asked, timeout))
        self._heap: list[tuple[float, int, asyncio.Future[Any], tuple[str, str, str, float]]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._at = math.inf  # when the timer fires (inf: not armed)
        self._n = 0

    def add(self, loop: asyncio.AbstractEventLoop, fut: asyncio.Future[Any], timeout: float,
            what: tuple[str, str, str, float], open_requests: int) -> None:
        """`fut` fails with RequestTimeout unless done within `timeout` s. `open_requests`:
        futures still unanswered (an upper bound): past twice that the heap is rebuilt."""
        heap = self._heap
        while heap and heap[0][2].done():
            heapq.heappop(heap)
        if len(heap) > 2 * open_requests + 64:
            heap[:] = [e for e in heap if not e[2].done()]
            heapq.heapify(heap)
        when = loop.time() + timeout
        self._n += 1
        heapq.heappush(heap, (when, self._n, fut, what))
        if when < self._at:
            self._arm(loop, when)

    def _arm(self, loop: asyncio.AbstractEventLoop, when: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = loop.call_at(when, self._expire, loop)
        self._at = when

    def _expire(self, loop: asyncio.AbstractEventLoop) -> None:
        self._timer = None
        self._at = math.inf
        heap = self._heap
        due = loop.time() + SLACK_S
        while heap and (heap[0][0] <= due or heap[0][2].done()):
            _, _, fut, (name, msg_type, to, timeout) = heapq.heappop(heap)
            if not fut.done():
                fut.set_exception(RequestTimeout(f"{name}: {msg_type} to {to} got no reply within {timeout} s"))
        if heap:
            self._arm(loop, heap[0][0])

    def __len__(self) -> int:
        return len(self._heap)

    def close(self) -> None:
        """Forget every deadline (the actor stopped: its open requests failed already)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._at = math.inf
        self._heap.clear()
