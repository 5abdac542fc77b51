"""The who-starved merge streams the populations' parts in batches: the merged table and the
summary's figures are those of the whole table sorted in memory, whatever the batch size."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scowl.analysis.fairness import PART, fairness_figures, jain_index, merge_consumer_tables, who_starved_columns, write_part
from scowl.model.zones import ZONES

CLASSES = ("residential", "commercial", "fixed load")


def _part(out, name, hi, lo, trackers, rng):
    """A population's part as populations write it; returns the same rows as a frame."""
    n = lo.size
    ids = np.zeros(n, dtype=[("hi", "<u8"), ("lo", "<u8")])
    ids["hi"], ids["lo"] = hi, lo
    starved = rng.integers(0, 4, n).astype(np.uint16)
    kinds, regions = rng.integers(0, 3, n).astype(np.uint8), rng.integers(0, len(trackers), n).astype(np.uint8)
    zones = rng.integers(0, len(ZONES), n).astype(np.uint8)
    cols = dict(who_starved_columns(ids, kinds, regions, zones, starved, (starved > 0).astype(np.uint16),
                                    rng.integers(0, 2, n).astype(np.uint16), rng.random(n), rng.random(n) / 10, 300.0))
    write_part(out / PART.format(name), cols.items(), {"customer_class": list(CLASSES), "region": list(trackers), "zone": list(ZONES)})
    frame = pd.DataFrame(cols)
    frame["customer_class"] = pd.Categorical.from_codes(kinds, list(CLASSES))
    frame["region"] = pd.Categorical.from_codes(regions, list(trackers))
    frame["zone"] = pd.Categorical.from_codes(zones, list(ZONES))
    return frame


def _reference(frames):
    table = pd.concat(frames, ignore_index=True)
    for col in ("customer_class", "region", "zone"):
        table[col] = table[col].astype(str).astype("category")
    return table.sort_values(["id_hi", "id_lo"], kind="stable").reset_index(drop=True)


@pytest.mark.parametrize("interleaved", [False, True], ids=["one-hi-each", "ids-interleave"])
@pytest.mark.parametrize("rows", [3, 1 << 18])
def test_the_streamed_merge_is_the_sorted_table(tmp_path, rows, interleaved):
    rng = np.random.default_rng(7)
    his = (5, 5) if interleaved else (9, 2)  # the second part's ids come first, or interleave with the first's
    frames = [
        _part(tmp_path, "population-0", his[0], np.arange(0, 40, 2, dtype=np.uint64), ["tracker-0", "tracker-1"], rng),
        _part(tmp_path, "population-1", his[1], np.arange(1, 30, 2, dtype=np.uint64), ["tracker-0", "tracker-2"], rng),
    ]
    totals = merge_consumer_tables(tmp_path, rows=rows)
    merged = pd.read_parquet(tmp_path / "consumers.parquet")
    expected = _reference(frames)
    pd.testing.assert_frame_equal(merged, expected)
    assert not list(tmp_path.glob("consumers-*.part*")), "the parts are removed once merged"

    finals = {"population-0": {"role": "consumer", **{f"class_consumers:{c}": 20 for c in CLASSES}},
              "population-1": {"role": "consumer", **{f"class_consumers:{c}": 10 for c in CLASSES}}}
    assert totals is not None
    got = fairness_figures(totals, finals)
    assert got["table_rows"] == len(expected)
    assert got["jain_index_starved_s"] == pytest.approx(jain_index(expected["starved_s"].to_numpy(), 90))
    starved = expected[expected["starved_s"] > 0]
    for cls in CLASSES:
        rows_of = starved[starved["customer_class"].astype(str) == cls]
        assert got["by_class"][cls]["starved"] == len(rows_of)
        assert got["by_class"][cls]["starved_s"] == pytest.approx(rows_of["starved_s"].sum())
        assert got["by_class"][cls]["consumers"] == 30


def test_no_parts_no_table(tmp_path):
    assert merge_consumer_tables(tmp_path) is None
    assert not (tmp_path / "consumers.parquet").exists()


def test_empty_parts_merge_into_an_empty_table(tmp_path):
    rng = np.random.default_rng(1)
    _part(tmp_path, "population-0", 3, np.zeros(0, dtype=np.uint64), ["tracker-0"], rng)
    totals = merge_consumer_tables(tmp_path)
    assert totals is not None and totals.rows == 0
    assert len(pd.read_parquet(tmp_path / "consumers.parquet")) == 0
