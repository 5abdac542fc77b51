"""Self-optimizing consumers: demand response that backs off like TCP congestion control.

A consumer cut off from its tracker keeps an *allowance* w for its flexible demand
(deferrable end uses + the demand-responsive part). When its generator warns capacity_low,
w is multiplied by `decrease_factor` (multiplicative decrease); every tick without a warning
it grows by `increase_step` (additive increase), up to 1, and past 1 (up to 2) while it has
deferred energy to pay back, so the payback ramps up as gently as the recovery did. Consumption is

    fixed + min(w, 1) * (deferrable + responsive) + released backlog (at most (w - 1) * deferrable)

The curtailed deferrable energy is not lost: it goes into a backlog per end use, to be
consumed later, but no later than that end use's deferral window after it was deferred;
what is still waiting then expires and counts as unserved. The curtailed responsive part is
shed. End uses whose window is shorter than a tick cannot move energy across ticks, so at
that tick length they behave as fixed load. Pure functions on numpy arrays; the totals
keep the books: deferred = recovered + expired + outstanding, exactly."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from scowl.model import DemandShares


@dataclass
class Deferral:
    """Per-consumer demand-response state of one population (allocated when first needed)."""

    allowance: np.ndarray  # float32 [n]
    backlog_kwh: np.ndarray  # float32 [n, uses]
    since: np.ndarray  # int32 [n, uses]: tick the oldest waiting energy was deferred, -1 none
    spell_start: np.ndarray  # int32 [n]: tick the consumer's current deferral began, -1 none
    spell_ticks: dict[int, int] = field(default_factory=dict)  # finished deferral spells by length
    deferred_by: np.ndarray = field(default_factory=lambda: np.zeros(0))  # float64 [n]: kWh each consumer deferred
    expired_by: np.ndarray = field(default_factory=lambda: np.zeros(0))  # float64 [n]: kWh of each that expired
    deferred_kwh: float = 0.0
    recovered_kwh: float = 0.0
    expired_kwh: float = 0.0
    shed_kwh: float = 0.0
    events: int = 0  # DemandResponse() calls: a consumer told capacity_low backs off

    @classmethod
    def new(cls, n: int, uses: int) -> Deferral:
        return cls(np.ones(n, np.float32), np.zeros((n, uses), np.float32), np.full((n, uses), -1, np.int32),
                   np.full(n, -1, np.int32), deferred_by=np.zeros(n), expired_by=np.zeros(n))

    @property
    def outstanding_kwh(self) -> float:
        return float(self.backlog_kwh.astype(np.float64).sum())


@dataclass(frozen=True)
class Flex:
    """The flexible split at a tick length: which end uses can defer across ticks."""

    fixed: float
    uses: tuple[str, ...]
    shares: np.ndarray  # float32 [uses]
    window_ticks: np.ndarray  # int32 [uses]: ticks a deferred kWh may wait
    responsive: float

    @classmethod
    def of(cls, shares: DemandShares, tick_seconds: float) -> Flex:
        uses, sh, win = [], [], []
        fixed = shares.fixed
        for load, share, window in shares.deferrable:
            if window >= tick_seconds and share > 0:
                uses.append(load)
                sh.append(share)
                win.append(int(window // tick_seconds))
            else:
                fixed += share
        return cls(fixed, tuple(uses), np.asarray(sh, np.float32), np.asarray(win, np.int32), shares.responsive)


def consume(state: Deferral, flex: Flex, base_kw: np.ndarray, tick: int, tick_hours: float) -> np.ndarray:
    """This tick's consumption (kW) given the allowances; updates the backlog and the books."""
    w = np.minimum(state.allowance, 1.0)
    payback = np.maximum(state.allowance - 1.0, 0.0)
    use_kw = base_kw[:, None] * flex.shares[None, :]  # [n, uses]
    cut = (1.0 - w)[:, None]
    deferred = use_kw * cut * np.float32(tick_hours)  # kWh deferred now
    # release: an allowance above 1 pays deferred energy back, (w - 1) x each use at most
    release = np.minimum(state.backlog_kwh, use_kw * payback[:, None] * np.float32(tick_hours)).astype(np.float32)
    state.backlog_kwh -= release
    state.recovered_kwh += float(release.astype(np.float64).sum())
    state.since[state.backlog_kwh <= 0] = -1
    # expiry: energy that waited past its end use's window is unserved
    old = (state.since >= 0) & (tick - state.since > flex.window_ticks[None, :])
    if old.any():
        state.expired_kwh += float(state.backlog_kwh[old].astype(np.float64).sum())
        if state.expired_by.size:
            state.expired_by += np.where(old, state.backlog_kwh, 0.0).astype(np.float64).sum(axis=1)
        state.backlog_kwh[old] = 0.0
        state.since[old] = -1
    # new deferrals
    new = deferred > 0
    state.since[new & (state.since < 0)] = tick
    state.backlog_kwh += deferred
    per = deferred.astype(np.float64).sum(axis=1)
    state.deferred_kwh += float(per.sum())
    if state.deferred_by.size:
        state.deferred_by += per
    state.shed_kwh += float((base_kw * flex.responsive * (1.0 - w)).astype(np.float64).sum() * tick_hours)
    _spells(state, tick)
    flexible = use_kw.sum(axis=1) + base_kw * np.float32(flex.responsive)
    kw: NDArray[np.float32] = base_kw * np.float32(flex.fixed) + w * flexible + release.sum(axis=1) / np.float32(tick_hours)
    return kw


def _spells(state: Deferral, tick: int) -> None:
    """A deferral spell lasts from a consumer's first deferred kWh to its backlog emptying."""
    waiting = (state.backlog_kwh > 0).any(axis=1)
    state.spell_start[waiting & (state.spell_start < 0)] = tick
    ended = (~waiting) & (state.spell_start >= 0)
    if ended.any():
        lengths, counts = np.unique(tick - state.spell_start[ended], return_counts=True)
        for k, c in zip(lengths.tolist(), counts.tolist()):
            state.spell_ticks[k] = state.spell_ticks.get(k, 0) + c
        state.spell_start[ended] = -1


def aimd(state: Deferral, warned: np.ndarray, self_optimizing: np.ndarray, decrease: float, increase: float) -> int:
    """After a tick's verdicts: warned self-optimizing consumers back off multiplicatively (from at most
    1: paying back stops first), the others recover additively, to 1, or to 2 while they
    have deferred energy to pay back. `self_optimizing` marks consumers allowed to move (self-optimizing
    and not held choked); consumers back with their tracker recover the same gentle way.
    Returns the DemandResponse events (warned consumers) of this tick."""
    hit = warned & self_optimizing
    state.allowance[hit] = np.minimum(state.allowance[hit], 1.0) * np.float32(decrease)
    calm = ~hit
    ceiling = np.where((state.backlog_kwh > 0).any(axis=1), 2.0, 1.0).astype(np.float32)
    state.allowance[calm] = np.minimum(ceiling[calm], state.allowance[calm] + np.float32(increase))
    state.allowance[calm & (ceiling == 1.0)] = np.minimum(state.allowance[calm & (ceiling == 1.0)], 1.0)
    n = int(hit.sum())
    state.events += n
    return n


def after_verdicts(state: Deferral, choked: np.ndarray, warned: np.ndarray, unchoked: np.ndarray,
                   self_optimizing: np.ndarray, decrease: float, increase: float) -> int:
    """The demand-response rule of a population after a tick's verdicts (every array per
    consumer). A consumer whose generator warned capacity_low is choked until its generator
    unchokes it, and only while it is self-optimizing (cut off from its tracker): `choked` is
    updated in place. Warned consumers back off (`aimd`); choked ones not warned again hold
    their allowance until unchoked; the others recover. Returns the DemandResponse events."""
    choked &= ~unchoked
    choked |= warned
    choked &= self_optimizing
    hold = choked & ~warned
    before = state.allowance[hold].copy()
    events = aimd(state, warned, self_optimizing, decrease, increase)
    state.allowance[hold] = before
    return events


def close_books(state: Deferral, tick: int) -> None:
    """End of the run: what still waits expires (unserved), spells end now."""
    state.expired_kwh += state.outstanding_kwh
    if state.expired_by.size:
        state.expired_by += state.backlog_kwh.astype(np.float64).sum(axis=1)
    state.backlog_kwh[:] = 0.0
    state.since[:] = -1
    _spells(state, tick)


def ticks_to_relief(load_ratio: float, flexible_share: float, decrease: float, target: float = 1.0) -> int:
    """How many warnings until a tree at `load_ratio` x output falls to `target` x output,
    if every consumer in it backs off: after k warnings the load is
    (1 - f) + f * decrease**k times what it was (f = flexible share). -1: never."""
    k = 0
    while (1 - flexible_share) + flexible_share * decrease**k > target / load_ratio:
        k += 1
        if k > 200:
            return -1
    return k


def sog_signals(load: np.ndarray, output: np.ndarray, warned: np.ndarray, sog: np.ndarray,
                low: float, unchoke: float, members: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Self-optimizing generators (lost their tracker): warn `capacity_low` while the tree
    draws more than `low` x output; unchoke a warned tree once it is under `unchoke` x output
    (or the tracker is back). With `members` (consumers in each tree), a unit with nobody in
    its tree warns nobody (its load 0 over an output of 0 is no warning). Returns (warn,
    unchoke, warned after this tick). A unit drawn from warns whatever `members` says (a fleet's
    view of its trees can lag the populations' when views disagree: its drawers must hear it)."""
    if members is not None:
        sog = sog & ((np.asarray(members) > 0) | (np.asarray(load) > 0))
    ratio = np.divide(load, output, out=np.full(len(load), np.inf), where=output > 0)
    warn = sog & (ratio > low)
    unchoked = warned & ~warn & (~sog | (ratio < unchoke))
    return warn, unchoked, (warned | warn) & ~unchoked


def deferral_figures(dr: Deferral | None, end_tick: int) -> dict[str, float]:
    """A population's demand-response books for its final report, closed at `end_tick`
    (zeros when demand response is off); deferral spells by length in ticks, for exact quantiles."""
    if dr is None:
        return {"deferred_mwh": 0.0, "recovered_mwh": 0.0, "expired_mwh": 0.0, "shed_mwh": 0.0, "dr_events": 0}
    close_books(dr, end_tick)
    out: dict[str, float] = {"deferred_mwh": dr.deferred_kwh / 1e3, "recovered_mwh": dr.recovered_kwh / 1e3,
           "expired_mwh": dr.expired_kwh / 1e3, "shed_mwh": dr.shed_kwh / 1e3, "dr_events": dr.events}
    for k, c in sorted(dr.spell_ticks.items()):
        out[f"deferral_spell_ticks:{k}"] = c
    return out
