"""End-of-turn policies on the media clock: cut-offs on the pause set, waits on finished questions, WER.

Every request goes through what the `conversation` pipeline does with a caller's frames (µ-law decode,
Silero per 20 ms frame, the TurnTaker, the utterance buffer's pre- and post-roll) frame by frame on the
media clock, as fast as the CPU allows. With the end-of-turn model, its answer is applied two frames
(40 ms) after the pause was announced, about what one inference costs here; with the text decision
(AGENT_END_OF_TURN=text) the speculative transcript's verdict is applied ten frames (200 ms) after, about
what Whisper tiny.en takes on the 15 s window here; so runs repeat exactly.

- pause set (bench/pause_set.py): a **cut-off** is a turn that ended inside the request's pause (the
  agent would have started answering half a sentence); also counted on the 20 held-out requests
  (pause_set.HELD_OUT_REQUESTS, not used to fit the text rules; not in the WER);
- finished questions (tests/eval/understanding_set.py, all 118, spoken without a pause): the **wait** from
  the caller's last loud sample to the frame on which the turn ended, and how often the model called a
  finished question unfinished;
- **WER** over both sets, what the agent would hear: every turn's transcript, joined. With speculation,
  a turn that ended without speech after its pause is transcribed from the audio as it was at the pause
  (what the speculative transcription saw); otherwise from the final utterance.

Configurations, in the same run, with the knowledge's words in Whisper's prompt as deployed: `today`
(a fixed 500 ms hangover, faster-whisper's 30 s window), `window` (the 15 s window), `speculative-100`
(and the transcript taken 100 ms into the pause), `before-17` (the defaults before issue 17: 800 ms
fixed hangover, speculation at 300 ms), `new` (the settings' defaults: AGENT_END_OF_TURN,
AGENT_HANGOVER_MS, AGENT_PAUSE_MS), `text-200` (the text decision at a 200 ms pause), `smart-turn` (the
end-of-turn model asked 100 ms into the pause). `--hangovers` adds fixed hangovers, turn-taking only.
Run: `.venv/bin/python -m bench.turn_policy --configs today,new` (about 2.5 minutes a configuration
here; `--no-wer` for the turn-taking only, where the configuration needs no transcript).
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
from collections.abc import Callable
from dataclasses import dataclass

from agent_service.composition import conversation_config
from agent_service.knowledge import load_knowledge
from agent_service.settings import AgentSettings
from agent_service.speech.call_io import UtteranceBuffer
from agent_service.speech.hints import SpeechHints, hints_for
from agent_service.speech.piper_tts import PiperTts
from agent_service.speech.sentence_end import judge_words
from agent_service.speech.silero import SileroVad
from agent_service.speech.smart_turn import SmartTurn
from agent_service.speech.turns import Paused, SpeechEnded, SpeechResumed, TurnPolicy, TurnTaker
from agent_service.speech.whisper_stt import WhisperStt
from agentlocator_common import telephone_audio
from agentlocator_common.telephone_audio import Pcm
from bench.pause_set import HELD_OUT_REQUESTS, pause_set, word_errors
from tests.eval.understanding_set import HELD_OUT, QUESTIONS
from tests.speech.conftest import line_noise, telephone

LEAD_S, TAIL_S = 1.0, 3.5
MODEL_DELAY_FRAMES = 2
TEXT_DELAY_FRAMES = 10
# An end-of-turn judge: the pause's audio → (probability of finished, frames until the answer is in,
# whether it leaves the turn to the fixed hangover).
Judge = Callable[[Pcm], tuple[float, int, bool]]


@dataclass(frozen=True, slots=True)
class Heard:
    ended_ms: list[int]  # media time of the frame each turn ended on
    decisions: list[str]
    probabilities: list[float]  # the model's answer at each pause
    segments: list[Pcm]  # what STT gets, one per turn


def listen(vad: SileroVad, model: Judge | None, policy: TurnPolicy, wire: bytes, speculate: bool) -> Heard:
    turns, stream, buffer = TurnTaker(policy), vad.open_stream(), UtteranceBuffer()
    heard = Heard([], [], [], [])
    probability, pending, speculative = 0.0, None, None
    for i, frame in enumerate(telephone_audio.frames(wire)):
        media_ms, pcm = i * 20, telephone_audio.mulaw_decode(frame)
        buffer.append(media_ms, pcm)
        p = stream.process(pcm)
        probability = probability if p is None else p
        if pending is not None and i >= pending[0]:
            turns.decide(pending[1], pending[2], unsure=pending[3])
            pending = None
        for event in turns.on_frame(media_ms, probability, agent_speaking=False):
            if isinstance(event, Paused):
                audio = buffer.peek(event.start_ms, media_ms + 20)
                speculative = (event.end_ms, audio) if speculate else None
                if model is not None:
                    answer, delay, unsure = model(audio)
                    heard.probabilities.append(answer)
                    pending = (i + delay, event.end_ms, answer, unsure)
            elif isinstance(event, SpeechResumed):
                pending = speculative = None
            elif isinstance(event, SpeechEnded):
                final = buffer.take(event.start_ms, event.end_ms)
                hit = speculative is not None and speculative[0] == event.end_ms
                heard.segments.append(speculative[1] if hit and speculative else final)
                heard.ended_ms.append(media_ms + 20)
                heard.decisions.append(event.decision)
                pending = speculative = None
        if not turns.user_speaking:
            buffer.forget_before(media_ms + 20)
    return heard


@dataclass
class Tally:
    cut_offs: int = 0
    requests: int = 0
    held_out_cut_offs: int = 0
    held_out: int = 0
    waits: list[float] = dataclasses.field(default_factory=list)
    unfinished_calls: int = 0
    questions: int = 0
    errors: int = 0
    words: int = 0


def evaluate(
    name: str, policy: TurnPolicy, model: Judge | None, hear: Callable[[Pcm], str] | None, speculate: bool
) -> Tally:
    piper, vad, tally = PiperTts(), SileroVad(), Tally()
    lead = len(line_noise(LEAD_S)) // 8
    for n, request in enumerate(pause_set(piper, seed=900, requests=HELD_OUT_REQUESTS)):
        wire = line_noise(LEAD_S, seed=n) + request.wire + line_noise(TAIL_S, seed=n + 500)
        heard = listen(vad, model, policy, wire, speculate)
        cut = any(
            lead + request.pause_start_ms < t <= lead + request.pause_end_ms + 100 for t in heard.ended_ms
        )
        tally.held_out, tally.held_out_cut_offs = tally.held_out + 1, tally.held_out_cut_offs + cut
    for n, request in enumerate(pause_set(piper)):
        wire = line_noise(LEAD_S, seed=n) + request.wire + line_noise(TAIL_S, seed=n + 500)
        heard = listen(vad, model, policy, wire, speculate)
        cut = any(
            lead + request.pause_start_ms < t <= lead + request.pause_end_ms + 100 for t in heard.ended_ms
        )
        tally.requests += 1
        tally.cut_offs += cut
        if cut:
            print(f"{name}: cut off {request.text!r} (pause {request.pause_ms} ms): {heard.decisions}")
        if hear is not None:
            errors, count = word_errors(request.text, " ".join(hear(s) for s in heard.segments))
            tally.errors, tally.words = tally.errors + errors, tally.words + count
    for n, (question, _) in enumerate(QUESTIONS + HELD_OUT):
        spoken = telephone(piper, question, seed=n)
        wire = line_noise(LEAD_S, seed=n) + spoken + line_noise(TAIL_S, seed=n + 500)
        heard = listen(vad, model, policy, wire, speculate)
        last = _last_loud(wire)
        tally.questions += 1
        tally.unfinished_calls += any(p < policy.complete_threshold for p in heard.probabilities[-1:])
        if heard.ended_ms:
            tally.waits.append(heard.ended_ms[-1] - last)
        if hear is not None:
            errors, count = word_errors(question, " ".join(hear(s) for s in heard.segments))
            tally.errors, tally.words = tally.errors + errors, tally.words + count
    return tally


def _last_loud(wire: bytes) -> int:
    pcm = abs(telephone_audio.mulaw_decode(wire).astype(int))
    return int((pcm > 1000).nonzero()[0][-1]) // 8


def row(name: str, t: Tally) -> str:
    waits = sorted(t.waits)
    p90 = waits[int(0.9 * (len(waits) - 1))] if waits else 0
    wer = f"{100 * t.errors / t.words:.2f} %" if t.words else "—"
    return (
        f"| {name} | {t.cut_offs} / {t.requests} ({100 * t.cut_offs / t.requests:.1f} %) | "
        f"{statistics.median(waits):.0f} | {p90:.0f} | {waits[-1]:.0f} | "
        f"{t.unfinished_calls} / {t.questions} | {wer} | {t.held_out_cut_offs} / {t.held_out} |"
    )


HANGOVER, PAUSE = AgentSettings().hangover_ms, AgentSettings().turns.pause_ms
END_OF_TURN = AgentSettings().turns.end_of_turn
CONFIGS = {
    # name: (end of turn, hangover ms, pause ms, speculative, Whisper window s); the rest: the defaults
    "today": ("silence", 500, 0, False, 0.0),
    "window": ("silence", 500, 0, False, 15.0),
    "speculative-100": ("silence", 500, 100, True, 15.0),
    "before-17": ("silence", 800, 300, True, 15.0),
    "new": (END_OF_TURN, HANGOVER, PAUSE, True, 15.0),
    "text-200": ("text", HANGOVER, 200, True, 15.0),
    "smart-turn": ("smart-turn", HANGOVER, 100, True, 15.0),
}


def policy_for(name: str, settings: AgentSettings, hangover_ms: int) -> TurnPolicy:
    mode, _, pause_ms, _, _ = CONFIGS[name]
    default = conversation_config(settings, "").turns
    return dataclasses.replace(
        default, end_of_turn_model=mode != "silence", hangover_ms=hangover_ms, pause_ms=pause_ms
    )


def judge_for(mode: str, hints: SpeechHints) -> Judge | None:
    if mode == "smart-turn":
        model = SmartTurn()
        return lambda audio: (model.complete_blocking(audio, 8000), MODEL_DELAY_FRAMES, False)
    if mode == "text":
        stt = WhisperStt(threads=1, window_s=15.0, hints=hints)

        def read(audio: Pcm) -> tuple[float, int, bool]:
            verdict = judge_words(stt.transcribe_blocking(audio, 8000))
            return float(verdict == "finished"), TEXT_DELAY_FRAMES, verdict == "unsure"

        return read
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--configs", default=",".join(CONFIGS), help=f"from {', '.join(CONFIGS)}")
    parser.add_argument("--no-wer", action="store_true", help="turn-taking only, no transcription")
    parser.add_argument(
        "--hangovers", default="", help="also these fixed hangovers (ms, comma-separated), turn-taking only"
    )
    args = parser.parse_args()
    settings = AgentSettings.from_env()
    hints = hints_for(load_knowledge(settings.knowledge_file), settings.stt_hints)
    results: dict[str, Tally] = {}
    for name in args.configs.split(","):
        mode, hangover_ms, _, speculate, window_s = CONFIGS[name]
        stt = None if args.no_wer else WhisperStt(threads=1, window_s=window_s, hints=hints)
        hear = None if stt is None else (lambda pcm, stt=stt: stt.transcribe_blocking(pcm, 8000))
        model = judge_for(mode, hints)
        results[name] = evaluate(name, policy_for(name, settings, hangover_ms), model, hear, speculate)
    for ms in [int(v) for v in args.hangovers.split(",") if v]:
        results[f"silence {ms} ms"] = evaluate(
            "silence", policy_for("today", settings, ms), None, None, False
        )
    print(
        "\n| configuration | cut-offs in the pause set | wait median ms | p90 | max | finished questions "
        "not called finished | WER (both sets) | cut-offs, held-out pauses |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, tally in results.items():
        print(row(name, tally))


if __name__ == "__main__":
    main()
