"""Who starved: the populations' per-consumer tables merged into RUN/consumers.parquet, the
starved share by customer class, and Jain's fairness index of starved time (pure functions).

The merge streams: the parts are read and written in batches of `MERGE_BATCH_ROWS` and the
figures are accumulated on the way (`StarvedTotals`), so the metronome holds a batch, not
the table (at full scale in a stressed day every consumer of the state can be a row)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from scowl.statelog import atomic_write

if TYPE_CHECKING:  # pyarrow loads only where the table is written (the results), never in a population
    import pyarrow as pa

MERGE_BATCH_ROWS = 1 << 18
CATEGORICAL = ("customer_class", "region", "zone")
#: a population's part: one .npy file per column (numpy only: no pyarrow in a population),
#: meta.json last (row count, category names); the merge reads it through memory maps
COLUMNS = ("id_hi", "id_lo", "customer_class", "region", "zone", "starved_s", "starved_spells", "choked_s",
           "deferred_kwh", "expired_kwh")
PART = "consumers-{}.part"


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


def write_part(path: Path, columns: Iterable[tuple[str, np.ndarray]], categories: dict[str, list[str]]) -> None:
    """A population's who-starved rows as directory `path` of one .npy per column (given one at
    a time, so only one is in memory), codes of the CATEGORICAL columns into `categories`;
    meta.json is written last and the directory renamed into place (a torn part is never read)."""
    tmp = path.with_name(path.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    rows = 0
    for name, values in columns:
        np.save(tmp / f"{name}.npy", np.ascontiguousarray(values))
        rows = len(values)
    (tmp / "meta.json").write_text(json.dumps({"rows": rows, "categories": categories}))
    shutil.rmtree(path, ignore_errors=True)
    tmp.rename(path)


def _meta(part: Path) -> dict:
    meta: dict = json.loads((part / "meta.json").read_text())
    return meta


def _column(part: Path, name: str, rows: int) -> np.ndarray:
    """One column of a part, memory-mapped (an empty one read whole: nothing to map)."""
    column: np.ndarray = np.load(part / f"{name}.npy", mmap_mode="r" if rows else None)
    return column


def _lookup(own: list[str], names: list[str]) -> np.ndarray:
    """Codes into `own` -> codes into `names` (a name not in `names` is not used by any row: 0)."""
    return np.array([names.index(v) if v in names else 0 for v in own] or [0], dtype=np.int32)


def _batches(part: Path, rows: int, categories: dict[str, list[str]]) -> Iterator[pa.RecordBatch]:
    """A part as record batches of at most `rows` rows (one empty batch for an empty part), its
    CATEGORICAL columns as dictionaries over `categories`."""
    import pyarrow as pa

    meta = _meta(part)
    n = int(meta["rows"])
    cols = {c: _column(part, c, n) for c in COLUMNS}
    lut = {c: _lookup(meta["categories"][c], categories[c]) for c in CATEGORICAL}
    for a in range(0, max(n, 1), rows):
        arrays = []
        for c in COLUMNS:
            x = np.asarray(cols[c][a:a + rows])
            if c in lut:
                arrays.append(pa.DictionaryArray.from_arrays(pa.array(lut[c][x.astype(np.intp)]), pa.array(categories[c], pa.string())))
            else:
                arrays.append(pa.array(x))
        yield pa.RecordBatch.from_arrays(arrays, names=list(COLUMNS))


def _increasing(hi: np.ndarray, lo: np.ndarray) -> bool:
    """True when the (hi, lo) pairs strictly increase."""
    return bool(np.all((hi[1:] > hi[:-1]) | ((hi[1:] == hi[:-1]) & (lo[1:] > lo[:-1]))))


def _ordered_parts(parts: list[Path], rows: int) -> list[Path] | None:
    """The parts in id order when each is sorted by (id_hi, id_lo) and their ranges do not
    interleave (a population's ids share one id_hi: they never do), else None."""
    spans = []
    for p in parts:
        n = int(_meta(p)["rows"])
        if not n:
            continue
        hi_all, lo_all = _column(p, "id_hi", n), _column(p, "id_lo", n)
        for a in range(0, n, rows):  # chunks overlapping by one row: the order holds across them
            if not _increasing(np.asarray(hi_all[max(a - 1, 0):a + rows]), np.asarray(lo_all[max(a - 1, 0):a + rows])):
                return None
        spans.append(((int(hi_all[0]), int(lo_all[0])), (int(hi_all[-1]), int(lo_all[-1])), p))
    spans.sort(key=lambda s: s[0])
    if any(not b[0] > a[1] for a, b in zip(spans, spans[1:])):
        return None
    return [p for _, _, p in spans] + [p for p in parts if p not in {s[2] for s in spans}]


def _categories(parts: list[Path], rows: int) -> dict[str, list[str]]:
    """Each categorical column's values present in any part, sorted (as pandas makes categories)."""
    seen: dict[str, set[str]] = {c: set() for c in CATEGORICAL}
    for p in parts:
        meta = _meta(p)
        n = int(meta["rows"])
        for c in CATEGORICAL:
            names = meta["categories"][c]
            codes = _column(p, c, n)
            used = np.zeros(len(names), dtype=bool)
            for a in range(0, n, rows):
                used |= np.bincount(np.asarray(codes[a:a + rows], dtype=np.intp), minlength=len(names))[: len(names)] > 0
            seen[c].update(v for v, u in zip(names, used) if u)
    return {c: sorted(s) for c, s in seen.items()}


def merge_consumer_tables(out: Path, rows: int = MERGE_BATCH_ROWS) -> StarvedTotals | None:
    """RUN/consumers.parquet: the populations' per-consumer parts (RUN/consumers-*.part, removed
    once merged) as one table sorted by id, streamed in batches of `rows`; the figures the
    summary needs, summed on the way. None when no population wrote a part."""
    parts = sorted(p for p in out.glob(PART.format("*")) if (p / "meta.json").is_file())
    if not parts:
        return None
    ordered = _ordered_parts(parts, rows)
    if ordered is None:  # ids interleave (not what populations write): sort in memory
        parts = ordered = [_sort_in_memory(parts)]
    categories = _categories(ordered, rows)
    totals = StarvedTotals()
    class_names = categories["customer_class"]

    def write(tmp: Path) -> None:
        import pyarrow.parquet as pq

        writer = None
        try:
            for p in ordered:
                for b in _batches(p, rows, categories):
                    if writer is None:
                        writer = pq.ParquetWriter(tmp, b.schema)
                    elif not b.num_rows:
                        continue
                    writer.write_batch(b, row_group_size=rows)
                    classes = b.column("customer_class").indices.to_numpy(zero_copy_only=False).astype(np.intp)
                    totals.add(classes, class_names, b.column("starved_s").to_numpy(zero_copy_only=False).astype(np.float64))
        finally:
            if writer is not None:
                writer.close()

    atomic_write(out / "consumers.parquet", write)
    for p in parts:
        shutil.rmtree(p)
    return totals


def _sort_in_memory(parts: list[Path]) -> Path:
    """Parts whose ids interleave: one sorted part (the whole table in memory), the others removed."""
    metas = [_meta(p) for p in parts]
    names = {c: sorted({v for m in metas for v in m["categories"][c]}) for c in CATEGORICAL}
    cols: dict[str, np.ndarray] = {}
    for c in COLUMNS:
        pieces = []
        for p, m in zip(parts, metas):
            x = np.load(p / f"{c}.npy")
            pieces.append(_lookup(m["categories"][c], names[c])[x.astype(np.intp)] if c in CATEGORICAL else x)
        cols[c] = np.concatenate(pieces)
    order = np.lexsort((cols["id_lo"], cols["id_hi"]))
    merged = parts[0].with_name(PART.format("merged"))
    write_part(merged, ((c, cols[c][order]) for c in COLUMNS), names)
    for p in parts:
        if p != merged:
            shutil.rmtree(p)
    return merged


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


def who_starved_columns(ids: np.ndarray, kinds: np.ndarray, regions: np.ndarray, zones: np.ndarray, starved_ticks: np.ndarray,
                        spells: np.ndarray, choked_ticks: np.ndarray, deferred_kwh: np.ndarray, expired_kwh: np.ndarray,
                        tick_seconds: float) -> Iterator[tuple[str, np.ndarray]]:
    """The columns of the who-starved rows (the arrays hold those rows only), one at a time in
    COLUMNS order: times in seconds as floats (tick counts are uint16 and would wrap if
    multiplied first); class, region and load zone as codes (their names go in the part's meta;
    zones: 0 = A .. 10 = K, scowl.model.zones.ZONES)."""
    yield "id_hi", ids["hi"]
    yield "id_lo", ids["lo"]
    yield "customer_class", np.asarray(kinds, dtype=np.uint8)
    yield "region", np.asarray(regions, dtype=np.uint16)
    yield "zone", np.asarray(zones, dtype=np.uint8)
    yield "starved_s", starved_ticks.astype(np.float64) * tick_seconds
    yield "starved_spells", spells.astype(np.int64)
    yield "choked_s", choked_ticks.astype(np.float64) * tick_seconds
    yield "deferred_kwh", np.asarray(deferred_kwh, dtype=np.float64)
    yield "expired_kwh", np.asarray(expired_kwh, dtype=np.float64)
