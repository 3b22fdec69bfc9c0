"""The browser call's audio line (static/talk-worklet.js) on its own, in Node with the two globals an
AudioWorkletGlobalScope gives it: 20 ms µ-law frames of 160 bytes at any context rate, G.711 both ways,
marks answered when the audio before them has played, and `clear` dropping the queue and answering the
marks still in it at once."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WORKLET = ROOT / "voice_gateway" / "console" / "static" / "talk-worklet.js"
SCRIPT = Path(__file__).with_name("worklet.mjs")


@pytest.mark.parametrize("rate", [48000, 44100, 16000, 8000])
def test_the_audio_line_frames_plays_marks_and_clears_as_twilio_does(rate: int) -> None:
    if shutil.which("node") is None:
        pytest.fail("node is missing: run `make install`")
    run = subprocess.run(
        ["node", str(SCRIPT), str(WORKLET), str(rate)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout)
    # One second of microphone: 50 frames (the last may still be filling), each exactly 160 bytes.
    assert seen["sizes"] == [160] and 49 <= seen["frames"] <= 50
    assert seen["changed"] == [[0x7F, 0xFF]]
    assert seen["loudestOut"] > 0.9  # µ-law 0x80 is the loudest positive sample, decoded to ~0.98
    assert seen["playedNonZero"] >= rate * 0.1  # the first 100 ms played in full
    assert seen["marksAfterFirst"] == [["first", False]]
    assert seen["marksAfterClear"] == [["first", False], ["second", True]]
    assert seen["silentAfterClear"] is True
    assert seen["idleMark"] == [["idle", False]]
