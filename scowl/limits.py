"""Operating-system limits a run depends on: open files (every ZeroMQ socket holds a file
descriptor, and ZeroMQ caps a context's sockets at 1023 unless told otherwise).

`raise_fd_limit()` lifts the soft RLIMIT_NOFILE to the hard limit (what a process may do
without privileges); `sockets_allowed()` is what a context may then open; `check_sockets(n)`
says, before a run starts, when `n` sockets will not fit, instead of letting an actor die on
"Too many open files" halfway through its boot. `memory_limits()` says what caps a process's
address space (ulimit -v, strict overcommit), for an error about memory reserved up front."""

from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger("scowl.limits")

#: file descriptors kept for everything that is not a socket (logs, Parquet, pipes, stdio)
FD_RESERVE = 64
#: ZeroMQ's hard ceiling on a context's sockets (zmq_ctx_get(ZMQ_SOCKET_LIMIT) on libzmq 4.x)
ZMQ_SOCKET_LIMIT = 65535


def raise_fd_limit() -> tuple[int, int]:
    """Raise the soft open-files limit to the hard one; returns (soft, hard) after."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not POSIX
        return (1 << 16, 1 << 16)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard or (hard == resource.RLIM_INFINITY and soft < 1 << 20):
        target = hard if hard != resource.RLIM_INFINITY else 1 << 20
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError) as exc:
            log.warning("could not raise the open-files limit from %d to %d: %s", soft, target, exc)
    return soft, hard


def sockets_allowed() -> int:
    """ZeroMQ sockets one process may open: the open-files limit less a reserve, at most
    ZeroMQ's own ceiling."""
    soft, _ = raise_fd_limit()
    return max(1, min(ZMQ_SOCKET_LIMIT, soft - FD_RESERVE))


def check_sockets(needed: int, where: str) -> str | None:
    """A sentence when `needed` sockets do not fit in this process's limits (None when they do)."""
    soft, hard = raise_fd_limit()
    allowed = sockets_allowed()
    if needed <= allowed:
        return None
    return (f"{where} needs about {needed} sockets (file descriptors) but this process may open {allowed} "
            f"(open-files limit {soft}, hard limit {hard}); raise it (ulimit -n {needed + FD_RESERVE}, as root "
            "if above the hard limit), or run with --processes, or use fewer actors")


def memory_limits() -> str:
    """What caps this process's address space, in words ("" when nothing does): the soft
    RLIMIT_AS (ulimit -v), and strict overcommit (vm.overcommit_memory = 2: every reservation
    counts against the commit limit, even pages never touched)."""
    found = []
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft != resource.RLIM_INFINITY:
            found.append(f"this process's address space is capped at {soft // 1024:,} KB (ulimit -v)")
    except ImportError:  # pragma: no cover - not POSIX
        pass
    try:
        if Path("/proc/sys/vm/overcommit_memory").read_text().strip() == "2":
            found.append("the kernel does not overcommit (vm.overcommit_memory = 2)")
    except OSError:
        pass
    return "; ".join(found)
