"""Columnar batches: many logical messages in one message.

Batches are first-class: a batch message carries many logical messages as columns
(numpy arrays packed to bytes), e.g. the demand of 100,000 consumers, each keeping its own
128-bit id on the wire; `len(batch)` is the number of logical messages it carries.
"""

from __future__ import annotations

from typing import Any, ClassVar, Self

import numpy as np

from scowl.wire.codec import Message

#: dtype of a 128-bit consumer id on the wire: two little-endian uint64 words (hi, lo)
CONSUMER_ID_DTYPE = np.dtype([("hi", "<u8"), ("lo", "<u8")])


def _check_column(name: str, data: bytes, itemsize: int, n: int) -> None:
    if len(data) != itemsize * n:
        raise ValueError(f"column {name}: {len(data)} bytes, expected {itemsize} x {n} = {itemsize * n}")


class Batch(Message, frozen=True):
    """Base of columnar batches: `n` logical messages, one column per field, packed little-endian.

    Subclasses declare COLUMNS = (("field", "dtype"), ...); __post_init__ checks every column's
    length against n, so a mutated batch is rejected as `invalid` instead of misread."""

    COLUMNS: ClassVar[tuple[tuple[str, str], ...]] = ()

    def __post_init__(self) -> None:
        n = self.n  # type: ignore[attr-defined]
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        for name, dtype in self.COLUMNS:
            _check_column(name, getattr(self, name), np.dtype(dtype).itemsize if dtype != "id128" else 16, n)

    def __len__(self) -> int:
        n: int = self.n  # type: ignore[attr-defined]
        return n

    @property
    def nbytes(self) -> int:
        """Bytes of its columns (what its frame carries, give or take the envelope)."""
        return sum(len(getattr(self, name)) for name, _ in self.COLUMNS)

    def column(self, name: str) -> np.ndarray[Any, np.dtype[Any]]:
        """A read-only numpy view of one column (no copy)."""
        dtype = dict(self.COLUMNS)[name]
        return np.frombuffer(getattr(self, name), dtype=CONSUMER_ID_DTYPE if dtype == "id128" else np.dtype(dtype))

    @classmethod
    def pack(cls, copy: bool = True, **columns: Any) -> Self:
        """Build a batch from numpy arrays (one per declared column) plus any scalar fields.
        `copy=False`: the batch holds read-only views of the arrays (no copy; an array of
        another dtype or layout is still converted): the caller must not change them while
        the batch is in use (sending encodes it at once: a batch that is only sent can be
        built from temporaries without a copy)."""
        fields: dict[str, Any] = {}
        n: int | None = None
        declared = dict(cls.COLUMNS)
        for key, value in columns.items():
            if key in declared:
                dtype = CONSUMER_ID_DTYPE if declared[key] == "id128" else np.dtype(declared[key])
                arr = np.ascontiguousarray(value, dtype=dtype)
                if n is not None and len(arr) != n:
                    raise ValueError(f"{cls.__name__}.pack: column {key} has {len(arr)} rows, expected {n}")
                n = len(arr)
                fields[key] = arr.tobytes() if copy else arr.reshape(-1).view(np.uint8).data.toreadonly()
            else:
                fields[key] = value
        return cls(n=n or 0, **fields)
