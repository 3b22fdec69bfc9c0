"""Whisper on a window cut to the utterance: heard as on the 30 s window, and never trusted when it loops."""

from __future__ import annotations

import pytest

from agent_service.speech.piper_tts import PiperTts
from agent_service.speech.whisper_stt import WhisperStt
from agent_service.speech.whisper_window import looks_like_a_loop
from agentlocator_common import telephone_audio
from tests.speech.conftest import line_noise, telephone, words


@pytest.fixture(scope="module")
def windowed() -> WhisperStt:
    return WhisperStt(threads=2, window_s=15)


def test_a_sentence_said_twice_or_text_that_compresses_like_a_loop_is_not_trusted() -> None:
    assert looks_like_a_loop("Is there a car park? Is there a car park?")
    assert looks_like_a_loop("Can I register with you. can I register with you.")
    assert looks_like_a_loop("the the the the the the the the the the the the the the the the the the")
    assert not looks_like_a_loop("What are your opening hours? And are you open on Sunday?")
    assert not looks_like_a_loop("")


def test_a_question_is_heard_on_the_short_window_as_on_the_full_one(  # word for word: bench/turn_policy
    piper: PiperTts, whisper: WhisperStt, windowed: WhisperStt
) -> None:
    pcm = telephone_audio.mulaw_decode(
        line_noise(0.2) + telephone(piper, "How much is a check-up?") + line_noise(0.3)
    )
    short = windowed.transcribe_blocking(pcm, telephone_audio.TELEPHONE_RATE)
    full = whisper.transcribe_blocking(pcm, telephone_audio.TELEPHONE_RATE)
    assert {"much", "check"} <= set(words(short.replace("checkup", "check up"))) & set(
        words(full.replace("checkup", "check up"))
    )


def test_what_the_short_window_does_not_trust_is_decoded_on_the_full_window(
    piper: PiperTts, windowed: WhisperStt, monkeypatch: pytest.MonkeyPatch
) -> None:
    decoder = windowed._windowed
    assert decoder is not None
    monkeypatch.setattr(decoder, "decode", lambda audio, hotwords, prompt: None)
    pcm = telephone_audio.mulaw_decode(telephone(piper, "Where are you located?") + line_noise(0.3))
    assert "located" in words(windowed.transcribe_blocking(pcm, telephone_audio.TELEPHONE_RATE))


def test_silence_on_the_short_window_is_no_words(windowed: WhisperStt) -> None:
    pcm = telephone_audio.mulaw_decode(line_noise(2.0))
    assert windowed.transcribe_blocking(pcm, telephone_audio.TELEPHONE_RATE) == ""
