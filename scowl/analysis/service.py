"""What each consumer got: the books a population keeps tick by tick (served, starved, choked
in a blacked-out tree, starvation spells), per consumer as small integer arrays, and the
figures its final report gives from them. Pure numpy: no sockets, no clock."""

from __future__ import annotations

import numpy as np

#: this tick's figures of a population, summed block by block by `ServiceBooks.count`
TICK_FIGURES = ("consumed_mw", "served_mw", "starved_mw", "choked_mw", "assigned", "served", "starved", "choked")


class ServiceBooks:
    """Per-consumer service counts of one population (n consumers and fixed-load blocks).
    Tick counts are uint16: they become seconds only as floats (times 300 s they would wrap)."""

    def __init__(self, n: int) -> None:
        self.spell = np.zeros(n, dtype=np.uint16)  # consecutive starved ticks now
        self.starved_ticks = np.zeros(n, dtype=np.uint16)  # all starved ticks so far
        self.spells = np.zeros(n, dtype=np.uint16)  # starvation spells begun
        self.choked_ticks = np.zeros(n, dtype=np.uint16)  # ticks in a blacked-out tree
        self.spells_ended: list[np.ndarray] = []  # lengths (ticks) of the spells that ended

    @staticmethod
    def tick_figures() -> dict[str, float]:
        """A tick's figures before the first block is counted."""
        return dict.fromkeys(TICK_FIGURES, 0.0)

    def count(self, figures: dict[str, float], a: int, b: int, demand: np.ndarray, served: np.ndarray,
              choked: np.ndarray | None) -> None:
        """Count consumers a..b of this tick into `figures` and the books: `demand` (MW),
        `served` (on a generator), `choked` (on a generator whose tree blacked out; None: none
        is). A block where everyone is served and nobody's spell ends (most blocks of most
        ticks) costs two passes: the sum and the served count."""
        spell = self.spell[a:b]
        consumed = float(np.sum(demand, dtype=np.float64))
        figures["consumed_mw"] += consumed
        n_served = int(np.count_nonzero(served))
        figures["assigned"] += n_served
        if choked is None and n_served == b - a and not spell.any():
            # nobody starved or choked here, no spell ends: the sums over every consumer
            # (summing where a mask is all True adds the same numbers in the same order)
            figures["served_mw"] += consumed
            figures["served"] += n_served
            return
        if choked is None:
            choked = np.zeros(b - a, dtype=bool)
        starved = ~served
        ok = served & ~choked
        figures["served_mw"] += float(np.sum(demand, where=ok, dtype=np.float64))
        figures["starved_mw"] += float(np.sum(demand, where=starved, dtype=np.float64))
        figures["choked_mw"] += float(np.sum(demand, where=choked, dtype=np.float64))
        figures["served"] += int(np.count_nonzero(ok))
        figures["starved"] += b - a - n_served
        figures["choked"] += int(np.count_nonzero(choked))
        # starvation spells: a spell ends when a starved consumer is served again
        ended = served & (spell > 0)
        if ended.any():
            self.spells_ended.append(spell[ended].copy())
        np.add(self.spells[a:b], 1, out=self.spells[a:b], where=starved & (spell == 0))
        np.putmask(spell, served, 0)
        np.add(spell, 1, out=spell, where=starved)
        self.starved_ticks[a:b] += starved
        self.choked_ticks[a:b] += choked

    def final_figures(self, tick_seconds: float) -> dict[str, float]:
        """Starvation over the run: who was ever starved, for how long, in how many spells (a
        spell still running at the end counts, with its length so far)."""
        ended = np.concatenate([*self.spells_ended, self.spell[self.spell > 0]]).astype(np.float64)
        secs = float(tick_seconds)
        n = self.spell.size
        return {
            "consumers_ever_starved": int(np.count_nonzero(self.starved_ticks)),
            "starved_consumer_seconds": float(np.sum(self.starved_ticks, dtype=np.float64) * secs),
            "starved_spells": int(ended.size), "starved_spell_max_s": float(ended.max() * secs) if ended.size else 0.0,
            "starved_spell_mean_s": float(ended.mean() * secs) if ended.size else 0.0,
            "starved_per_consumer_max_s": float(self.starved_ticks.max()) * secs if n else 0.0,
        }


class LatencyBook:
    """Report-to-assignment latency of one population: wall seconds from sending a tick's demand
    reports to having that tick's assignments (every tracker's Assign in, or given up on). The
    actor passes the clock readings; the book only keeps them."""

    def __init__(self) -> None:
        self.sent: dict[int, float] = {}
        self.ms: list[float] = []

    def reported(self, tick: int, now_s: float) -> None:
        self.sent[tick] = now_s

    def assigned(self, tick: int, now_s: float) -> None:
        t = self.sent.pop(tick, None)
        if t is not None:
            self.ms.append((now_s - t) * 1e3)
        for old in [k for k in self.sent if k < tick]:  # reports whose assignments never came
            del self.sent[old]

    def figures(self) -> dict[str, float]:
        if not self.ms:
            return {}
        ms = np.asarray(self.ms)
        return {"report_to_assign_ms_p50": float(np.percentile(ms, 50)), "report_to_assign_ms_p99": float(np.percentile(ms, 99)),
                "report_to_assign_n": float(ms.size)}
