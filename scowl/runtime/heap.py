"""Freed heap given back to the system when it has piled up (glibc's malloc_trim).

glibc keeps what a process frees below its mmap threshold (which rises to the largest block
freed, up to 32 MB: after a first round of millions of consumers, about every temporary of a
round) as free heap, and gives back only the top of the heap. A tracker's rounds free tens of MB
of such blocks scattered over the heap; what the next round allocates above the threshold comes
from new pages beside them. So the resident memory between rounds crept up over a whole-state
day (tracker-3: 132 MB after round 0, 215-265 MB late), and each late round's peak sat on it.
`HeapTrim.after_round` calls malloc_trim(0) (which also returns the free pages inside the heap)
when the resident memory has grown by `grown_mb` since the last call gave back what it could:
not every round (a call walks the whole heap: ~10-20 ms when there is much to give back).
Elsewhere than glibc it does nothing."""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Callable

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _trimmer() -> Callable[[int], int] | None:
    if sys.platform != "linux":
        return None
    try:
        libc = ctypes.CDLL(None)
        trim: Callable[[int], int] = libc.malloc_trim  # (glibc's; musl has none)
    except (OSError, AttributeError):
        return None
    return trim


class HeapTrim:
    """Give freed heap back after a round when resident memory grew `grown_mb` since the last time."""

    def __init__(self, grown_mb: float = 16.0) -> None:
        self.grown = grown_mb * 2**20
        self._trim = _trimmer()
        self._statm: int | None = None
        if self._trim is not None:
            try:
                self._statm = os.open("/proc/self/statm", os.O_RDONLY)
            except OSError:
                self._trim = None
        self._after = self.resident()
        self.calls = 0

    def resident(self) -> int:
        """Resident bytes of this process (0 where /proc is not there)."""
        if self._statm is None:
            return 0
        return int(os.pread(self._statm, 128, 0).split()[1]) * _PAGE

    def after_round(self) -> bool:
        """malloc_trim(0) if resident memory grew `grown_mb` since the last trim; whether it ran."""
        if self._trim is None:
            return False
        now = self.resident()
        self._after = min(self._after, now)  # (growth counts from the lowest point since)
        if now - self._after < self.grown:
            return False
        self._trim(0)
        self.calls += 1
        self._after = self.resident()
        return True

    def before_round(self) -> bool:
        """`after_round`'s check before a round too: what was freed since the last round (a tracker's
        registrations before round 0: ~20 MB of messages and parts) given back before the round's own
        temporaries take fresh pages beside it."""
        return self.after_round()
