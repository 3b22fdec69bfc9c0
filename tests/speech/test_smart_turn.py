"""The end-of-turn model: found through pipecat-ai's metadata, checked before it loads, fed its input."""

from __future__ import annotations

import importlib.metadata
import shutil
from pathlib import Path

import numpy as np
import pytest

from agent_service.errors import ModelLoadError
from agent_service.speech import smart_turn
from agent_service.speech.piper_tts import PiperTts
from agent_service.speech.smart_turn import SmartTurn, bundled_model_path, features
from agentlocator_common import telephone_audio
from tests.speech.conftest import line_noise, telephone


def test_the_model_is_the_file_pipecat_ai_lists_and_loads_once_its_hash_matches() -> None:
    path = bundled_model_path()
    assert path.name == "smart-turn-v3.2-cpu.onnx" and path.is_file()
    SmartTurn()  # verifies the pinned sha256, then loads


def test_a_model_file_with_another_hash_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tampered = tmp_path / "smart-turn-v3.2-cpu.onnx"
    shutil.copyfile(bundled_model_path(), tampered)
    with tampered.open("r+b") as f:
        f.seek(1000)
        f.write(b"\0\0\0\0")
    monkeypatch.setattr(smart_turn, "bundled_model_path", lambda: tampered)
    with pytest.raises(ModelLoadError, match="sha256"):
        SmartTurn()


def test_without_pipecat_ai_the_error_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str) -> importlib.metadata.Distribution:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "distribution", missing)
    with pytest.raises(ModelLoadError, match="--no-deps pipecat-ai==1.14.0"):
        bundled_model_path()


def test_the_input_is_the_log_mel_of_the_last_8_seconds_padded_in_front() -> None:
    rng = np.random.default_rng(0)
    ten_seconds = rng.normal(0, 0.1, 160_000).astype(np.float32)
    assert features(ten_seconds).shape == (80, 800)
    np.testing.assert_array_equal(features(ten_seconds), features(ten_seconds[-128_000:]))
    short = ten_seconds[:32_000]
    np.testing.assert_array_equal(
        features(short), features(np.concatenate([np.zeros(96_000, np.float32), short]))
    )


def test_a_spoken_question_on_the_telephone_line_gets_a_probability(piper: PiperTts) -> None:
    wire = line_noise(0.3) + telephone(piper, "What are your opening hours?") + line_noise(0.2)
    probability = SmartTurn().complete_blocking(telephone_audio.mulaw_decode(wire), 8000)
    assert 0.0 <= probability <= 1.0
