"""argparse value types that refuse what cannot be meant (a negative count, a NaN scale),
so a bad command line exits 2 with a message instead of running a day that means nothing."""

from __future__ import annotations

import argparse
import math


def _parsed(text: str, kind: type, what: str) -> int | float:
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, found {text!r}") from None


def positive_int(text: str) -> int:
    """An integer >= 1 (a count of actors, ticks, trackers, peers)."""
    value = int(_parsed(text, int, "an integer >= 1"))
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, found {value}")
    return value


def non_negative_int(text: str) -> int:
    """An integer >= 0 (a tick number)."""
    value = int(_parsed(text, int, "an integer >= 0"))
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, found {value}")
    return value


def positive_float(text: str) -> float:
    """A finite number > 0 (a scale, a rate, seconds)."""
    value = float(_parsed(text, float, "a number > 0"))
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, found {text}")
    return value
