"""Request/reply: a request is a message sent with `ask`, its reply carries `reply_to`.

Replies resolve their futures as they are decoded (never behind the mailbox), so a handler
awaiting a reply cannot wait behind itself. A Failure reply raises RemoteError in the asker.
"""

from __future__ import annotations

import asyncio
from typing import TypeVar, overload

from scowl import wire
from scowl.errors import ScowlError
from scowl.runtime.outbox import Outbox

R = TypeVar("R", bound=wire.Message)


class RemoteError(ScowlError):
    """The peer's handler raised while answering our request."""

    def __init__(self, peer: str, error: str, detail: str) -> None:
        self.peer, self.error, self.detail = peer, error, detail
        super().__init__(f"{peer}: {error}: {detail}")


class Requests(Outbox):
    def reply(self, env: wire.Envelope, msg: wire.Message) -> None:
        self.send(env.sender, msg, reply_to=env.seq)

    def ask(self, to: str, msg: wire.Message) -> asyncio.Future[wire.Message]:
        """Send a request and return the future of its reply (pipelining: many may be open)."""
        fut: asyncio.Future[wire.Message] = asyncio.get_running_loop().create_future()
        seq = self.send(to, msg, ask=True)
        self._pending[seq] = fut
        return fut

    @overload
    async def request(self, to: str, msg: wire.Message, timeout: float = 10.0) -> wire.Message: ...

    @overload
    async def request(self, to: str, msg: wire.Message, timeout: float = 10.0, *, reply: type[R]) -> R: ...

    async def request(self, to: str, msg: wire.Message, timeout: float = 10.0,
                      *, reply: type[wire.Message] | None = None) -> wire.Message:
        """Send a request and await its reply; RequestTimeout after `timeout` seconds.
        With `reply=T` the reply is checked to be a T (typed request/reply), else RemoteError."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[wire.Message] = loop.create_future()
        seq = self.send(to, msg, ask=True, alone=True)
        pending = self._pending
        pending[seq] = fut
        # the deadline on the actor's one timer (scowl.runtime.timeouts): asyncio.timeout's
        # context manager cost as much Python per request as the rest of the request's own
        # path, and a timer of its own cost a loop timer handle made and closed per request
        self._timeouts.add(loop, fut, timeout, (self.name, msg.TYPE, to, timeout), len(pending))
        try:
            answer = await fut
        finally:
            pending.pop(seq, None)
        if reply is not None and not isinstance(answer, reply):
            raise RemoteError(to, "WrongReply", f"{msg.TYPE} answered with {answer.TYPE}, expected {reply.TYPE}")
        return answer

    def _resolve(self, env: wire.Envelope, msg: wire.Message) -> None:
        self.stats.logical += 1
        self.stats.handled += 1
        fut = self._pending.pop(env.reply_to)
        if not fut.done():
            if isinstance(msg, wire.Failure):
                fut.set_exception(RemoteError(env.sender, msg.error, msg.detail))
            elif isinstance(msg, wire.Reject):
                fut.set_exception(RemoteError(env.sender, f"Reject:{msg.reason}", msg.detail))
            else:
                fut.set_result(msg)
