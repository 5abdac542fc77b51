"""How a run ends early: RunFailed (exit 1) and RunInterrupted (128 + the signal), and the line
said on the terminal when it does."""

from __future__ import annotations

import sys

from scowl.errors import ScowlError


def say(text: str) -> None:
    print(f"scowl run: {text}", file=sys.stderr, flush=True)


class RunFailed(ScowlError):
    """The run ended before its last tick on an error (an actor died, the disk filled, the
    metronome was killed): exit status 1. What was gathered is in the run directory."""

    exit_code = 1


class RunInterrupted(ScowlError):
    """SIGINT or SIGTERM stopped the run: exit status 128 + the signal."""

    def __init__(self, message: str, signum: int) -> None:
        super().__init__(message)
        self.exit_code = 128 + signum
