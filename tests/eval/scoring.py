"""Score a brain's answers to the understanding set: right, rightly deferred, deferred, wrong, invented.

- right: the answer states one of the expected facts;
- rightly deferred: nothing to state (DEFER) and the agent offered a message or a transfer instead;
- deferred: there was a fact to state and the agent deferred (safe, but a miss);
- wrong: it stated something from the knowledge that does not answer the question;
- invented: it stated a figure (price, time, number) the knowledge does not have, or gave a figure
  that is only another service's price. Never acceptable.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from agent_service.brain import Conversation, Turn, respond_fully
from agent_service.brain.base import Brain, FullResponse
from agent_service.brain.events import TakeMessage, TransferCall
from agent_service.brain.guard import known_figures, misattributed, price_bindings, unsupported
from agent_service.knowledge import Knowledge

OUTCOMES = ("right", "rightly deferred", "deferred", "wrong", "invented")
_DEFERRAL = re.compile(
    r"take a message|put you through|don't have that information|didn't (quite )?catch", re.IGNORECASE
)


def _plain(text: str) -> str:
    return " ".join(text.lower().replace("\u2019", "'").split())


def is_deferral(answer: FullResponse) -> bool:
    if any(isinstance(a, TransferCall | TakeMessage) for a in answer.actions):
        return True
    return bool(_DEFERRAL.search(answer.text))


class Judge:
    def __init__(self, knowledge: Knowledge) -> None:
        self._allowed = known_figures(knowledge)
        self._bindings = price_bindings(knowledge)

    def outcome(self, facts: tuple[str, ...], answer: FullResponse) -> str:
        if unsupported(answer.text, self._allowed) or misattributed(answer.text, self._bindings):
            return "invented"
        if facts and any(_plain(fact) in _plain(answer.text) for fact in facts):
            return "right"
        if is_deferral(answer):
            return "deferred" if facts else "rightly deferred"
        return "wrong"


async def answer(brain: Brain, heard: str) -> FullResponse:
    """The brain's reply to `heard` as the first thing a caller says after the greeting."""
    return await respond_fully(brain, Conversation("eval", (Turn("user", heard),), channel="voice"))


@dataclass(frozen=True, slots=True)
class Row:
    asked: str
    heard: str
    facts: tuple[str, ...]
    said: str
    outcome: str


@dataclass(frozen=True, slots=True)
class Tally:
    rows: tuple[Row, ...]

    @property
    def counts(self) -> Counter[str]:
        return Counter(row.outcome for row in self.rows)

    @property
    def good(self) -> int:
        return self.counts["right"] + self.counts["rightly deferred"]

    @property
    def share(self) -> float:
        return self.good / len(self.rows) if self.rows else 0.0

    def misses(self) -> list[Row]:
        return [row for row in self.rows if row.outcome not in ("right", "rightly deferred")]


async def tally(brain: Brain, judge: Judge, items: Iterable[tuple[str, str, tuple[str, ...]]]) -> Tally:
    """`items`: (asked, heard, facts); `heard` is what the brain is given (a transcript, or `asked`)."""
    rows = []
    for asked, heard, facts in items:
        said = await answer(brain, heard)
        rows.append(Row(asked, heard, facts, said.text, judge.outcome(facts, said)))
    return Tally(tuple(rows))
