"""An actor's counters: what it received, handled, sent, dropped and rejected."""

from __future__ import annotations

import collections
import resource
from dataclasses import dataclass, field
from typing import Any


def peak_rss_mb() -> float:
    """Peak resident memory of this process (MB): the kernel's VmHWM, which starts afresh at
    exec. ru_maxrss survives fork + exec on Linux, so a node started by a 600 MB parent would
    report 600 MB however little it used; it is the fallback where /proc is missing."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


@dataclass
class ActorStats:
    received: int = 0  # frames accepted
    logical: int = 0  # logical messages accepted (a batch counts its rows)
    handled: int = 0
    failed: int = 0  # handlers that raised
    sent: int = 0
    published: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0
    unroutable: int = 0  # sends to a peer that is gone
    dropped: int = 0  # sends dropped by backpressure or by an injected fault
    unhandled: int = 0  # valid messages with no handler on this actor
    rejected: collections.Counter[tuple[str, str]] = field(default_factory=collections.Counter)  # (sender, reason) -> n

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {k: getattr(self, k) for k in ("received", "logical", "handled", "failed", "sent", "published",
                                                           "unroutable", "dropped", "unhandled", "bytes_sent", "bytes_received")}
        d["rejected"] = self.rejected_total
        by_reason: collections.Counter[str] = collections.Counter()
        for (_, reason), n in self.rejected.items():
            by_reason[reason] += n
        d["rejected_by_reason"] = dict(sorted(by_reason.items()))
        return d
