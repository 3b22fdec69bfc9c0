"""The receptionist's matcher: what a caller said, cleaned of phone speech, matched to the knowledge.

Callers say "um, like, d'you do kids' check-ups?" and speech recognition says "how much is deep wide
turning?". Before the BM25 index (retrieval.py) sees a question, three things happen here:

1. spoken forms are written out ("d'you" → "do you", "sat nav" → "satnav", "get to you" → "directions");
2. filler and casual words are dropped (retrieval's stop-words), so they do not count against confidence;
3. words the knowledge has never seen are compared, by how they sound, with the words and phrases it has:
   "deep wide turning" sounds like "teeth whitening" (the consonant skeletons "tpwtrnk" and "twtnk" are
   two edits apart), "whitning" like "whitening". A match replaces the words; a question about a thing
   the knowledge does not have ("a root canal") matches nothing and still falls below the threshold.

Measured on the spoken evaluation set in docs/benchmarks.md ("Understanding phone speech").
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from agent_service.brain.retrieval import STOPWORDS, Bm25Index, Match, known_word
from agent_service.knowledge import Knowledge

# Spoken and casual forms written out before anything else; the keys are whole-word, lower case.
_SPOKEN = tuple(
    (re.compile(rf"\b{pattern}\b"), replacement)
    for pattern, replacement in (
        (r"d'?you|d'ya|dya|do ya", "do you"),
        (r"y'?all|you guys|you lot", "you"),
        (r"gonna", "going to"),
        (r"wanna", "want to"),
        (r"gotta", "got to"),
        (r"sat ?nav", "satnav"),
        (r"check ?ups?|checkups?", "checkup"),
        (r"car ?park", "parking"),
        (r"sign up|signing up|join up", "register"),
        (r"get to you|find you|get there|get to the (?:clinic|surgery|practice)", "directions"),
        (r"set me back|the damage", "cost"),
        (r"little (?:one|ones|boy|girl)s?|under (?:sixteens?|16s?)", "children"),
        (r"spread the cost|monthly payments?|pay monthly|in instalments|pay in installments", "finance"),
        (r"come to (?:the|my|our) (?:house|home|flat)", "home visits"),
        (r"pay for (?:the )?parking|parking (?:is )?free", "parking"),
        # A booking request names a treatment and a time, but what it asks is how to book.
        (
            r"(?:(?:i'?d like|i would like|i want|i need) to|can i|could i) (?:book\b|(?:make|arrange|get) "
            r"(?:an? |my )?(?:appointment|booking)\b).*",
            "book appointment",
        ),
        (r"half (?:past )?(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)", "time"),
    )
)
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_MAX_EDITS = 0.34  # share of a sound skeleton that may differ for two spellings to be one word
_MIN_SKELETON = 4  # shorter skeletons ("bin", "pin") collide too easily to be corrected


class KnowledgeMatcher:
    """`documents` are the receptionist's indexed texts, in its order; `search` returns their index."""

    def __init__(self, documents: Sequence[str], phrases: Sequence[str] = ()) -> None:
        self._index = Bm25Index(documents)
        self._vocabulary = self._index.vocabulary()
        # Words and multi-word names (services, items not offered) a slip may be heard as.
        candidates = {w for doc in documents for w in _WORD.findall(doc.lower()) if known_word(w)}
        candidates.update(p.lower() for p in phrases)
        self._sounds = [(skeleton(c), c) for c in sorted(candidates) if len(skeleton(c)) >= _MIN_SKELETON]

    @classmethod
    def for_knowledge(cls, knowledge: Knowledge, documents: Sequence[str]) -> KnowledgeMatcher:
        """Misheard phrases may be corrected to the services, the things not offered and the vocabulary."""
        return cls(
            documents, [*(s.name for s in knowledge.services), *knowledge.not_offered, *knowledge.vocabulary]
        )

    def search(self, query: str) -> Match | None:
        return self._index.search(self.clean(query))

    def clean(self, query: str) -> str:
        """The question as the index should read it: spoken forms written out, slips corrected."""
        text = query.lower().replace("\u2019", "'")
        for pattern, replacement in _SPOKEN:
            text = pattern.sub(replacement, text)
        words = _WORD.findall(text)
        out: list[str] = []
        i = 0
        while i < len(words):
            fixed = self._correct(words, i)
            if fixed is None:
                out.append(words[i])
                i += 1
            else:
                replacement, used = fixed
                out.append(replacement)
                i += used
        return " ".join(out)

    def _unknown(self, word: str) -> bool:
        return word.replace("'", "") not in STOPWORDS and not self._vocabulary(word)

    def _correct(self, words: list[str], i: int) -> tuple[str, int] | None:
        """The known word or phrase that words[i:i+n] (n = 3, 2, 1) sound like, and n; None if none.
        Only spans of words the knowledge does not know are rewritten."""
        for n in (3, 2, 1):
            span = words[i : i + n]
            if len(span) < n or not all(self._unknown(w) for w in span):
                continue
            heard = skeleton("".join(span))
            if len(heard) < _MIN_SKELETON:
                continue
            best = min(self._sounds, key=lambda s: _distance(heard, s[0]), default=None)
            if best is None:
                return None
            # One word may differ by one sound and must be spelled alike ("widening" → "whitening", but
            # not "practice" → "brighton", "prkts" and "prktn"); a misheard phrase may differ by a third
            # of its sounds.
            if n == 1:
                alike = _distance(span[0], best[1]) <= _MAX_EDITS * max(len(span[0]), len(best[1]))
                if _distance(heard, best[0]) <= 1 and alike:
                    return best[1], n
            elif _distance(heard, best[0]) <= int(_MAX_EDITS * max(len(heard), len(best[0]))):
                return best[1], n
        return None


def skeleton(text: str) -> str:
    """How `text` sounds, roughly: consonants only, voiced and unvoiced pairs merged, repeats collapsed.
    "teeth whitening" → "twtnk", "deep wide turning" → "tpwtrnk"."""
    s = re.sub(r"[^a-z]", "", text.lower())
    for old, new in (
        ("ph", "f"),
        ("th", "t"),
        ("wh", "w"),
        ("ck", "k"),
        ("qu", "kw"),
        ("x", "ks"),
        ("ce", "se"),
        ("ci", "si"),
        ("cy", "sy"),
    ):
        s = s.replace(old, new)
    s = s.translate(str.maketrans("dbgvzcjq", "tpkfskkk"))
    consonants = [c for c in s if c not in "aeiouyh"]
    out: list[str] = []
    for c in consonants:
        if not out or out[-1] != c:
            out.append(c)
    return "".join(out)


def _distance(a: str, b: str) -> int:
    """Levenshtein distance; the strings are a dozen letters at most."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]
