"""One small exception tree, so callers can catch Scowl's own failures precisely.

Every message names the object, the bad value, and what was expected (and the file
and key, for configuration errors).
"""

from __future__ import annotations


class ScowlError(Exception):
    """Base of every error Scowl raises on purpose."""


class ConfigError(ScowlError):
    """A scenario or deployment file is wrong: names the file, the key, expected and found."""

    def __init__(self, path: str, key: str, expected: str, found: object) -> None:
        self.path, self.key, self.expected, self.found = str(path), key, expected, found
        super().__init__(f"{self.path}: key '{key}': expected {expected}, found {found!r}")


class ProtocolError(ScowlError):
    """A frame could not be accepted; `reason` is one of scowl.wire.REJECT_REASONS."""

    def __init__(self, reason: str, detail: str) -> None:
        self.reason, self.detail = reason, detail
        super().__init__(f"{reason}: {detail}")


class ActorError(ScowlError):
    """An actor was used wrongly (unknown peer, not started, already stopped)."""


class RequestTimeout(ScowlError):
    """A request got no reply in time."""


class UsageError(ScowlError):
    """A command was given something it cannot use (a missing run directory, a malformed
    --set): the command line is wrong, not the run. `scowl` exits with status 2 for it."""


class Refused(ScowlError):
    """A handler refuses a message it may not act on for a policy reason (scowl.security.policy:
    `not_owner`, ...): rejected and counted under that reason and the authenticated sender, like
    the runtime's guards, not counted as a handler failure."""

    def __init__(self, reason: str, detail: str) -> None:
        self.reason, self.detail = reason, detail
        super().__init__(f"{reason}: {detail}")
