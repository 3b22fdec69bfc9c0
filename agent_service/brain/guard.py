"""Guard rails for LLM answers: at most two sentences, and no number or time the knowledge doesn't state.

Small models invent prices and opening times with confidence. Every figure in an answer (45, 8:30,
0800 123 456) must appear among the figures of the knowledge file, or the sentence carrying it, and
everything after it, is replaced by the honest deferral. Checked sentence by sentence so a voice
pipeline can speak the first (checked) sentence while the second is still being generated. Figures
spelled as words ("nine") are not checked: models on this path write digits, and a missed word only
ever makes a sentence pass that a human would also have to judge.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from agent_service.brain.retrieval import terms
from agent_service.knowledge import Knowledge

MAX_SENTENCES = 2
_FIGURE = re.compile(r"\d+(?:[:.]\d+)*")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|(?<=[.!?])$")


def figures(text: str) -> set[str]:
    """Numbers and times in `text`, normalised: "8.30" and "8:30" are one figure, "09" is "9"."""
    out = set()
    for raw in _FIGURE.findall(text.replace(",", "")):
        parts = re.split(r"[:.]", raw)
        out.add(":".join(str(int(p)) if p.isdigit() else p for p in parts))
        out.update(str(int(p)) for p in parts if p.isdigit())
    return out


def price_bindings(knowledge: Knowledge) -> dict[str, list[frozenset[str]]]:
    """Figures that are only ever a service's price, each with the words naming the services it prices.

    A known figure can still be a lie: "an extraction costs 45 pounds" reuses the check-up's 45. Such a
    figure only passes in a sentence that also names a service with that price.
    """
    elsewhere = set().union(
        *(
            figures(t)
            for t in (knowledge.hours, knowledge.address, knowledge.greeting, knowledge.transfer_number)
        ),
        *(figures(f"{faq.question} {faq.answer}") for faq in knowledge.faqs),
    )
    bindings: dict[str, list[frozenset[str]]] = {}
    for service in knowledge.services:
        for figure in figures(service.price) - elsewhere:
            bindings.setdefault(figure, []).append(frozenset(terms(service.name)))
    return bindings


def misattributed(sentence: str, bindings: dict[str, list[frozenset[str]]]) -> set[str]:
    words = set(terms(sentence))
    return {f for f in figures(sentence) if f in bindings and not any(name <= words for name in bindings[f])}


def known_figures(knowledge: Knowledge) -> set[str]:
    texts = [*knowledge.facts(), knowledge.greeting, knowledge.transfer_number, knowledge.persona]
    return set().union(*(figures(t) for t in texts))


def unsupported(sentence: str, allowed: set[str]) -> set[str]:
    return {f for f in figures(sentence) if f not in allowed}


class SentenceGate:
    """Feed streamed text in; get back whole sentences that passed, until one fails or two are out."""

    def __init__(
        self,
        allowed: set[str],
        extra_allowed: Iterable[str] = (),
        bindings: dict[str, list[frozenset[str]]] | None = None,
    ) -> None:
        caller_figures = set().union(*(figures(t) for t in extra_allowed))
        self._allowed = allowed | caller_figures
        self._bindings = {f: b for f, b in (bindings or {}).items() if f not in caller_figures}
        self._buffer = ""
        self.sentences = 0
        self.rejected: set[str] = set()

    @property
    def done(self) -> bool:
        return bool(self.rejected) or self.sentences >= MAX_SENTENCES

    def feed(self, text: str) -> list[str]:
        self._buffer += text
        return self._drain(final=False)

    def finish(self) -> list[str]:
        return self._drain(final=True)

    def _drain(self, *, final: bool) -> list[str]:
        out: list[str] = []
        while not self.done:
            match = _SENTENCE_END.search(self._buffer)
            if match is None and not (final and self._buffer.strip()):
                break
            end = match.end() if match is not None else len(self._buffer)
            sentence, self._buffer = self._buffer[:end], self._buffer[end:]
            if not sentence.strip():
                continue
            bad = unsupported(sentence, self._allowed) | misattributed(sentence, self._bindings)
            if bad:
                self.rejected = bad
                break
            self.sentences += 1
            out.append(sentence)
        return out
