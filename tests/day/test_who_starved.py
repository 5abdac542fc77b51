"""Who starved: the per-consumer table (RUN/consumers.parquet) of every consumer ever starved,
choked or deferring, whose sums are the summary's; and figures that cannot overflow."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from scowl.actors.consumer import CLASS_NAMES, Population
from scowl.analysis.service import LatencyBook, ServiceBooks
from scowl.model.zones import ZONES, consumer_zones


def _table_matches_summary(out, summary):
    table = pd.read_parquet(out / "consumers.parquet")
    assert not list(out.glob("consumers-*.part*")), "the populations' parts are merged and removed"
    st = summary["starvation"]
    tick_s = summary["tick_seconds"]
    assert (table["starved_s"] > 0).sum() == st["consumers_starved"]
    assert table["starved_s"].sum() == pytest.approx(st["consumer_ticks_starved"] * tick_s)
    assert st["mean_starved_s"] == pytest.approx(table.loc[table["starved_s"] > 0, "starved_s"].mean())
    assert table["starved_s"].max() == st["max_starved_s"]
    by_class = st["by_class"]
    assert set(by_class) == set(CLASS_NAMES)
    assert sum(c["starved"] for c in by_class.values()) == st["consumers_starved"]
    assert sum(c["consumers"] for c in by_class.values()) == summary["peers"]["consumers"] + summary["peers"]["fixed_load_blocks"]
    assert 0 < st["jain_index_starved_s"] <= 1
    assert set(table["customer_class"].astype(str)) <= set(CLASS_NAMES)
    assert table["id_lo"].is_unique
    # the zone column is each consumer's load zone, a function of its global index (id_lo)
    assert list(table["zone"].cat.categories) == sorted(set(table["zone"].astype(str)))
    np.testing.assert_array_equal(table["zone"].astype(str).to_numpy(),
                                  np.array(list(ZONES))[consumer_zones(table["id_lo"].to_numpy(), summary["seed"])])
    return table


def test_the_table_sums_to_the_summary(small_run):
    out, summary = small_run
    _table_matches_summary(out, summary)


def test_the_partitioned_days_table_carries_choked_and_deferred_energy(partition_run):
    out, summary = partition_run
    table = _table_matches_summary(out, summary)
    part = summary["partition"]
    assert table["deferred_kwh"].sum() / 1e3 == pytest.approx(part["deferred_mwh"], rel=1e-6)
    assert table["expired_kwh"].sum() / 1e3 == pytest.approx(part["expired_mwh"], rel=1e-6)
    assert (table["deferred_kwh"] > 0).sum() == part["consumers_deferring"]
    assert (table["choked_s"] > 0).sum() > 0


def test_one_consumer_starved_all_day_does_not_wrap():
    """uint16 tick counts times 300 s used to wrap past 218 ticks (14,864 s beside a 25,693 s mean)."""
    ticks = 288
    pop = object.__new__(Population)
    n = 3
    pop.n, pop.n_consumers = n, 2
    pop.pop = SimpleNamespace(kind=np.array([0, 1], dtype=np.uint8))
    pop.scenario = SimpleNamespace(tick_seconds=300, seed=42)
    pop.plan = SimpleNamespace(out_dir="", trackers=["tracker-0"])
    pop.books = ServiceBooks(n)
    pop.books.spell[0] = ticks  # still starved at the end: one spell, the whole day
    pop.books.starved_ticks[0] = ticks
    pop.books.spells[0] = 1
    pop.mgr = np.zeros(n, dtype=np.uint8)
    pop.dr = None
    pop.latency = LatencyBook()
    pop.unknown_ids = pop.resyncs = 0
    pop.assigns = SimpleNamespace(interim_applied=0, late_handed=2)  # (real time: Assigns applied before their tick; late handed parts)
    pop.tick_now = ticks - 1
    pop.ids_at = lambda pos: np.zeros(len(pos), dtype=[("hi", "<u8"), ("lo", "<u8")])
    pop.global_at = lambda pos: np.asarray(pos, dtype=np.int64)
    f = pop.final_figures()
    assert f["starved_per_consumer_max_s"] == ticks * 300 == 86_400
    assert f["starved_spell_max_s"] == 86_400
    assert f["starved_consumer_seconds"] == 86_400
    assert f["class_consumers:residential"] == 1 and f["class_consumers:fixed load"] == 1
    assert f["late_handed"] == 2 and f["interim_assigns"] == 0
    table = dict(pop.who_starved())
    assert table["starved_s"].tolist() == [86_400.0] and table["starved_spells"].tolist() == [1]
    assert table["zone"].dtype == np.uint8 and table["zone"].tolist() == consumer_zones([0], 42).tolist()
