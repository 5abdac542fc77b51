"""Consumers a region handed to a peer, until the peer says whether it took them.

Who holds a handed consumer is decided by one side only, the taker: it takes a Handover of
tick t (places its starved part in its sub-round, takes its served part at its next round) in
its sub-round of t, or of t+1 when it came too late for t's, never later; the RegionSummary of
that sub-round tells the giver (`took`: the ticks of its Handovers taken). The giver meanwhile
keeps what it handed as pending:
  - the starved part, released from its trees at once (the taker may be placing them) but
    named in its Assign of t as handed (a word any other tracker's word of the same tick beats,
    scowl.actors.assign_inbox): if the taker says it did not take them, they come back here
    (placed where they fit, starved otherwise) and this region names them again;
  - the served part, kept on its generators (they draw there until the taker places them):
    released when the taker says it took them, simply kept when it says it did not.
No "took" by the giver's round of t + ANSWER_TICKS (which has the taker's summary of t+1, its
last chance to take them), or a taker that left the grid: not taken (the taker has not taken
them either, unless its answer is merely late or lost on the way: `late_answers` counts those
that come after all; such consumers are held twice until one of the two moves them).
While they wait, their population reports them to the giver (`absorb`: kept with them).
Pure bookkeeping: arrays in, arrays out.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

import numpy as np

ANSWER_TICKS = 2  # the round of t + this gives up waiting for the answer to a Handover of t (the taker may take it at t or t+1)


@dataclass(frozen=True)
class Handed:
    """One Handover of `tick` to one peer: the starved (wire ids and demand, released here)
    and the served (Trees indices, still here)."""

    tick: int
    starved_ids: np.ndarray
    starved_demand: np.ndarray
    served: np.ndarray


@dataclass(frozen=True)
class Settled:
    """What the answers decide at a round: starved consumers that come back (ids, demand),
    served consumers to release now (Trees indices)."""

    back_ids: list[np.ndarray] = field(default_factory=list)
    back_demand: list[np.ndarray] = field(default_factory=list)
    release: list[np.ndarray] = field(default_factory=list)


class HandedOut:
    """The pending handovers of a region, by peer."""

    def __init__(self) -> None:
        self.pending: dict[str, list[Handed]] = {}
        self.confirmed = 0  # handed consumers (starved and served) the taker said it took
        self.returned = 0  # handed consumers that stayed or came back here (refused, no answer in time)
        self.late_answers = 0  # answers "took" that came after this region had given up waiting
        self._gave_up: set[tuple[str, int]] = set()  # (peer, tick) settled without an answer, recently

    def add(self, peer: str, handed: Handed) -> None:
        if handed.starved_ids.size or handed.served.size:
            self.pending.setdefault(peer, []).append(handed)

    def served(self) -> np.ndarray:
        """Trees indices of the served consumers still pending (not to be handed again)."""
        parts = [h.served for hs in self.pending.values() for h in hs if h.served.size]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)

    def absorb(self, ids: np.ndarray, demand: np.ndarray) -> np.ndarray | None:
        """A demand report: the new demand of the starved still pending here (their population
        follows our `handed` word until the taker's own, so it reports them to us), kept for
        when they come back. Returns the mask of the report's other consumers (None: all of
        them; free while nothing starved is pending)."""
        held = [h for hs in self.pending.values() for h in hs if h.starved_ids.size]
        if not held or not len(ids):
            return None
        lo = ids["lo"]
        mine = np.zeros(len(ids), dtype=bool)
        for h in held:
            at = np.isin(lo, h.starved_ids["lo"])
            if at.any():
                pos = np.searchsorted(h.starved_ids["lo"], lo[at], sorter=(order := np.argsort(h.starved_ids["lo"])))
                h.starved_demand[order[pos]] = demand[at]
                mine |= at
        return ~mine if mine.any() else None

    def settle(self, tick: int, answers: Mapping[tuple[str, int], bool] | None, gone: Collection[str] = ()) -> Settled:
        """Apply the peers' answers (peer, tick of the Handover) -> took, at the round of `tick`.
        None: every handover was taken (a pure round without peers' answers: every peer is
        assumed to follow). `gone`: peers that left the grid (they will not answer)."""
        out = Settled()
        for key, yes in (answers or {}).items():
            if yes and key in self._gave_up:  # it took them after all: held twice until one of us moves them
                self.late_answers += 1
                self._gave_up.discard(key)
        self._gave_up = {k for k in self._gave_up if k[1] > tick - 4 * ANSWER_TICKS}
        for peer in list(self.pending):
            keep: list[Handed] = []
            for h in self.pending[peer]:
                took: bool | None = True if answers is None else answers.get((peer, h.tick))
                if took is None and peer not in gone and tick - h.tick < ANSWER_TICKS:
                    keep.append(h)  # no word yet: wait
                elif took:
                    self.confirmed += h.starved_ids.size + h.served.size
                    if h.served.size:
                        out.release.append(h.served)
                else:  # refused or never answered: ours again
                    if took is None:
                        self._gave_up.add((peer, h.tick))
                    self.returned += h.starved_ids.size + h.served.size
                    if h.starved_ids.size:
                        out.back_ids.append(h.starved_ids)
                        out.back_demand.append(h.starved_demand)
            if keep:
                self.pending[peer] = keep
            else:
                del self.pending[peer]
        return out

    def figures(self) -> dict[str, float]:
        return {"handed_confirmed": self.confirmed, "handed_returned": self.returned, "handed_late_answers": self.late_answers,
                "handed_pending": sum(h.starved_ids.size + h.served.size for hs in self.pending.values() for h in hs)}
