"""Who starved: the populations' per-consumer tables merged into RUN/consumers.parquet, the
starved share by customer class, and Jain's fairness index of starved time (pure functions).

The merge streams: the parts are read and written in batches of `MERGE_BATCH_ROWS` and the
figures are accumulated on the way (`StarvedTotals`), so the metronome holds a batch, not
the table (at full scale in a stressed day every consumer of the state can be a row)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from scowl.statelog import atomic_write

if TYPE_CHECKING:  # pyarrow loads only where a table is written (a population's last act, the results)
    import pyarrow as pa

MERGE_BATCH_ROWS = 1 << 18
CATEGORICAL = ("customer_class", "region")


@dataclass
class StarvedTotals:
    """What the summary needs from the per-consumer table, summed batch by batch."""

    rows: int = 0
    starved: dict[str, int] = field(default_factory=dict)  # customer class -> consumers ever starved
    starved_s: dict[str, float] = field(default_factory=dict)  # customer class -> their starved seconds
    sum_s: float = 0.0  # starved seconds over every row
    sum_s2: float = 0.0  # and their squares (Jain's index)

    def add(self, classes: np.ndarray, class_names: list[str], starved_s: np.ndarray) -> None:
        """One batch: `classes` indexes `class_names`, `starved_s` (float64) per row."""
        self.rows += starved_s.size
        self.sum_s += float(starved_s.sum())
        self.sum_s2 += float(np.dot(starved_s, starved_s))
        hit = starved_s > 0
        counts = np.bincount(classes[hit], minlength=len(class_names))
        secs = np.bincount(classes[hit], weights=starved_s[hit], minlength=len(class_names))
        for k, name in enumerate(class_names):
            if counts[k]:
                self.starved[name] = self.starved.get(name, 0) + int(counts[k])
                self.starved_s[name] = self.starved_s.get(name, 0.0) + float(secs[k])


def _batches(path: Path, rows: int):
    import pyarrow.parquet as pq

    with pq.ParquetFile(path) as f:
        yield from f.iter_batches(batch_size=rows)


def _increasing(hi: np.ndarray, lo: np.ndarray) -> bool:
    """True when the (hi, lo) pairs strictly increase."""
    return bool(np.all((hi[1:] > hi[:-1]) | ((hi[1:] == hi[:-1]) & (lo[1:] > lo[:-1]))))


def _ordered_parts(parts: list[Path], rows: int) -> list[Path] | None:
    """The parts in id order when each is sorted by (id_hi, id_lo) and their ranges do not
    interleave (a population's ids share one id_hi: they never do), else None."""
    spans = []
    for p in parts:
        first: tuple[int, int] | None = None
        last: tuple[int, int] | None = None
        for b in _batches(p, rows):
            if not b.num_rows:
                continue
            hi, lo = b.column("id_hi").to_numpy(), b.column("id_lo").to_numpy()
            if not _increasing(hi, lo) or (last is not None and not (int(hi[0]), int(lo[0])) > last):
                return None
            first = (int(hi[0]), int(lo[0])) if first is None else first
            last = (int(hi[-1]), int(lo[-1]))
        if first is not None and last is not None:
            spans.append((first, last, p))
    spans.sort(key=lambda s: s[0])
    if any(not b[0] > a[1] for a, b in zip(spans, spans[1:])):
        return None
    empty = [p for p in parts if p not in {s[2] for s in spans}]
    return [p for _, _, p in spans] + empty


def _categories(parts: list[Path], rows: int) -> dict[str, list[str]]:
    """Each categorical column's values over every part, sorted (parts may differ)."""
    import pyarrow.parquet as pq

    seen: dict[str, set[str]] = {c: set() for c in CATEGORICAL}
    for p in parts:
        with pq.ParquetFile(p) as f:
            for b in f.iter_batches(batch_size=rows, columns=list(CATEGORICAL)):
                for c in CATEGORICAL:
                    col = b.column(c)
                    seen[c].update(col.dictionary.to_pylist() if hasattr(col, "dictionary") else col.unique().to_pylist())
    return {c: sorted(v for v in s if v is not None) for c, s in seen.items()}


def _recoded(batch, categories: dict[str, list[str]]):
    """The batch with its categorical columns as dictionaries over the merged categories."""
    import pyarrow as pa

    cols = []
    for name in batch.schema.names:
        col = batch.column(name)
        if name in categories:
            values = col.dictionary_decode() if hasattr(col, "dictionary") else col
            codes = pa.compute.index_in(values, value_set=pa.array(categories[name], pa.string())).cast(pa.int32())
            col = pa.DictionaryArray.from_arrays(codes, pa.array(categories[name], pa.string()))
        cols.append(col)
    return pa.RecordBatch.from_arrays(cols, names=batch.schema.names)


def merge_consumer_tables(out: Path, rows: int = MERGE_BATCH_ROWS) -> StarvedTotals | None:
    """RUN/consumers.parquet: the populations' per-consumer tables (RUN/consumers-*.parquet,
    removed once merged) as one, sorted by id, streamed in batches of `rows`; the figures the
    summary needs, summed on the way. None when no population wrote a table."""
    parts = sorted(out.glob("consumers-*.parquet"))
    if not parts:
        return None
    ordered = _ordered_parts(parts, rows)
    if ordered is None:  # ids interleave (not what populations write): sort in memory
        _sort_in_memory(parts)
        parts = ordered = sorted(out.glob("consumers-*.parquet"))
    categories = _categories(ordered, rows)
    totals = StarvedTotals()
    class_names = categories["customer_class"]

    def write(tmp: Path) -> None:
        import pyarrow.parquet as pq

        writer = None
        try:
            for p in ordered:
                for b in _batches(p, rows):
                    b = _recoded(b, categories)
                    if writer is None:
                        writer = pq.ParquetWriter(tmp, b.schema)
                    writer.write_batch(b, row_group_size=rows)
                    classes = b.column("customer_class").indices.to_numpy(zero_copy_only=False).astype(np.intp)
                    totals.add(classes, class_names, b.column("starved_s").to_numpy(zero_copy_only=False).astype(np.float64))
            if writer is None:  # every part empty: an empty table with the parts' columns
                pq.write_table(pq.read_table(ordered[0]).slice(0, 0), tmp)
        finally:
            if writer is not None:
                writer.close()

    atomic_write(out / "consumers.parquet", write)
    for p in parts:
        p.unlink()
    return totals


def _sort_in_memory(parts: list[Path]) -> None:
    """Parts whose ids interleave: one sorted part (the whole table in memory)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.concat_tables([pq.read_table(p) for p in parts], promote_options="permissive")
    table = table.sort_by([("id_hi", "ascending"), ("id_lo", "ascending")])
    merged = parts[0].with_name("consumers-merged.parquet")
    pq.write_table(table, merged)
    for p in parts:
        if p != merged:
            p.unlink()


def write_tables(path: Path, tables: Iterable[pa.Table]) -> None:
    """One Parquet file from tables of one schema, a row group each (only one table in memory)."""
    import pyarrow.parquet as pq

    writer = None
    try:
        for t in tables:
            if writer is None:
                writer = pq.ParquetWriter(path, t.schema)
            writer.write_table(t)
    finally:
        if writer is not None:
            writer.close()


def jain_index(x: np.ndarray, n: int | None = None) -> float:
    """Jain's fairness index of `x` over `n` members (those not listed have 0): (sum x)^2 /
    (n sum x^2); 1 when all bear the same, 1/n when one bears everything; 1 when none bears any."""
    x = np.asarray(x, dtype=np.float64)
    return jain_of_sums(float(x.sum()), float((x * x).sum()), x.size if n is None else n)


def jain_of_sums(s: float, sq: float, n: int) -> float:
    """Jain's index from the sum and the sum of squares of n members' shares."""
    return s ** 2 / (n * sq) if sq > 0 and n > 0 else 1.0


def fairness_figures(totals: StarvedTotals, finals: dict[str, dict]) -> dict:
    """Who starved, from the per-consumer table's totals: by customer class (consumers, ever
    starved, the starved share, starved seconds) and Jain's index of starved time over every consumer."""
    pops = [f for f in finals.values() if f.get("role") == "consumer"]
    counts: dict[str, int] = {}
    for f in pops:
        for k, v in f.items():
            if k.startswith("class_consumers:"):
                counts[k.split(":", 1)[1]] = counts.get(k.split(":", 1)[1], 0) + int(v)
    by_class = {}
    for cls, n in sorted(counts.items()):
        starved = totals.starved.get(cls, 0)
        by_class[cls] = {"consumers": n, "starved": starved, "starved_share": starved / n if n else 0.0,
                         "starved_s": totals.starved_s.get(cls, 0.0)}
    n_all = sum(counts.values()) or int(sum(f.get("consumers", 0) for f in pops))
    return {"by_class": by_class, "jain_index_starved_s": jain_of_sums(totals.sum_s, totals.sum_s2, n_all),
            "table_rows": totals.rows}


def who_starved_table(ids: np.ndarray, kinds: np.ndarray, class_names: tuple[str, ...], regions: np.ndarray,
                      region_names: list[str], starved_ticks: np.ndarray, spells: np.ndarray, choked_ticks: np.ndarray,
                      deferred_kwh: np.ndarray, expired_kwh: np.ndarray, tick_seconds: float) -> pa.Table:
    """One row per consumer ever starved, choked or deferring (the arrays hold those rows only),
    as an Arrow table (pyarrow, not pandas: ~40 MB less in a population at the end of its run):
    times in seconds as floats (tick counts are uint16 and would wrap if multiplied first)."""
    import pyarrow as pa

    def category(codes: np.ndarray, names) -> pa.DictionaryArray:
        dtype = np.int8 if len(names) < 128 else np.int32
        return pa.DictionaryArray.from_arrays(pa.array(np.asarray(codes, dtype=dtype)), pa.array(list(names), pa.string()))

    return pa.table({
        "id_hi": np.ascontiguousarray(ids["hi"]), "id_lo": np.ascontiguousarray(ids["lo"]),
        "customer_class": category(kinds, class_names),
        "region": category(regions, region_names),
        "starved_s": starved_ticks.astype(np.float64) * tick_seconds,
        "starved_spells": spells.astype(np.int64),
        "choked_s": choked_ticks.astype(np.float64) * tick_seconds,
        "deferred_kwh": np.asarray(deferred_kwh, dtype=np.float64), "expired_kwh": np.asarray(expired_kwh, dtype=np.float64),
    })
