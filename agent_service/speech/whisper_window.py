"""Whisper on a window cut to the utterance instead of 30 s: the same tiny.en, about 2.5× less CPU.

faster-whisper pads every segment's features to Whisper's 30 s window, so the encoder always costs the
same (~300 ms of one core here) however short the question. CTranslate2's encoder takes a shorter input
(its positional embeddings simply stop earlier); with 15 s, callers' questions (2–5 s) were heard as well
as with 30 s and the whole decode took ~140 ms instead of ~380 (docs/benchmarks.md). Much shorter windows
make tiny.en repeat itself ("Is there a car park? Is there a car park?"), so a result that repeats a
sentence, compresses like a loop or is improbable is not trusted: the caller decodes it again with
faster-whisper's own 30 s path and its temperature fallback.
"""

from __future__ import annotations

import re
import zlib
from typing import Any

import numpy as np
import numpy.typing as npt

FRAMES_PER_S = 100  # Whisper's log-mel hop: 10 ms
FULL_WINDOW = 3000
# faster-whisper's own thresholds (transcribe's defaults), applied the same way.
NO_SPEECH_THRESHOLD = 0.6
LOG_PROB_THRESHOLD = -1.0
COMPRESSION_RATIO_THRESHOLD = 2.4
_SENTENCE = re.compile(r"[^.?!]+[.?!]*")


class WindowedDecoder:
    """Decodes one utterance on a `window_s` window; None when the 30 s path should decide instead."""

    def __init__(self, model: Any, *, window_s: float, language: str, beam_size: int) -> None:
        from faster_whisper.tokenizer import Tokenizer  # type: ignore[import-untyped]
        from faster_whisper.transcribe import get_suppressed_tokens  # type: ignore[import-untyped]

        self._model = model  # a faster_whisper.WhisperModel
        self._frames = min(FULL_WINDOW, round(window_s * FRAMES_PER_S))
        self._beam_size = beam_size
        multilingual = model.model.is_multilingual
        self._tokenizer = Tokenizer(
            model.hf_tokenizer, multilingual, task="transcribe", language=language if multilingual else "en"
        )
        self._suppress = list(get_suppressed_tokens(self._tokenizer, [-1]))

    def decode(self, audio: npt.NDArray[np.float32], *, hotwords: str, prompt: str) -> str | None:
        import ctranslate2  # type: ignore[import-untyped]

        features = self._model.feature_extractor(audio)
        frames = features.shape[-1]
        if frames > FULL_WINDOW:
            return None  # longer than one window: faster-whisper cuts it into segments
        window = max(self._frames, frames)
        padded = np.zeros((features.shape[0], window), np.float32)
        padded[:, :frames] = features[:, :frames]
        encoded = self._model.model.encode(ctranslate2.StorageView.from_array(padded[None]), to_cpu=False)
        previous = self._tokenizer.encode(" " + prompt.strip()) if prompt else []
        tokens = self._model.get_prompt(
            self._tokenizer, previous, without_timestamps=True, hotwords=hotwords or None
        )
        result = self._model.model.generate(
            encoded,
            [tokens],
            beam_size=self._beam_size,
            max_length=self._model.max_length,
            return_scores=True,
            return_no_speech_prob=True,
            suppress_blank=True,
            suppress_tokens=self._suppress,
        )[0]
        ids = [t for t in result.sequences_ids[0] if t < self._tokenizer.eot]
        avg_logprob = result.scores[0] * len(ids) / (len(ids) + 1)
        if result.no_speech_prob > NO_SPEECH_THRESHOLD and avg_logprob < LOG_PROB_THRESHOLD:
            return ""  # silence, as faster-whisper would skip it
        text = str(self._tokenizer.decode(ids)).strip()
        if avg_logprob < LOG_PROB_THRESHOLD or looks_like_a_loop(text):
            return None
        return text


def looks_like_a_loop(text: str) -> bool:
    """A sentence said twice in a row, or text that compresses the way Whisper's loops do."""
    sentences = [s.strip().lower() for s in _SENTENCE.findall(text) if s.strip()]
    if any(a == b for a, b in zip(sentences, sentences[1:], strict=False)):
        return True
    raw = text.encode()
    return bool(raw) and len(raw) / len(zlib.compress(raw)) > COMPRESSION_RATIO_THRESHOLD
