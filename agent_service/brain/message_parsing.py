"""What a caller's sentence says about a message: their name, a call-back number, what it is about.

Phone speech arrives as Whisper writes it (punctuation or none, digits or digit words) and chat as people
type it, so each finder works on spans of the text: the name after a lead ("this is", "my name is"), a
run of digits with its cue ("my number is"), and what is left once those, greetings and "can I leave a
message" are taken out is the reason. Nothing is guessed: a run too short or too long to be a phone
number is reported as an attempt, never returned as a number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MIN_DIGITS = 7  # the shortest local numbers
MAX_DIGITS = 15  # E.164's longest
# Without a cue ("my number is"), only a run this long is taken for a phone number ("invoice 1234567").
UNCUED_MIN_DIGITS = 10
ATTEMPT_DIGITS = 4  # a run this long where a number was due is a (failed) attempt at one


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_DIGIT_WORDS = {
    "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
    "seven": "7", "eight": "8", "nine": "9",
}  # fmt: skip
_OH = {"oh", "o"}  # a 0 only next to other digits: "oh, it's 0770…" starts with an interjection
_REPEAT = {"double": 2, "triple": 3}
_TOKEN = re.compile(r"\+|\d|[a-z]+(?:'[a-z]+)?", re.I)
_NUMBER_CUE = re.compile(
    r"(?:\b(?:and\s+)?(?:my\s+|the\s+)?(?:phone\s+|mobile\s+|cell\s+|contact\s+)?number(?:'s|\s+is)?"
    r"|\b(?:you\s+can\s+|please\s+)?(?:reach|call|ring|get)\s+me(?:\s+back)?\s+(?:on|at)"
    r"|\b(?:it's|it\s+is))\s*[:,]?\s*$",
    re.I,
)
_SAME_NUMBER = re.compile(
    r"\b(?:this|the\s+same|same)\s+(?:number|one|phone)\b|\bcaller\s+id\b"
    r"|\b(?:the\s+one|the\s+number)\s+i'?m\s+(?:calling|texting|writing)\s+(?:from|on)\b",
    re.I,
)
_NAME_LEAD = re.compile(
    r"\b(?:my\s+name\s+is|my\s+name's|name's|name\s+is|this\s+is|it's|it\s+is|i'm|i\s+am|call\s+me)\s+",
    re.I,
)
_NAME_WORD = re.compile(r"[^\W\d_][\w'’-]*")
# Words that end a name, or show that what follows a lead is no name ("I'm calling about…").
_NOT_NAME = _words(
    """a about after again also am an and any anyway are as at back be been but by calling can could do
    doctor dr fine for from going good got great had has have having hello here hey hi hoping how i i'd
    i'll i'm if in interested is it it's just know like looking me message mobile my need no not number
    of oh ok okay on or phone phoning please regarding ringing right so sorry still sure thank thanks
    that the there this to trying um uh wanted wanting was we well were what when where who why will
    with wondering would yeah yes you your"""
)
_LEADING_FILLER = re.compile(
    r"[\s,.!]*(?:(?:uh+|um+|er+|erm|yes|yeah|sure|ok(?:ay)?|it's|sorry)\b[\s,.!]*)*", re.I
)
_GREETING = re.compile(
    r"^\s*(?:(?:hi|hello|hey|good\s+(?:morning|afternoon|evening))(?:\s+there)?[\s,.!]*)+", re.I
)
_REQUEST = re.compile(
    r"(?:\b(?:can|could|may|would|will)\s+(?:i|you|someone|somebody)\s+(?:please\s+)?"
    r"|\bi(?:'d|\s+would)\s+like\s+to\s+|\bi\s+(?:want|need)\s+to\s+|\bi'?ll\s+|\bplease\s+)?"
    r"(?:\b(?:leave|take|pass\s+on|give)\s+(?:a|an|my|the)?\s*|^\s*(?:a\s+)?)message"
    r"(?:\s+for\s+(?:the\s+|(?:doctor|dr\.?|mr\.?|mrs\.?|ms\.?|miss)\s+)?[^\W\d_][\w'-]*)?",
    re.I,
)
# "could someone call me back": a request for a call-back, not what it is about ("ask Dr Patel to call me
# back" names who should call, so it stays).
_CALL_BACK = re.compile(
    r"(?:\b(?:can|could|would|will)\s+(?:someone|somebody|anyone|you)\s+(?:please\s+)?|\bplease\s+)"
    r"(?:call|ring|phone)\s+me\s+back\b",
    re.I,
)
_REASON_LEAD = re.compile(
    r"^(?:(?:and|so|also|well|um+|uh+|er+|yes|yeah|ok(?:ay)?|sure|right)\b[\s,]*)*"
    r"(?:(?:it's|it\s+is|i'm\s+calling|i\s+am\s+calling|i'm\s+ringing|calling|ringing|this\s+is)\s+)?"
    r"(?:about|regarding|concerning|re)?\b[\s:,]*",
    re.I,
)
# Request and filler words: a leftover made only of these carries no reason ("could someone call me back").
_NO_CONTENT = _words(
    """a about an and anyone back call callback can could get give hello hey hi i i'd i'll i'm it's just
    leave like me message my need of oh ok okay on please right ring so someone somebody sure take thank
    thanks that the to um uh want well would yeah yes you"""
)


@dataclass(frozen=True, slots=True)
class Found:
    """What one sentence gave for one field: the value and the characters it took up."""

    value: str
    start: int
    end: int


def find_number(text: str, caller: str = "", *, cued: bool = False) -> tuple[Found | None, Found | None]:
    """The phone number in `text`, and where the caller tried to give one (digits where a number was due,
    too short or too long to be one): its span, or None. `cued`: a number was asked for."""
    best: Found | None = None
    attempt: Found | None = None
    for run in _digit_runs(text):
        digits = sum(c.isdigit() for c in run.value)
        cue = _NUMBER_CUE.search(text[: run.start])
        span = Found(run.value, cue.start() if cue else run.start, run.end)
        if (cued or cue) and digits >= ATTEMPT_DIGITS:
            attempt = attempt or span
        valid = MIN_DIGITS <= digits <= MAX_DIGITS and (cued or cue or digits >= UNCUED_MIN_DIGITS)
        if valid and (best is None or digits > sum(c.isdigit() for c in best.value)):
            best = span
    same = _SAME_NUMBER.search(text)
    if best is None and same and caller:
        best = Found(caller, same.start(), same.end())
    return best, best or attempt


def _digit_runs(text: str) -> list[Found]:
    tokens = list(_TOKEN.finditer(text))
    runs: list[Found] = []
    digits: list[str] = []
    start = end = 0
    repeat, repeat_at = 1, 0

    def close() -> None:
        nonlocal digits, repeat
        if any(d.isdigit() for d in digits):
            runs.append(Found("".join(digits), start, end))
        digits, repeat = [], 1

    for i, match in enumerate(tokens):
        word = match.group().lower()
        digit = word if word.isdigit() else _DIGIT_WORDS.get(word)
        if word in _OH and _next_to_digit(tokens, i):
            digit = "0"
        if digit is not None:
            if not digits:
                start = repeat_at if repeat > 1 else match.start()
            digits.append(digit * repeat)
            end, repeat = match.end(), 1
        elif word in _REPEAT and _next_to_digit(tokens, i):
            repeat, repeat_at = _REPEAT[word], match.start()
        elif word in ("+", "plus") and not digits:
            digits, start, end = ["+"], match.start(), match.end()
        else:
            close()
    close()
    return runs


def _next_to_digit(tokens: list[re.Match[str]], i: int) -> bool:
    def is_digit(j: int) -> bool:
        if not 0 <= j < len(tokens):
            return False
        word = tokens[j].group().lower()
        return word.isdigit() or word in _DIGIT_WORDS

    return is_digit(i - 1) or is_digit(i + 1)


def find_name(text: str, *, bare: bool = False) -> Found | None:
    """The caller's name after a lead ("this is Jo Bloggs"); with `bare` (the name was asked for), also
    a reply that is just the name ("Jo Bloggs", "uh, Jo")."""
    for lead in _NAME_LEAD.finditer(text):
        found = _name_at(text, lead.end())
        if found is not None:
            return Found(found.value, lead.start(), found.end)
    if bare:
        filler = _LEADING_FILLER.match(text)
        return _name_at(text, filler.end() if filler else 0)
    return None


def _name_at(text: str, start: int) -> Found | None:
    words: list[str] = []
    end = start
    position = start
    while len(words) < 3:
        match = _NAME_WORD.match(text, position)
        if match is None or match.group().lower() in _NOT_NAME:
            break
        words.append(match.group())
        end = match.end()
        gap = re.match(r"[ \t]+", text[end:])  # a comma or full stop ends the name
        if gap is None:
            break
        position = end + gap.end()
    if not words:
        return None
    return Found(" ".join(w[:1].upper() + w[1:] for w in words), start, end)


def find_reason(text: str, taken: list[Found | None], *, asked: bool = False) -> str:
    """What the message is about: `text` without the name and number spans (`taken`), greetings and the
    request itself. Empty when nothing but requests and fillers is left."""
    rest = text
    for found in sorted((f for f in taken if f is not None), key=lambda f: f.start, reverse=True):
        rest = rest[: found.start] + " " + rest[found.end :]
    rest = _CALL_BACK.sub(" ", _REQUEST.sub(" ", _GREETING.sub("", rest)))
    rest = re.sub(r"\s*([,.;:!?])(?:\s*[,.;:!?])+", r"\1", rest)
    rest = re.sub(r"\s+", " ", rest).strip(" ,.;:!?-")
    rest = _REASON_LEAD.sub("", rest).strip(" ,.;:!?-")
    words = [w.lower() for w in re.findall(r"[\w']+", rest)]
    if not words or (all(w in _NO_CONTENT for w in words) and not (asked and len(words) > 2)):
        return ""
    return rest[:1].upper() + rest[1:]


def spoken_digits(number: str) -> str:
    """A number as the voice should read it: digit by digit, in groups ("0 7 7, 0 0 9 0, 0 1 2 3")."""
    plus, digits = number.startswith("+"), [c for c in number if c.isdigit()]
    groups: list[list[str]] = []
    while len(digits) > 4 and len(digits) != 8:
        groups.append(digits[:3])
        digits = digits[3:]
    groups.extend([digits[:4], digits[4:]] if len(digits) == 8 else [digits])
    spoken = ", ".join(" ".join(g) for g in groups if g)
    return f"plus {spoken}" if plus else spoken
