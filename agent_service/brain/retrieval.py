"""BM25 retrieval with synonym folding, and an idf-weighted coverage score used as confidence.

BM25 ranks; it does not say whether the best document actually answers the question (its scores are not
on any fixed scale). Confidence is therefore measured separately: the share of the query's information
(idf-weighted content words) that the best document covers. Words the knowledge has never seen count
fully against it, which is what makes "do you do braces?" fall below the threshold instead of matching
the price list on the word "do".
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# Words that carry no topic. Kept small on purpose: "open", "close", "where", "when" carry the intent.
# The second block is how people talk on the phone (fillers, "you lot", "at the moment", "half five"):
# left in, each would count against the confidence as a word the knowledge has never seen.
_STOPWORDS = frozenset(
    _words(
        """
        a about also am an and another any anyone anything are arent as at awful bad be been bring
        but by called can cant could did do does doesnt doing dont exactly for from get getting go
        going got had has have he hello here hey hi horrible how hows i id if im in into is isnt it
        its ive just know let like may me might mine must my need no not of ok okay on one or our
        please really see seen shall she should so some somebody someone something somewhere take
        taking teeth tell terrible than thank thanks that thats the their them then there theres
        these they this those to together too tooth up us very want wanted was we well were what
        whats whens wheres which who whom whose will with wondering wont would yes you your youre
        yours youve
        """
        """
        um umm uh uhh er erm ah ahh oh ooh hmm mm hiya love mate guys lot lots kind sort kinda sorta
        roughly basically actually literally honestly still anywhere anybody everyone anyway done
        come coming came pop popping drop moment minute currently now right sure quite bit
        her him his hers hes shes theyre im its whos whats wheres thats ill youll weve hed
        two three four five six seven eight nine ten eleven twelve half quarter
        option options name named possible able possibly maybe perhaps all leave put out moved squeeze
        next last week weeks mum dad mother father wife husband partner friend per
        """
    )
)
STOPWORDS = _STOPWORDS

# Paraphrases folded onto one canonical token, for queries and documents alike.
_SYNONYM_GROUPS: dict[str, tuple[str, ...]] = {
    "hours": _words(
        "hour open opening opens close closing closes time times today tonight tomorrow day days late "
        "early until til till weekday weekend morning afternoon evening monday tuesday wednesday "
        "thursday friday saturday"
    ),
    "address": _words(
        "where located location based find directions street postcode situated whereabouts address "
        "place premises office clinic surgery satnav road"
    ),
    "price": _words(
        "prices cost costs much charge charges fee fees expensive cheap pricing quote rate rates pricey "
        "damage"
    ),
    "closed": _words("shut shuts closed"),
    "holiday": _words("holidays bank"),
    "parking": _words("park car carpark drive parked"),
    "home": _words("house visit visits"),
    "pay": _words(
        "payment paying card cards cash credit debit contactless instalments installments finance plans "
        "plan monthly"
    ),
    "emergency": _words(
        "toothache pain urgent urgently hurts hurting broken swollen asap emergency killing chip chipped "
        "cracked abscess agony"
    ),
    "cancel": _words("cancel cancellation reschedule move change postpone rearrange"),
    "book": _words("booking appointment appointments reserve schedule online website"),
    "children": _words("child kids kid son daughter baby toddler teenager children boy girl"),
    "dentist": _words("dentists doctor doctors hygienist staff team dr"),
    "clean": _words("cleaning polish scale hygiene"),
    "checkup": _words("check examination exam checkup"),
    "whitening": _words("whiten whiter bleaching bleach"),
    "new": _words("register join registering patient patients nhs"),
}
_CANONICAL = {word: canon for canon, words in _SYNONYM_GROUPS.items() for word in (*words, canon)}
_WORD = re.compile(r"[a-z0-9]+")


def _stem(word: str) -> str:
    # Deliberately crude: folding plurals is most of the gain on short questions, and a wrong stem only
    # ever merges two rare words.
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def terms(text: str) -> list[str]:
    """Content words of `text`, lower-cased, apostrophes dropped, synonyms folded."""
    out = []
    for raw in _WORD.findall(text.lower().replace("'", "").replace("\u2019", "")):
        if raw in _STOPWORDS:
            continue
        word = _CANONICAL.get(raw) or _CANONICAL.get(_stem(raw)) or _stem(raw)
        out.append(word)
    return out


def known_word(word: str) -> bool:
    """A word that could name a topic: not a stop-word, not a number, three letters or more."""
    return word.isalpha() and len(word) >= 3 and word.replace("'", "") not in _STOPWORDS


@dataclass(frozen=True, slots=True)
class Match:
    index: int
    score: float
    confidence: float


class Matcher(Protocol):
    """Finds the document that answers a question, with a confidence in [0, 1] the brain thresholds."""

    def search(self, query: str) -> Match | None: ...


class Bm25Index:
    def __init__(self, documents: Sequence[str], k1: float = 1.2, b: float = 0.75) -> None:
        self._docs = [Counter(terms(doc)) for doc in documents]
        self._lengths = [sum(doc.values()) for doc in self._docs]
        self._avg_length = sum(self._lengths) / max(len(self._docs), 1) or 1.0
        self._k1 = k1
        self._b = b
        n = len(self._docs)
        df: Counter[str] = Counter()
        for doc in self._docs:
            df.update(doc.keys())
        # BM25+ style idf, always positive, so a word in every document still counts a little.
        self._idf = {term: math.log(1 + (n - count + 0.5) / (count + 0.5)) for term, count in df.items()}
        self._unknown_idf = math.log(1 + (n + 0.5) / 0.5)

    def vocabulary(self) -> Callable[[str], bool]:
        """Whether a word means something the documents mention (itself, its stem or a synonym)."""

        def known(word: str) -> bool:
            found = terms(word)
            return bool(found) and all(term in self._idf for term in found)

        return known

    def search(self, query: str) -> Match | None:
        q = terms(query)
        if not q or not self._docs:
            return None
        scores = [self._score(q, i) for i in range(len(self._docs))]
        best = max(range(len(scores)), key=scores.__getitem__)
        if scores[best] <= 0:
            return Match(best, 0.0, 0.0)
        return Match(best, scores[best], self._coverage(q, best))

    def _score(self, query: list[str], i: int) -> float:
        doc, length = self._docs[i], self._lengths[i]
        score = 0.0
        for term in set(query):
            tf = doc.get(term, 0)
            if tf:
                norm = tf + self._k1 * (1 - self._b + self._b * length / self._avg_length)
                score += self._idf[term] * tf * (self._k1 + 1) / norm
        return score

    def _coverage(self, query: list[str], i: int) -> float:
        weights = {term: self._idf.get(term, self._unknown_idf) for term in set(query)}
        covered = sum(w for term, w in weights.items() if term in self._docs[i])
        return covered / sum(weights.values())
