"""Consumers a region handed to a peer, until the peer says whether it took them.

Who holds a handed consumer is decided by one side only, the taker: it takes a Handover of
tick t (places its starved part in its sub-round, takes its served part at its next round) in
its sub-round of t, or of t+1 when it came too late for t's, never later. Every RegionSummary
it sends the giver lists the ticks of the giver's Handovers it took within the last
ANSWER_WINDOW ticks (`Answer.took`), so one lost summary costs a tick, not the answer. The
giver meanwhile keeps what it handed as pending:
  - the starved part, released from its trees at once (the taker may be placing them) but
    named in its Assign of t as handed (a word any other tracker's word of the same tick beats,
    scowl.actors.assign_inbox): if the taker did not take them, they come back here (placed
    where they fit, starved otherwise) and this region names them again;
  - the served part, kept on its generators (they draw there until the taker places them):
    released when the taker took them, simply kept when it did not.
The answer for a Handover of t: taken when a summary lists t; not taken when a summary of a
tick in (t, t + ANSWER_WINDOW] does not (the taker's last chance was t+1), or when the taker
left the grid. No summary of those ticks at all (ANSWER_WINDOW of them lost, a one-way cut that
long): given up as not taken and counted (`unanswered`): if the taker did take them after all,
they are held twice. Until the answer, their population reports them to the giver (`absorb`:
kept with them). Pure bookkeeping: arrays in, arrays out.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

import numpy as np

ANSWER_WINDOW = 32  # ticks: a summary lists the giver's Handovers taken this long back (wire RegionSummary.took)
# ticks: a summary repeats the answers about the giver's hub parts this long back (wire RegionSummary.hub_took),
# and a giver applies an answer that comes this late (one lost HubTaken, or a few lost summaries, lose nothing)
HUB_ANSWER_WINDOW = ANSWER_WINDOW


@dataclass(frozen=True)
class Answer:
    """A peer's RegionSummary of `tick`, as far as our handovers go: the ticks of our Handovers
    it took, within ANSWER_WINDOW ticks before `tick`."""

    peer: str
    tick: int
    took: Sequence[int]


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
        self.returned = 0  # handed consumers that stayed or came back here (not taken, the taker gone)
        self.unanswered = 0  # of those, the ones whose answer never came (every summary of the window lost)
        # the pending starved by id, sorted once when the pending change, not per report and handover:
        # (sorted lo, which of `held` each is, its place there, held)
        self._index: tuple[np.ndarray, np.ndarray, np.ndarray, list[Handed]] | None = None

    def add(self, peer: str, handed: Handed) -> None:
        if handed.starved_ids.size or handed.served.size:
            self.pending.setdefault(peer, []).append(handed)
            self._index = None

    def served(self) -> np.ndarray:
        """Trees indices of the served consumers still pending (not to be handed again)."""
        parts = [h.served for hs in self.pending.values() for h in hs if h.served.size]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)

    def absorb(self, ids: np.ndarray, demand: np.ndarray) -> np.ndarray | None:
        """A demand report: the new demand of the starved still pending here (their population
        follows our `handed` word until the taker's own, so it reports them to us), kept for
        when they come back. Returns the mask of the report's other consumers (None: all of
        them; free while nothing starved is pending)."""
        if not len(ids) or not self.pending:
            return None
        if self._index is None:
            held = [h for hs in self.pending.values() for h in hs if h.starved_ids.size]
            keys = np.concatenate([h.starved_ids["lo"] for h in held]) if held else np.zeros(0, dtype=np.uint64)
            order = np.argsort(keys, kind="stable")
            owner = np.repeat(np.arange(len(held)), [h.starved_ids.size for h in held])[order]
            place = np.concatenate([np.arange(h.starved_ids.size) for h in held])[order] if held else order
            self._index = (keys[order], owner, place, held)
        keys, owner, place, held = self._index
        if not keys.size:
            return None
        lo = ids["lo"] if ids.dtype.names else ids  # (a compact report: its global indices alone)
        at = np.minimum(np.searchsorted(keys, lo), keys.size - 1)
        mine: np.ndarray = keys[at] == lo
        if not mine.any():
            return None
        at, new = at[mine], np.asarray(demand)[mine]
        for k in np.unique(owner[at]):
            of = owner[at] == k
            held[k].starved_demand[place[at[of]]] = new[of]
        return ~mine

    def settle(self, answers: Sequence[Answer] | None, gone: Collection[str] = ()) -> Settled:
        """Apply the peers' answers that came since the last round (see the module's docstring).
        None: every handover was taken (a pure round without peers' answers: every peer is
        assumed to follow). `gone`: peers that left the grid (they will not answer)."""
        out = Settled()
        for peer in list(self.pending):
            said = [a for a in answers or () if a.peer == peer]
            keep: list[Handed] = []
            for h in self.pending[peer]:
                took = True if answers is None else _verdict(h.tick, said)
                if took is None and peer in gone:
                    took = False
                if took is None:
                    keep.append(h)  # no word yet: wait
                elif took is True:
                    self.confirmed += h.starved_ids.size + h.served.size
                    if h.served.size:
                        out.release.append(h.served)
                else:  # not taken (or, "lost", never answered): ours again
                    self.returned += h.starved_ids.size + h.served.size
                    if took == "lost":
                        self.unanswered += h.starved_ids.size + h.served.size
                    if h.starved_ids.size:
                        out.back_ids.append(h.starved_ids)
                        out.back_demand.append(h.starved_demand)
            if keep:
                self.pending[peer] = keep
            else:
                del self.pending[peer]
        self._index = None
        return out

    def figures(self) -> dict[str, float]:
        return {"handed_confirmed": self.confirmed, "handed_returned": self.returned, "handed_unanswered": self.unanswered,
                "handed_pending": sum(h.starved_ids.size + h.served.size for hs in self.pending.values() for h in hs)}


def _verdict(tick: int, said: Sequence[Answer]) -> bool | str | None:
    """What a peer's summaries say about our Handover of `tick`: True taken, False not, "lost"
    (only summaries past the window came: no way to know), None (nothing final yet)."""
    verdict: bool | str | None = None
    for a in said:
        if tick in a.took:
            return True
        if tick < a.tick <= tick + ANSWER_WINDOW:
            verdict = False
        elif a.tick > tick + ANSWER_WINDOW and verdict is None:
            verdict = "lost"
    return verdict
