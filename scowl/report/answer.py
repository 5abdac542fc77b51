"""One answer of the report: the seed's question, the number, the plot behind it, the runs it
came from and the command that reproduces the figure, or the reason the runs cannot answer it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

#: The evaluation questions of the seed notebook ("What is the scope of the simulation?", 2.1-2.8).
QUESTIONS = (
    "How many peers were rebalanced, and how fast was the tracker able to rebalance its peers (Hz)?",
    "What was the limiting resource (network, CPU, memory, ...)?",
    "At what scale of peers did the limiting factor occur?",
    "How long was the average peer starved for electricity?",
    "When demand exceeded supply, did a blackout occur?",
    "When should the system be sharded?",
    "When the network partitioned, did self-optimizing peers cause a blackout in their region?",
    "How small a partition can the grid operate under? (stretch goal)",
)


@dataclass
class Figure:
    file: str  # PNG in the report directory
    caption: str
    command: str  # reproduces the runs behind it (then `scowl report` redraws it)


@dataclass
class Answer:
    number: int  # 1..8, the seed's order
    headline: str = ""  # the answer in one sentence with its number; empty when unanswered
    details: list[str] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)  # the run directories it came from
    reason: str = ""  # why the given runs cannot answer it
    values: dict = field(default_factory=dict)  # the numbers, machine-readable (answers.json)
    table_html: str = ""  # a table of evidence shown under the answer (escaped HTML)

    @property
    def question(self) -> str:
        return QUESTIONS[self.number - 1]

    @property
    def answered(self) -> bool:
        return bool(self.headline)

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("table_html")
        return {"question": self.question, "answered": self.answered, **d}


def unanswered(number: int, reason: str, **kw) -> Answer:
    return Answer(number, reason=reason, **kw)
