"""Understanding phone speech: the evaluation set spoken over a telephone line, heard by the agent's own
ears, answered by its brain, and scored (tests/eval/scoring.py: right, rightly deferred, deferred, wrong,
invented).

Each question: the installed Piper voice (no sampling noise, so runs repeat), resampled to 8 kHz, seeded
line noise, µ-law; 2.5 s of line noise first and 1 s after. The wire bytes then go through what the
`conversation` pipeline does with a caller's frames: µ-law decode, Silero VAD per 20 ms frame, the
TurnTaker with the default policy, the utterance buffer's pre- and post-roll, Whisper tiny.en (beam 5),
and the receptionist brain given the transcript as the caller's first turn.

Configurations, all in the same run: recognition with no hints (the baseline), with the knowledge's
words as faster-whisper `hotwords`, and as `initial_prompt`; each transcript answered by the BM25 matcher
the receptionist had before (the baseline: retrieval.py as commit BEFORE had it, read from git) and by
the current one. The text rows give the brain the
question as written, which is what `make test` checks (tests/eval/test_understanding.py).
Run: `.venv/bin/python -m bench.understanding` (about 6 minutes here; `--hints off,hotwords` for fewer,
`--json FILE` keeps every transcript and answer, `--heard FILE` scores those transcripts again).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import statistics
import subprocess
import sys
import time
import types
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from agent_service.brain.base import Brain
from agent_service.brain.matching import KnowledgeMatcher
from agent_service.brain.receptionist import ReceptionistBrain, documents
from agent_service.brain.retrieval import Matcher
from agent_service.composition import conversation_config
from agent_service.knowledge import DEMO_KNOWLEDGE_FILE, Knowledge, load_knowledge
from agent_service.settings import AgentSettings
from agent_service.speech.call_io import UtteranceBuffer
from agent_service.speech.hints import hints_for
from agent_service.speech.piper_tts import PiperTts
from agent_service.speech.silero import SileroVad
from agent_service.speech.turns import SpeechEnded, TurnTaker
from agent_service.speech.whisper_stt import WhisperStt
from agentlocator_common import telephone_audio
from agentlocator_common.telephone_audio import Pcm
from bench.embedding_matcher import AgreementMatcher, EmbeddingMatcher, MiniLm
from tests.eval.scoring import OUTCOMES, Judge, Tally, tally
from tests.eval.understanding_set import HELD_OUT, QUESTIONS
from tests.speech.conftest import line_noise, telephone

LEAD_S, TAIL_S = 2.5, 1.0
BEFORE = "c38fe22"  # the last commit with the receptionist's BM25-only matching
SETS = {"development": QUESTIONS, "held-out": HELD_OUT}


def previous_index(rev: str, texts: list[str]) -> Matcher:
    """The BM25 index exactly as commit `rev` had it (its stop-words and synonyms too), from git."""
    source = subprocess.run(
        ["git", "show", f"{rev}:agent_service/brain/retrieval.py"], check=True, capture_output=True, text=True
    ).stdout
    module = types.ModuleType("retrieval_before")
    sys.modules[module.__name__] = module  # dataclasses look their module up while they are built
    exec(compile(source, f"{rev}:retrieval.py", "exec"), module.__dict__)
    index: Matcher = module.Bm25Index(texts)
    return index


def brains(knowledge: Knowledge, rev: str, embedding: Path | None) -> dict[str, Brain]:
    texts = [doc.text for doc in documents(knowledge)]
    found: dict[str, Brain] = {
        "before": ReceptionistBrain(knowledge, matcher=previous_index(rev, texts)),
        "matcher": ReceptionistBrain(knowledge),
    }
    if embedding is not None:
        nearest = EmbeddingMatcher(MiniLm(embedding), texts)
        both = AgreementMatcher(KnowledgeMatcher.for_knowledge(knowledge, texts), nearest)
        found["embedding"] = ReceptionistBrain(knowledge, matcher=nearest)
        found["matcher+embedding"] = ReceptionistBrain(knowledge, matcher=both)
    return found


def caller_line(piper: PiperTts, text: str, seed: int) -> bytes:
    lead = line_noise(LEAD_S, seed=seed + 10_000)
    return lead + telephone(piper, text, seed=seed) + line_noise(TAIL_S, seed=seed + 20_000)


def utterances(vad: SileroVad, wire: bytes) -> list[Pcm]:
    """What the pipeline would hand to STT: the VAD's turns with their pre- and post-roll."""
    # Without an end-of-turn decision (nothing here answers its questions): the fixed hangover's turns.
    policy = dataclasses.replace(conversation_config(AgentSettings(), "").turns, end_of_turn_model=False)
    turns = TurnTaker(policy)
    stream, buffer, found = vad.open_stream(), UtteranceBuffer(), []
    probability = 0.0
    for i, frame in enumerate(telephone_audio.frames(wire)):
        media_ms, pcm = i * 20, telephone_audio.mulaw_decode(frame)
        buffer.append(media_ms, pcm)
        p = stream.process(pcm)
        probability = probability if p is None else p
        for event in turns.on_frame(media_ms, probability, agent_speaking=False):
            if isinstance(event, SpeechEnded):
                found.append(buffer.take(event.start_ms, event.end_ms))
        if not turns.user_speaking:
            buffer.forget_before(media_ms + 20)
    return found


def hear(stt: WhisperStt, segments: Sequence[Pcm]) -> tuple[str, float]:
    started = time.perf_counter()
    heard = " ".join(stt.transcribe_blocking(pcm, telephone_audio.TELEPHONE_RATE) for pcm in segments)
    return heard.strip(), (time.perf_counter() - started) / max(len(segments), 1)


def table_row(label: str, result: Tally) -> str:
    counts = result.counts
    cells = " | ".join(str(counts[o]) for o in OUTCOMES)
    return f"| {label} | {len(result.rows)} | {cells} | **{100 * result.share:.1f} %** |"


Questions = list[tuple[str, tuple[str, tuple[str, ...]]]]


def listen(knowledge: Knowledge, questions: Questions, hint_modes: list[str]) -> dict[str, list[str]]:
    """What the agent hears of each question, per hints mode ("text": the question as written)."""
    piper, vad = PiperTts(), SileroVad()
    print(f"speaking {len(questions)} questions …", flush=True)
    segments = [utterances(vad, caller_line(piper, q[0], seed)) for seed, (_, q) in enumerate(questions)]
    print(f"{sum(len(s) != 1 for s in segments)} of {len(questions)} were not exactly one VAD turn")
    heard: dict[str, list[str]] = {"text": [q[0] for _, q in questions]}
    for mode in hint_modes:
        stt = WhisperStt(threads=2, hints=hints_for(knowledge, mode))
        out = [hear(stt, s) for s in segments]
        heard[mode] = [text for text, _ in out]
        exact = np.mean([_words(h) == _words(q[0]) for (h, _), (_, q) in zip(out, questions, strict=True)])
        median_ms = 1000 * statistics.median(s for _, s in out)
        print(f"hints {mode}: {100 * exact:.0f} % heard word for word, median decode {median_ms:.0f} ms")
    return heard


async def score(
    knowledge: Knowledge, questions: Questions, heard: dict[str, list[str]], by_name: dict[str, Brain]
) -> dict[str, object]:
    judge = Judge(knowledge)
    print("\n| set | heard as | matcher | questions |", " | ".join(OUTCOMES), "| right or rightly deferred |")
    print("|---|---|---|---|" + "---|" * (len(OUTCOMES) + 1))
    report: dict[str, object] = {}
    misses: list[str] = []
    for set_name in SETS:
        index = [i for i, (name, _) in enumerate(questions) if name == set_name]
        for mode, transcripts in heard.items():
            for brain_name, brain in by_name.items():
                rows = [(questions[i][1][0], transcripts[i], questions[i][1][1]) for i in index]
                result = await tally(brain, judge, rows)
                label = "typed text" if mode == "text" else f"speech, hints {mode}"
                print(table_row(f"{set_name} | {label} | {brain_name}", result))
                report[f"{set_name}/{mode}/{brain_name}"] = [dataclasses.asdict(r) for r in result.rows]
                if brain_name == "matcher":
                    misses.extend(
                        f"  {set_name}, {label}: {r.outcome}: {r.asked!r} heard {r.heard!r} → {r.said[:50]!r}"
                        for r in result.misses()
                    )
    print("\nmisses of the current matcher:", *misses, sep="\n")
    return report


def run(
    hint_modes: list[str], rev: str, dump: Path | None, heard_from: Path | None, embedding: Path | None
) -> None:
    knowledge = load_knowledge(DEMO_KNOWLEDGE_FILE)
    by_name = brains(knowledge, rev, embedding)
    questions = [(name, q) for name, items in SETS.items() for q in items]
    if heard_from is not None:
        heard = json.loads(heard_from.read_text())["heard"]
    else:
        heard = listen(knowledge, questions, hint_modes)
        if dump is not None:  # the slow part is kept even if scoring fails
            dump.write_text(json.dumps({"heard": heard}, indent=1))
    report = asyncio.run(score(knowledge, questions, heard, by_name))
    if dump is not None:
        dump.write_text(json.dumps({"heard": heard, "rows": report}, indent=1))


def _words(text: str) -> list[str]:
    return "".join(c if c.isalnum() else " " for c in text.lower().replace("'", "")).split()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--hints", default="off,hotwords,prompt", help="comma-separated: off,hotwords,prompt")
    parser.add_argument("--before", default=BEFORE, help="the commit whose matcher is the baseline")
    parser.add_argument("--json", type=Path, help="write every transcript and answer here")
    parser.add_argument("--heard", type=Path, help="score the transcripts of an earlier --json instead")
    parser.add_argument("--embedding", type=Path, help="also MiniLM matchers (bench/embedding_matcher.py)")
    args = parser.parse_args()
    run(args.hints.split(","), args.before, args.json, args.heard, args.embedding)


if __name__ == "__main__":
    main()
