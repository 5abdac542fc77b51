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
                arr, fields[key] = _packed(value, CONSUMER_ID_DTYPE if declared[key] == "id128" else np.dtype(declared[key]), copy)
                if n is not None and len(arr) != n:
                    raise ValueError(f"{cls.__name__}.pack: column {key} has {len(arr)} rows, expected {n}")
                n = len(arr)
            else:
                fields[key] = value
        return cls(n=n or 0, **fields)


def _packed(value: Any, dtype: np.dtype[Any], copy: bool) -> tuple[np.ndarray[Any, np.dtype[Any]], bytes | memoryview]:
    """An array as a column's bytes: copied, or a read-only view of it (`copy=False`)."""
    arr = np.ascontiguousarray(value, dtype=dtype)
    return arr, arr.tobytes() if copy else arr.reshape(-1).view(np.uint8).data.toreadonly()


#: dtype of the compact form's low words (scowl.wire.CompactIds)
LO_DTYPE = np.dtype("<u4")


class CompactIds(Batch, frozen=True):
    """A batch whose `ids` column (id128) may cross in a compact form: when every id has the
    same high word (one population's consumers do) and low words below 2^32 (a global index),
    `hi` holds the high word once and `lo` the low words as uint32, `ids` being empty: 4 bytes
    an id instead of 16 (a whole-state day's demand reports, 95 % of what it sends, are 2.5x
    smaller, and so is the CURVE work of encrypting them). Subclasses declare the fields
    `hi: int = 0` and `lo: bytes = b""` after their own. `column("ids")` gives the id128
    array in either form."""

    def __post_init__(self) -> None:
        lo: bytes = self.lo  # type: ignore[attr-defined]
        ids: bytes = self.ids  # type: ignore[attr-defined]
        n: int = self.n  # type: ignore[attr-defined]
        if not (lo or (n > 0 and not ids)):
            super().__post_init__()
            return
        if ids:
            raise ValueError(f"both forms of ids: {len(ids)} bytes of ids and {len(lo)} bytes of lo (one of them must be empty)")
        hi: int = self.hi  # type: ignore[attr-defined]
        if not 0 <= hi < 2**64:
            raise ValueError(f"hi {hi} outside [0, 2^64)")
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        _check_column("lo", lo, LO_DTYPE.itemsize, n)
        for name, dtype in self.COLUMNS:
            if name != "ids":
                _check_column(name, getattr(self, name), np.dtype(dtype).itemsize if dtype != "id128" else 16, n)

    @property
    def compact(self) -> bool:
        return bool(self.lo)  # type: ignore[attr-defined]

    def lo_words(self) -> np.ndarray[Any, np.dtype[Any]]:
        """The ids' low words (global indices), read-only, no 16-byte id built: the compact
        form's uint32 as received, else the 16-byte ids' `lo` field."""
        if self.compact:
            return np.frombuffer(self.lo, dtype=LO_DTYPE)  # type: ignore[attr-defined]
        lo: np.ndarray[Any, np.dtype[Any]] = super().column("ids")["lo"]
        return lo

    @property
    def nbytes(self) -> int:
        return super().nbytes + len(self.lo)  # type: ignore[attr-defined]

    def column(self, name: str) -> np.ndarray[Any, np.dtype[Any]]:
        """A read-only numpy view of one column; `ids` of the compact form is built (16 bytes
        an id) from `hi` and `lo`."""
        if name != "ids" or not self.compact:
            return super().column(name)
        out = np.empty(self.n, dtype=CONSUMER_ID_DTYPE)  # type: ignore[attr-defined]
        out["hi"] = self.hi  # type: ignore[attr-defined]
        out["lo"] = np.frombuffer(self.lo, dtype=LO_DTYPE)  # type: ignore[attr-defined]
        out.flags.writeable = False
        return out

    @classmethod
    def pack_compact(cls, hi: int, lo: Any, copy: bool = True, **columns: Any) -> Self:
        """The compact form: `hi` every id's high word, `lo` their low words (integers in
        [0, 2^32)), the other columns and scalars as `pack` takes them."""
        lo_arr = np.asarray(lo)
        fits = lo_arr.dtype.kind == "u" and lo_arr.itemsize <= LO_DTYPE.itemsize  # uint32 or narrower: no scan
        if lo_arr.size and not fits and (lo_arr.min() < 0 or lo_arr.max() >= 2**32):
            raise ValueError(f"{cls.__name__}.pack_compact: low words outside [0, 2^32)")
        lo_arr, lo_bytes = _packed(lo_arr, LO_DTYPE, copy)
        others = {k: v for k, v in columns.items() if k not in dict(cls.COLUMNS)}
        fields: dict[str, Any] = {}
        for key, dtype in cls.COLUMNS:
            if key == "ids":
                continue
            arr, fields[key] = _packed(columns[key], np.dtype(dtype), copy)
            if len(arr) != len(lo_arr):
                raise ValueError(f"{cls.__name__}.pack_compact: column {key} has {len(arr)} rows, expected {len(lo_arr)}")
        return cls(n=len(lo_arr), ids=b"", hi=int(hi), lo=lo_bytes, **fields, **others)

    @classmethod
    def pack_ids(cls, ids: Any, copy: bool = True, **columns: Any) -> Self:
        """`ids` (id128) in the compact form when every one has the same high word and a low
        word below 2^32 (one population's consumers), else as they are (`pack`)."""
        ids = np.asarray(ids, dtype=CONSUMER_ID_DTYPE)
        hi, lo = ids["hi"], ids["lo"]
        if ids.size and bool((hi == hi[0]).all()) and int(lo.max()) < 2**32:
            return cls.pack_compact(hi=int(hi[0]), lo=lo.astype(LO_DTYPE), copy=copy, **columns)
        return cls.pack(copy=copy, ids=ids, **columns)
