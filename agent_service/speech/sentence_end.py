"""Whether a transcript sounds like a finished turn, from its words: the end-of-turn decision of
AGENT_END_OF_TURN=text, made on the speculative transcript of the caller's pause.

Whisper punctuates every cut it is given ("I'd like to book." for "I'd like to book… a check-up"), so
punctuation alone cannot tell; English grammar mostly can. A sentence does not end on a word that
needs something after it: an article or possessive ("the", "my"), a preposition ("to", "about"), a
conjunction ("and", "because"), an auxiliary with nothing to carry ("How much does"), a question with
its verb still to come ("What time do you", "Can someone"), a verb that takes an object ("I'd like to
book", "I think I need", "Can you send me"), a filler ("um"), or a trailing comma or dash. Anything else
is taken as finished: a wrong "finished" costs an answer that the caller talks over (the turn is then
taken back and heard whole, replies.py), a wrong "unfinished" costs at most the bounded wait
(AGENT_INCOMPLETE_HANGOVER_MS). Short answers keep their auxiliary ("Yes, I do.", "No, it isn't.").

A fragment of one or two words that is not a short answer ("Where exactly", "Tuesday") is too little to
judge, and Whisper's weakest guess: it is left to the fixed hangover (AGENT_HANGOVER_MS), as without a
decision ("unsure").
"""

from __future__ import annotations

import re
from typing import Literal

Verdict = Literal["finished", "unfinished", "unsure"]

_ARTICLES = {"a", "an", "the", "this", "these", "those", "some", "any", "every", "each", "another"}
_POSSESSIVES = {"my", "your", "our", "his", "her", "their", "its"}
_PREPOSITIONS = {
    "to", "for", "about", "of", "with", "at", "from", "by", "into", "onto", "than", "as", "near",
    "towards", "between", "during", "until", "till", "via", "per", "regarding", "including",
}  # fmt: skip
_CONJUNCTIONS = {
    "and", "or", "but", "nor", "because", "cause", "so", "if", "whether", "that", "when", "while",
    "although", "though", "unless", "since", "then", "which", "who", "whose", "where", "what", "how",
}  # fmt: skip
_AUXILIARIES = {
    "is", "are", "was", "were", "am", "be", "been", "being", "do", "does", "did", "can", "could",
    "would", "will", "shall", "should", "may", "might", "must", "have", "has", "had", "i'm", "i've",
    "i'd", "i'll", "it's", "there's", "we're", "you're", "they're", "what's", "that's", "gonna",
    "wanna", "need", "needs", "want", "wants",
}  # fmt: skip
_FILLERS = {"um", "umm", "uh", "uhh", "er", "erm", "hmm", "ah", "eh", "mm", "well", "just", "really", "very"}
# Verbs that take an object: "I'd like to book" waits for what. "me" after one of them too ("Can you
# send me"), unlike "Can you help me".
_TRANSITIVE = {
    "book", "booking", "make", "move", "change", "cancel", "arrange", "schedule", "reschedule", "get",
    "got", "take", "bring", "send", "give", "tell", "show", "ask", "asking", "know", "leave", "see",
    "prefer", "like", "need", "needs", "want", "wants", "wanted", "wondering", "having", "find",
    "looking", "speak", "talk", "mention", "add",
}  # fmt: skip
_SUBJECTS = {
    "i", "you", "we", "they", "he", "she", "it", "there", "someone", "somebody", "anyone", "anybody",
}  # fmt: skip
# Words that announce more: "Do you have anything" (on Saturday?), "I have a question" (which is...).
_ANNOUNCING = {"anything", "something", "question", "query", "wondering"}
_COPULAS = {"is", "are", "was", "were"}
_WH = {"what", "where", "when", "who", "which", "why", "how", "whereabouts"}
_SHORT_ANSWER = {"yes", "yeah", "yep", "no", "nope", "sure", "ok", "okay", "right", "of"}
# Whole turns of a word or two: answered at once, unlike other fragments that short.
_SHORT_TURNS = _SHORT_ANSWER | {
    "thanks", "thank", "cheers", "bye", "goodbye", "hello", "hi", "hey", "please", "great", "perfect",
    "fine", "lovely", "brilliant", "correct", "exactly", "absolutely", "definitely", "sorry", "pardon",
}  # fmt: skip
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
_DANGLING = ("...", "…", ",", "-", "–", "—", ";", ":")


def judge_words(text: str) -> Verdict:
    """Whether the turn whose transcript is `text` is over (see the module's docstring)."""
    if not sounds_finished(text):
        return "unfinished"
    words = _WORD.findall(text.lower().replace("’", "'"))
    return "unsure" if len(words) <= 2 and words[0] not in _SHORT_TURNS else "finished"


def sounds_finished(text: str) -> bool:
    """True when `text` could be a whole turn; False when it stops where more must come (or is empty)."""
    stripped = text.strip().strip("\"'")
    if stripped.endswith(_DANGLING):
        return False
    words = _WORD.findall(stripped.lower().replace("’", "'"))
    if not words:
        return False
    last = words[-1]
    before = words[-2] if len(words) > 1 else ""
    if last == "her" and before in _TRANSITIVE:
        return True  # "Can you see her": her as the object, not a possessive
    # A wh-question strands its preposition or object at the end: "What time am I booked for", "How
    # long does a cleaning take".
    stranded = any(word in _WH for word in words[:-1])
    if last in _PREPOSITIONS and not stranded:
        return False
    if last in _ARTICLES | _POSSESSIVES | _CONJUNCTIONS | _FILLERS:
        return False
    if last in _ANNOUNCING or (last == "sure" and before == "not"):
        return False  # "I'm not sure" (which, if...) too
    if words[0] in _COPULAS and len(words) <= 3 and before in _ARTICLES | _POSSESSIVES:
        return False  # "Is the clinic": a question still without its predicate
    if last in _AUXILIARIES:
        return words[0] in _SHORT_ANSWER  # "Yes, I do." ends; "How much does" does not
    if last in _SUBJECTS and before in _AUXILIARIES:
        # "What time do you", "Can someone", "Is there" want a verb or more; "Where are you" does not.
        return words[0] in _SHORT_ANSWER or (before in _COPULAS and words[0] in _WH)
    if last in ("me", "us") and before in _TRANSITIVE:
        return False  # "Can you send me"
    if last == "like" and words[0] in _WH:
        return True  # "What are your hours like"
    return stranded or last not in _TRANSITIVE
