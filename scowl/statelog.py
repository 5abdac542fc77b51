"""The durable state log: what a run records goes to disk as the run goes, and every output
file is written atomically, so a run that dies keeps what it did.

While a run goes, the metronome appends each tick's rows to a journal,
RUN/state.journal.arrows: an Arrow IPC stream with one fixed schema

    tick int64, actor string, role string, figures map<string, float64>

one record batch per tick, handed to the OS at once (a killed process loses nothing written)
and fsync'ed every `SYNC_EVERY_TICKS` ticks or `SYNC_EVERY_S` seconds (an OS crash loses at
most those). At the end the rows are consolidated into RUN/state.parquet (one column per
figure, as `results.state_frame` makes it), written to a temporary file and renamed over,
and the journal is removed. A torn last batch (the writer died mid-write) is skipped on read.

`read_state_log(run_dir)` reads state.parquet, or rebuilds the same frame from the journal
when the run never got to consolidate it (killed, interrupted, disk full).
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from scowl.errors import ScowlError, UsageError

if TYPE_CHECKING:  # pandas and pyarrow load only where a state log is written or read (not in every node)
    import pandas as pd

log = logging.getLogger("scowl.statelog")

__all__ = ["JOURNAL", "STATE", "StateJournal", "StateLogError", "atomic_write", "atomic_write_json",
           "atomic_write_text", "journal_rows", "read_state_log", "run_is_partial"]

JOURNAL = "state.journal.arrows"
STATE = "state.parquet"
SYNC_EVERY_TICKS = 5
SYNC_EVERY_S = 2.0



def schema():
    """The journal's one schema: tick int64, actor string, role string, figures map<string, float64>."""
    import pyarrow as pa

    return pa.schema([
        ("tick", pa.int64()),
        ("actor", pa.string()),
        ("role", pa.string()),
        ("figures", pa.map_(pa.string(), pa.float64())),
    ])


class StateLogError(ScowlError):
    """The state log could not be written (disk full, directory gone): the run must stop."""


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write(path, write: Callable[[Path], object]) -> Path:
    """Write `path` through `write(tmp_path)` into a temporary file beside it, fsync it, then
    rename it over `path`: a reader sees the old file or the whole new one, never a torn one.
    A failure (disk full) removes the temporary file and raises StateLogError naming the file."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        write(tmp)
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise StateLogError(f"cannot write {path}: {_why(exc)}") from exc
    _fsync_dir(path.parent)
    return path


def atomic_write_text(path, text: str) -> Path:
    return atomic_write(path, lambda tmp: tmp.write_text(text))


def atomic_write_json(path, data, indent: int | None = 1, **kw) -> Path:
    return atomic_write_text(path, json.dumps(data, indent=indent, **kw))


def _why(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return "no space left on the device (disk full)"
    if exc.errno == errno.EDQUOT:
        return "disk quota exceeded"
    return f"{exc.strerror or exc} (errno {exc.errno})"


class StateJournal:
    """The append-only journal of one run's state log (see the module docstring)."""

    def __init__(self, path, sync_every_ticks: int = SYNC_EVERY_TICKS, sync_every_s: float = SYNC_EVERY_S) -> None:
        import pyarrow as pa

        self._pa = pa
        self._schema = schema()
        self.path = Path(path)
        self.sync_every_ticks = sync_every_ticks
        self.sync_every_s = sync_every_s
        self._pending: list[dict] = []
        self._file = None
        self._writer = None
        self._unsynced_ticks = 0
        self._last_sync = time.monotonic()
        self.rows_written = 0
        self.last_tick_written = -1
        self.failed: StateLogError | None = None
        try:
            self._file = open(self.path, "wb")
            self._writer = pa.ipc.new_stream(self._file, self._schema)
            self._file.flush()
            os.fsync(self._file.fileno())
        except OSError as exc:
            self._close_quietly()
            raise StateLogError(f"cannot start the state log {self.path}: {_why(exc)}") from exc

    def append(self, row: dict) -> None:
        """Queue one row ({"tick", "actor", "role", **figures}) for the next `write`."""
        self._pending.append(row)

    def write(self, tick: int, force_sync: bool = False) -> None:
        """Write the queued rows as one batch (tick `tick` is complete) and hand it to the OS;
        fsync when due. StateLogError when the disk refuses (the journal then stops: what was
        written before stays readable)."""
        if self.failed is not None:
            raise self.failed
        if self._writer is None:
            raise StateLogError(f"the state log {self.path} is closed")
        rows, self._pending = self._pending, []
        pa = self._pa
        try:
            if rows:
                batch = pa.RecordBatch.from_pydict({
                    "tick": [int(r["tick"]) for r in rows],
                    "actor": [str(r["actor"]) for r in rows],
                    "role": [str(r["role"]) for r in rows],
                    "figures": [[(k, float(v)) for k, v in r.items() if k not in ("tick", "actor", "role")] for r in rows],
                }, schema=self._schema)
                self._writer.write_batch(batch)
                assert self._file is not None  # open while the journal is
                self._file.flush()
                self.rows_written += len(rows)
            self.last_tick_written = max(self.last_tick_written, tick)
            self._unsynced_ticks += 1
            now = time.monotonic()
            if force_sync or self._unsynced_ticks >= self.sync_every_ticks or now - self._last_sync >= self.sync_every_s:
                assert self._file is not None
                os.fsync(self._file.fileno())
                self._unsynced_ticks = 0
                self._last_sync = now
        except (OSError, pa.ArrowIOError) as exc:
            self.failed = StateLogError(f"cannot write the state log {self.path} at tick {tick}: "
                                        f"{_why(exc) if isinstance(exc, OSError) else exc}; the ticks before it "
                                        f"(up to {self.last_tick_written}) stay readable")
            self._close_quietly()
            raise self.failed from exc

    def close(self) -> None:
        """Flush what is queued (as part of the last tick written) and close, fsync'ed."""
        if self._writer is None:
            return
        if self._pending:
            try:
                self.write(self.last_tick_written, force_sync=True)
            except StateLogError:
                return
        try:
            self._writer.close()  # the end-of-stream marker
            assert self._file is not None
            self._file.flush()
            os.fsync(self._file.fileno())
        except OSError:
            pass
        self._close_quietly()

    def _close_quietly(self) -> None:
        self._writer = None
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.close()
            self._file = None

    def remove(self) -> None:
        """The state log was consolidated into state.parquet: the journal is no longer needed."""
        self.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


def journal_rows(path) -> list[dict]:
    """Every complete batch of a journal as rows, in the order written; a torn tail (the
    writer was killed mid-batch, or the disk filled) ends the reading, it does not fail it.
    A stand-in row (`absent` = 1) that a later real row for the same tick and actor replaced
    is dropped, as the metronome replaces it in memory."""
    import pyarrow as pa

    rows: list[dict] = []
    with pa.OSFile(str(path), "rb") as src:
        try:
            reader = pa.ipc.open_stream(src)
        except (pa.ArrowInvalid, OSError):
            return rows
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                break
            except (pa.ArrowInvalid, OSError):  # torn tail
                break
            d = batch.to_pydict()
            for tick, actor, role, figures in zip(d["tick"], d["actor"], d["role"], d["figures"]):
                rows.append({"tick": tick, "actor": actor, "role": role, **dict(figures)})
    real = {(r["tick"], r["actor"]) for r in rows if r.get("absent") != 1.0}
    return [r for r in rows if r.get("absent") != 1.0 or (r["tick"], r["actor"]) not in real]


def state_frame(records: list[dict]) -> pd.DataFrame:
    """The state log as a frame: one row per (tick, actor), sorted by tick then actor."""
    import pandas as pd

    df = pd.DataFrame.from_records(records)
    if len(df):
        df = df.sort_values(["tick", "actor"], kind="stable").reset_index(drop=True)
    else:  # stopped before tick 0: no rows, but the columns every reader selects on
        df = pd.DataFrame({"tick": pd.Series(dtype="int64"), "actor": pd.Series(dtype="str"), "role": pd.Series(dtype="str")})
    return df


def read_state_log(run_dir) -> pd.DataFrame:
    """A run's state log: state.parquet, or (a run that never consolidated it: killed,
    interrupted, disk full) the same frame rebuilt from its journal."""
    import pandas as pd

    run_dir = Path(run_dir)
    state = run_dir / STATE
    if state.is_file():
        return pd.read_parquet(state)
    journal = run_dir / JOURNAL
    if journal.is_file():
        return state_frame(journal_rows(journal))
    raise UsageError(f"{run_dir}: expected the run's state log ({STATE}, or {JOURNAL} of an interrupted run), found neither")


def run_is_partial(run_dir) -> bool:
    """True when the run did not finish: its summary says partial, or there is no summary."""
    summary = Path(run_dir) / "summary.json"
    if not summary.is_file():
        return True
    try:
        return bool(json.loads(summary.read_text()).get("partial", False))
    except (OSError, json.JSONDecodeError):
        return True
