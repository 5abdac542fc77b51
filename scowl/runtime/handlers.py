"""The handler table: `@on(MessageType)` marks a method; dispatch calls it as handler(msg, env).

A handler may be plain or async; a returned Message is sent back as the reply. A handler
that raises is contained per message: counted, reported to `on_failure` (and to the asker
as a Failure reply), and the actor keeps serving. A handler that raises `Refused` rejects the
message for a policy reason: counted per reason and sender with the guards' rejections, and
the asker gets a typed Reject.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from scowl import wire
from scowl.errors import ActorError, Refused
from scowl.runtime import timeline
from scowl.runtime.requests import Requests

log = logging.getLogger("scowl.actor")

F = TypeVar("F", bound=Callable[..., Any])


def on(*message_types: type[wire.Message]) -> Callable[[F], F]:
    """Mark a method as the handler of these message types."""

    def mark(fn: F) -> F:
        fn._scowl_handles = tuple(t.TYPE for t in message_types)  # type: ignore[attr-defined]
        return fn

    return mark


class Dispatch(Requests):
    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._collect_handlers()

    @classmethod
    def _collect_handlers(cls) -> None:
        table: dict[str, str] = {}
        for klass in reversed(cls.__mro__):  # base handlers first, overridden by subclasses
            for attr, fn in vars(klass).items():
                for type_name in getattr(fn, "_scowl_handles", ()):
                    table[type_name] = attr
        cls._handler_names = table

    def on_failure(self, env: wire.Envelope, msg: wire.Message, exc: BaseException) -> None:
        """Hook: a handler raised. Default: log it once per (type, error) and go on serving."""
        key = ("failure", env.type, type(exc).__name__)
        if key not in self._logged:
            self._logged.add(key)
            log.error("%s: handler for %s from %s raised %s: %s (further ones counted, not logged)",
                      self.name, env.type, env.sender, type(exc).__name__, exc)

    def on_unhandled(self, msg: wire.Message, env: wire.Envelope) -> wire.Message | None:
        """The one fallback for valid messages this actor has no handler for: log who sent what."""
        self.stats.unhandled += 1
        key = ("unhandled", env.sender, env.type)
        if key not in self._logged:
            self._logged.add(key)
            log.warning("%s: no handler for %s from %s", self.name, env.type, env.sender)
        if env.ask:
            return wire.Failure("Unhandled", f"{self.name} has no handler for {env.type}")
        return None

    def _handle(self, env: wire.Envelope, msg: wire.Message) -> Awaitable[None] | None:
        """Dispatch one message; returns an awaitable only when the handler is async."""
        line = timeline.TIMELINE
        if line is None:
            return self._dispatch(env, msg)
        t0 = timeline.now()
        try:
            return self._dispatch(env, msg)
        finally:
            line.add(t0, self.name, env.type, env.tick)

    def _dispatch(self, env: wire.Envelope, msg: wire.Message) -> Awaitable[None] | None:
        if isinstance(msg, wire.Batch):
            self.stats.logical += len(msg)
        else:
            self.stats.logical += 1
        handler = self._handlers.get(env.type, self.on_unhandled)
        try:
            result = handler(msg, env)
        except Refused as exc:
            self._refused(env, exc)
            return None
        except Exception as exc:
            self._failed(env, msg, exc)
            return None
        if result is None:
            self.stats.handled += 1
            return None
        if not isinstance(result, wire.Message) and inspect.isawaitable(result):
            return self._finish_async(env, msg, result)
        self.stats.handled += 1
        self._answer(env, result)
        return None

    async def _finish_async(self, env: wire.Envelope, msg: wire.Message, awaitable: Awaitable[Any]) -> None:
        try:
            result = await awaitable
        except asyncio.CancelledError:
            raise
        except Refused as exc:
            self._refused(env, exc)
            return
        except Exception as exc:
            self._failed(env, msg, exc)
            return
        self.stats.handled += 1
        if result is not None:
            self._answer(env, result)

    def _answer(self, env: wire.Envelope, result: wire.Message) -> None:
        try:
            self.reply(env, result)
        except ActorError as exc:
            self.stats.unroutable += 1
            log.warning("%s: cannot reply to %s: %s", self.name, env.sender, exc)

    def _refused(self, env: wire.Envelope, exc: Refused) -> None:
        self._reject(env.sender, exc.reason, exc.detail)
        if env.ask:
            self._answer(env, wire.Reject(exc.reason, exc.detail[:500], env.type))

    def _failed(self, env: wire.Envelope, msg: wire.Message, exc: Exception) -> None:
        self.stats.failed += 1
        try:
            self.on_failure(env, msg, exc)
        except Exception:
            log.exception("%s: on_failure raised", self.name)
        if env.ask:
            self._answer(env, wire.Failure(type(exc).__name__, str(exc)[:500]))
        if isinstance(exc, MemoryError) and not self._stopping:  # its state is half-updated: stop, as a crash, not limp on
            self.crashed = exc
            log.error("%s: out of memory in the handler for %s: stopping the actor", self.name, env.type)
            self._spawn(self.stop())
