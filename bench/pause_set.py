"""The pause set: spoken requests with a natural pause in the middle ("I'd like to book… a check-up").

Each request is one sentence whose pause point is marked `|`. Piper speaks the whole sentence with a
comma there, so the words before the pause keep the rising, unfinished melody of a sentence that goes on
(speaking the first half alone would end it with a falling, finished one); the comma's short silence is
then stretched to the pause length. Pause lengths run evenly from 300 to 800 ms over the set. The audio
then goes the way a caller's does: resampled to 8 kHz, seeded line noise, µ-law.

`bench/turn_policy.py` runs the set through the agent's VAD, turn-taking and end-of-turn model on the
media clock; `bench/turn_load.py --pause-set` runs it as real-time calls through the whole stack.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from agent_service.speech.piper_tts import PiperTts
from agentlocator_common import telephone_audio

REQUESTS = (
    "I'd like to book | a check-up for next week.",
    "Can I speak to | Doctor Patel please?",
    "My name is | John Smith.",
    "I'm calling about | my appointment on Friday.",
    "Do you have anything | on Saturday morning?",
    "I need to cancel | my appointment tomorrow.",
    "How much does | a filling cost?",
    "Could you tell me | your opening hours?",
    "I was wondering | if you do teeth whitening.",
    "My daughter needs | a check-up after school.",
    "Is there | parking near the clinic?",
    "I'd like to move | my cleaning to next Tuesday.",
    "I've got | a really bad toothache.",
    "Can you send me | a confirmation by text?",
    "What time do you | close on Thursdays?",
    "I wanted to ask | about payment plans.",
    "I think I need | an emergency appointment.",
    "Do you take | new patients at the moment?",
    "Could I book | a hygienist visit for my husband?",
    "I'm not sure | which dentist I saw last time.",
    "Is it possible to | come in before work?",
    "We are looking for | a family dentist nearby.",
    "Can I leave | a message for Anna?",
    "I'd prefer | an afternoon slot if you have one.",
    "Where exactly | is the clinic?",
    "My tooth has been | hurting since Monday.",
    "Do you do | home visits for elderly patients?",
    "I'd like to know | the price of a scale and polish.",
    "Can someone | call me back this afternoon?",
    "I have a question | about my last bill.",
    "Is the clinic | on the first floor?",
    "I'm looking for | a dentist who does implants.",
)
# Written after the text end-of-turn rules (agent_service/speech/sentence_end.py) were set on REQUESTS,
# and never used to change them: how the rules do on pauses they were not fitted to. Many pause where
# the words so far are a whole sentence ("Can I pay | by card"), which only the voice's melody can tell.
HELD_OUT_REQUESTS = (
    "Could you check | if Doctor Lee is in today?",
    "I'm ringing because | my filling fell out.",
    "Do you have any | appointments this evening?",
    "My son has | a wobbly tooth.",
    "I'd like to change | the time of my visit.",
    "Can I pay | by card on the day?",
    "How long does | a cleaning take?",
    "I booked online and | never got an email.",
    "Is there a charge | for missed appointments?",
    "We need two | appointments next to each other.",
    "Could you remind me | what time I'm booked for?",
    "I was told to | call back this week.",
    "What's the earliest | you can fit me in?",
    "Does the hygienist | work on Mondays?",
    "I'm after | a quote for a crown.",
    "My gums have been | bleeding a lot lately.",
    "Can my wife | come to the same appointment?",
    "Are you open | over the Christmas break?",
    "I just wanted | to say thank you.",
    "Who should I | talk to about a complaint?",
)
QUIET = 300  # a 10 ms stretch of Piper's output below this RMS is silence
SHORTEST_PAUSE_MS, LONGEST_PAUSE_MS = 300, 800


@dataclass(frozen=True, slots=True)
class PausedRequest:
    text: str  # as a caller says it, without the pause mark
    pause_ms: int
    wire: bytes  # µ-law, 8 kHz
    pause_start_ms: int  # media time within `wire`
    pause_end_ms: int
    speech_end_ms: int


def pause_lengths(count: int) -> list[int]:
    step = (LONGEST_PAUSE_MS - SHORTEST_PAUSE_MS) / max(count - 1, 1)
    return [round(SHORTEST_PAUSE_MS + i * step) for i in range(count)]


def _quiet_runs(pcm: np.ndarray, rate: int) -> list[tuple[int, int]]:
    """(start, end) sample indices of silent stretches, in 10 ms steps."""
    step = rate // 100
    n = len(pcm) // step
    rms = np.sqrt((pcm[: n * step].astype(np.float64).reshape(n, step) ** 2).mean(axis=1))
    runs, start = [], None
    for i, quiet in enumerate(rms < QUIET):
        if quiet and start is None:
            start = i
        elif not quiet and start is not None:
            runs.append((start * step, i * step))
            start = None
    return runs


def _last_loud(pcm: np.ndarray) -> int:
    loud = np.flatnonzero(np.abs(pcm.astype(np.int32)) > 1000)
    return int(loud[-1]) if len(loud) else len(pcm)


def speak(piper: PiperTts, marked: str, pause_ms: int, *, seed: int, noise: float = 60.0) -> PausedRequest:
    before, _, after = (part.strip() for part in marked.partition("|"))
    speech = piper.synthesize_blocking(f"{before}, {after}", vary=False)
    pcm, rate = speech.pcm, speech.sample_rate
    # The comma's silence: the longest quiet stretch in the middle of the sentence.
    middle = [(a, b) for a, b in _quiet_runs(pcm, rate) if 0.15 * len(pcm) < a and b < 0.9 * len(pcm)]
    if not middle:
        raise ValueError(f"no pause found where the comma is in {marked!r}")
    start, end = max(middle, key=lambda run: run[1] - run[0])
    silence = np.zeros(rate * pause_ms // 1000, np.int16)
    spliced = np.concatenate([pcm[:start], silence, pcm[end:]])
    at8k = telephone_audio.resample(spliced, rate, telephone_audio.TELEPHONE_RATE).astype(np.float64)
    at8k += np.random.default_rng(seed).normal(0.0, noise, len(at8k))
    wire = telephone_audio.mulaw_encode(np.clip(at8k, -32768, 32767).astype(np.int16))
    to_ms = 1000 / rate
    text = re.sub(r"\s+", " ", f"{before} {after}")
    return PausedRequest(
        text=text,
        pause_ms=pause_ms,
        wire=wire,
        pause_start_ms=round(start * to_ms),
        pause_end_ms=round(start * to_ms + pause_ms),
        speech_end_ms=round(_last_loud(spliced) * to_ms),
    )


def pause_set(
    piper: PiperTts, *, seed: int = 100, requests: tuple[str, ...] = REQUESTS
) -> list[PausedRequest]:
    lengths = pause_lengths(len(requests))
    return [
        speak(piper, text, ms, seed=seed + i)
        for i, (text, ms) in enumerate(zip(requests, lengths, strict=True))
    ]


def words(text: str) -> list[str]:
    """Lower case, punctuation gone, hyphens split ("check-up" = "check up"), digits kept."""
    return re.sub(r"[^a-z0-9' ]", " ", text.lower().replace("-", " ")).split()


def word_errors(reference: str, heard: str) -> tuple[int, int]:
    """(edit distance in words, reference words)."""
    ref, hyp = words(reference), words(heard)
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        diagonal, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            diagonal, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, diagonal + (r != h))
    return row[len(hyp)], len(ref)
