"""The Actor: a mailbox, a handler table keyed by message type, lifecycle hooks, timers.

An actor owns one ROUTER socket bound at its address (peers' DEALERs connect to it, with
the peer's name as routing id), one DEALER link per peer it connected to, and optionally a
PUB socket and SUB subscriptions. Frames from every socket are decoded by per-socket pumps
into one mailbox; one processor task handles them in arrival order, so per-sender ordering
holds on each channel. A handler that raises is contained per message: counted, reported to
`on_failure` (and to the asker as a Failure reply) and the actor keeps serving.

Handlers are methods decorated with `@on(MessageType)`, called as `handler(msg, env)`; they
may be plain or async. A returned Message is sent back to the sender as the reply.

The Actor is assembled from one module per concept (see scowl/runtime/core.py for the
list); this module adds the built-in handlers every actor answers.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import resource

from scowl import wire
from scowl.runtime.core import ActorCore
from scowl.runtime.handlers import on
from scowl.runtime.lifecycle import Lifecycle
from scowl.runtime.mailbox import MAILBOX_MAX, YIELD_EVERY
from scowl.runtime.outbox import BACKLOG_MAX, PACKET_ALONE_BYTES, PACKET_MAX_FRAMES
from scowl.runtime.requests import RemoteError
from scowl.runtime.stats import ActorStats, peak_rss_mb

__all__ = ["BACKLOG_MAX", "MAILBOX_MAX", "PACKET_ALONE_BYTES", "PACKET_MAX_FRAMES", "YIELD_EVERY",
           "Actor", "ActorCore", "ActorStats", "RemoteError", "on"]

log = logging.getLogger("scowl.actor")


class Actor(Lifecycle):
    """Base class of every peer. Subclasses set `role`, add `@on(...)` handlers and may
    override `on_start`, `on_stop` and `on_failure`."""

    role = "actor"

    @on(wire.Hello)
    def _on_hello(self, msg: wire.Hello, env: wire.Envelope) -> wire.Message:
        return wire.Welcome(self.role)

    @on(wire.Welcome)
    def _on_late_welcome(self, msg: wire.Welcome, env: wire.Envelope) -> None:
        """A Welcome nobody waits for: the answer to a liveness probe (`probe`), or to a
        handshake that had already timed out. Hearing it is all it says."""

    @on(wire.SyncProbe)
    def _on_sync_probe(self, msg: wire.SyncProbe, env: wire.Envelope) -> None:
        if self.has_route(env.sender):
            self.send(env.sender, wire.SyncAck(msg.token))

    @on(wire.SyncAck)
    def _on_sync_ack(self, msg: wire.SyncAck, env: wire.Envelope) -> None:
        acks = self._sync_acks.get(msg.token)
        if acks is not None:
            acks.add(env.sender)
            self._sync_event.set()

    @on(wire.StatsRequest)
    def _on_stats(self, msg: wire.StatsRequest, env: wire.Envelope) -> wire.Message:
        s = self.stats
        return wire.StatsReply(s.received, s.logical, s.rejected_total, s.failed)

    @on(wire.FinalQuery)
    def _on_final_query(self, msg: wire.FinalQuery, env: wire.Envelope) -> wire.Message:
        """Whole-run figures of a service (bootstrap, broker): its process and what it
        rejected. Grid peers answer with their own figures and these."""
        return wire.FinalFigures(self.role, self.service_figures())

    def service_figures(self) -> dict[str, float]:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return {"rss_peak_mb": peak_rss_mb(), "cpu_user_s": usage.ru_utime, "cpu_sys_s": usage.ru_stime,
                **self.rejection_figures()}

    def rejection_figures(self) -> dict[str, float]:
        """What this actor rejected: `rejected:<reason>` and `rejected_from:<sender>` (the
        authenticated sender; "key:XXXXXXXX" for a handshake ZAP refused an unknown key)."""
        by_reason: collections.Counter[str] = collections.Counter()
        by_sender: collections.Counter[str] = collections.Counter()
        for (sender, reason), n in self.stats.rejected.items():
            by_reason[reason] += n
            by_sender[sender] += n
        if self.credentials is not None:
            for key, n in self.credentials.refused().items():
                by_reason["unenrolled_key"] += n
                by_sender[key] += n
        out = {f"rejected:{r}": float(n) for r, n in sorted(by_reason.items())}
        out.update({f"rejected_from:{s}": float(n) for s, n in sorted(by_sender.items())})
        return out

    @on(wire.Reject)
    def _on_reject(self, msg: wire.Reject, env: wire.Envelope) -> None:
        """A peer could not accept a frame of ours (not the answer to a request: those fail the
        request). Logged once per peer and reason; it says our build and theirs disagree."""
        key = ("rejected-by", env.sender, msg.reason)
        if key not in self._logged:
            self._logged.add(key)
            log.warning("%s: %s rejected our %s: %s (%s)", self.name, env.sender, msg.type or "frame", msg.reason, msg.detail[:200])

    @on(wire.Stop)
    def _on_stop(self, msg: wire.Stop, env: wire.Envelope) -> None:
        log.info("%s: stop requested by %s (%s)", self.name, env.sender, msg.reason)
        # stop soon, from a task this actor owns, not inside the handler that asked
        asyncio.get_running_loop().call_soon(lambda: self._spawn(self.stop()))
