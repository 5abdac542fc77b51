"""Named random streams, in the manner of Power TAC's RandomSeedRepo.

Every draw in Scowl comes from a stream named by (seed, owner, purpose): the same seed gives the
same day bit for bit, and adding draws to one purpose never shifts another. Two kinds of stream:

- `StreamRepo.generator(owner, purpose)`: a numpy Generator (PCG64) for sequential draws that
  belong to one peer or one shared process (a generator's wind, the statewide cloud cover).
- `StreamRepo.counter(purpose)`: a counter-based stream: `uniform(index, counter)` is a pure
  function of (seed, purpose, index, counter). Per-consumer values are drawn from it with the
  consumer's global index, so a population split into shards in any way gives each consumer the
  same values (no shard owns a sequential stream).

The repo records every stream it hands out (name -> 64-bit key) so a run can write them to its
state log (`StreamRepo.log()`). Global `np.random` is never used.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import mmh3
import numpy as np

__all__ = ["CounterStream", "StreamRepo", "stream_key"]

_M64 = (1 << 64) - 1


def stream_key(seed: int, owner: str, purpose: str) -> int:
    """The 64-bit key of stream (seed, owner, purpose): MurmurHash3 x64 128, low 64 bits."""
    h = mmh3.hash128(f"{owner}\x1f{purpose}", seed & 0xFFFFFFFF, signed=False)
    return (h ^ ((seed >> 32) * 0x9E3779B97F4A7C15)) & _M64


#: 2^-24 x float32(2 sqrt 3), exact in float32 (a power of two apart): centered draws in one multiply
_CENTER_SCALE = np.float32(np.float32(2.0 * np.sqrt(3.0)) * np.float32(2.0**-24))


def _mix64(x: np.ndarray, scratch: np.ndarray | None = None) -> np.ndarray:
    """SplitMix64 finaliser, in place on a uint64 array (a bijection with good avalanche);
    `scratch`, a uint64 array of x's shape, holds the shifts (else they are temporaries)."""
    t = np.empty_like(x) if scratch is None else scratch
    np.right_shift(x, np.uint64(30), out=t)
    x ^= t
    x *= np.uint64(0xBF58476D1CE4E5B9)
    np.right_shift(x, np.uint64(27), out=t)
    x ^= t
    x *= np.uint64(0x94D049BB133111EB)
    np.right_shift(x, np.uint64(31), out=t)
    x ^= t
    return x


@dataclass(frozen=True)
class CounterStream:
    """A counter-based stream: values depend only on (key, index, counter), never on call order."""

    name: str
    key: int

    def bits(self, index: np.ndarray, counter: int = 0) -> np.ndarray:
        """64 random bits per index (uint64 array), for draw number `counter`."""
        with np.errstate(over="ignore"):
            base = np.uint64(_mix_scalar(self.key ^ ((counter * 0xD1B54A32D192ED03) & _M64)))
            x = np.asarray(index, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
            x += base
            return _mix64(x)

    def uniform(self, index: np.ndarray, counter: int = 0) -> np.ndarray:
        """Uniform float32 in [0, 1), one per index."""
        top = (self.bits(index, counter) >> np.uint64(40)).view(np.int64)  # (< 2^24; int64 -> float32 is ~15x faster than uint64's)
        return top.astype(np.float32) * np.float32(2.0**-24)

    def centered(self, index: np.ndarray, counter: int = 0) -> np.ndarray:
        """Zero-mean, unit-variance float32 (uniform on [-sqrt 3, sqrt 3)): a cheap innovation."""
        u = self.uniform(index, counter)
        u -= np.float32(0.5)
        u *= np.float32(2.0 * np.sqrt(3.0))
        return u

    def centered_into(self, index: np.ndarray, counter: int, out: np.ndarray, bits: np.ndarray, scratch: np.ndarray) -> np.ndarray:
        """`centered(index, counter)` written into `out` (float32), with `bits` and `scratch`
        (uint64, index's shape) as its working space: the same values, no temporaries."""
        if index.dtype not in (np.uint32, np.uint64):  # (a signed index would multiply in float64)
            index = index.astype(np.uint64)
        with np.errstate(over="ignore"):
            base = np.uint64(_mix_scalar(self.key ^ ((counter * 0xD1B54A32D192ED03) & _M64)))
            np.multiply(index, np.uint64(0x9E3779B97F4A7C15), out=bits, casting="unsafe")
            bits += base
            _mix64(bits, scratch)
        np.right_shift(bits, np.uint64(40), out=bits)
        top = bits.view(np.int64)  # (< 2^24: numpy converts int64 to float32 ~15x faster than uint64)
        top -= 1 << 23
        np.copyto(out, top, casting="unsafe")  # |top| <= 2^23: exact in float32
        out *= _CENTER_SCALE  # = (u - 0.5) x 2 sqrt 3 with u = bits 2^-24, to the bit (one rounding of the same product)
        return out

    def normal(self, index: np.ndarray, counter: int = 0) -> np.ndarray:
        """Standard normal float32 per index (Box-Muller on two counter draws)."""
        u1 = self.uniform(index, 2 * counter)
        u2 = self.uniform(index, 2 * counter + 1)
        r = np.sqrt(np.float32(-2.0) * np.log1p(-u1))
        return (r * np.cos(np.float32(2.0 * np.pi) * u2)).astype(np.float32)


def _mix_scalar(x: int) -> int:
    x &= _M64
    x ^= x >> 30
    x = (x * 0xBF58476D1CE4E5B9) & _M64
    x ^= x >> 27
    x = (x * 0x94D049BB133111EB) & _M64
    x ^= x >> 31
    return x


@dataclass
class StreamRepo:
    """Hands out named streams for one run seed and records each one created."""

    seed: int
    _log: dict = field(default_factory=dict)

    def _record(self, name: str, key: int) -> None:
        self._log.setdefault(name, key)

    def generator(self, owner: str, purpose: str) -> np.random.Generator:
        """A fresh sequential numpy Generator for (seed, owner, purpose)."""
        key = stream_key(self.seed, owner, purpose)
        name = f"{owner}/{purpose}"
        self._record(name, key)
        return np.random.Generator(np.random.PCG64(np.random.SeedSequence([key & 0xFFFFFFFF, key >> 32, self.seed & _M64])))

    def counter(self, purpose: str, owner: str = "population") -> CounterStream:
        """A counter-based stream for per-index draws (see CounterStream)."""
        key = stream_key(self.seed, owner, purpose)
        name = f"{owner}/{purpose}"
        self._record(name, key)
        return CounterStream(name, key)

    def log(self) -> list[tuple[str, int]]:
        """Every stream created so far as (name, key), in creation order."""
        return list(self._log.items())
