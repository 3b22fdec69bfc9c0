"""The agent as a developer meets it: grpcurl against a running process, through server reflection."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.agent_service.client import frames
from tests.procs import ServerProcess

GRPCURL = str(Path(sys.executable).parent / "grpcurl")
SERVICE = "agentlocator.agent.v1.AgentService"


def grpcurl(
    agent: ServerProcess, *args: str, data: str | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """`grpcurl -plaintext [-d DATA] HOST:PORT ARGS...`; DATA "@" reads request messages from stdin."""
    flags = ["-d", data] if data is not None else []
    return subprocess.run(
        [GRPCURL, "-plaintext", *flags, f"127.0.0.1:{agent.port}", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def json_stream(text: str) -> list[dict[str, Any]]:
    """grpcurl prints one pretty-printed JSON object per response, back to back."""
    decoder = json.JSONDecoder()
    objects, index = [], 0
    while (index := _skip_space(text, index)) < len(text):
        obj, index = decoder.raw_decode(text, index)
        objects.append(obj)
    return objects


def _skip_space(text: str, index: int) -> int:
    while index < len(text) and text[index].isspace():
        index += 1
    return index


def test_grpcurl_lists_the_agent_health_and_reflection_services(agent: ServerProcess) -> None:
    result = grpcurl(agent, "list")
    assert result.returncode == 0, result.stderr
    assert set(result.stdout.split()) == {
        SERVICE,
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
    }


def test_grpcurl_describes_converse_request_and_raw_bytes_audio(agent: ServerProcess) -> None:
    result = grpcurl(agent, "describe", "agentlocator.agent.v1.ConverseRequest")
    assert result.returncode == 0, result.stderr
    for line in (
        "oneof event {",
        ".agentlocator.agent.v1.AudioIn audio_in = 1;",
        ".agentlocator.agent.v1.SessionStart session_start = 2;",
        "reserved 100 to 199;",
    ):
        assert line in result.stdout
    audio_in = grpcurl(agent, "describe", "agentlocator.agent.v1.AudioIn")
    assert "bytes audio = 1;" in audio_in.stdout


def test_grpcurl_health_check_reports_serving_overall_and_for_the_agent_service(agent: ServerProcess) -> None:
    overall = grpcurl(agent, "grpc.health.v1.Health/Check")
    service = grpcurl(agent, "grpc.health.v1.Health/Check", data=json.dumps({"service": SERVICE}))
    assert json.loads(overall.stdout) == {"status": "SERVING"}
    assert json.loads(service.stdout) == {"status": "SERVING"}


def test_grpcurl_chat_replies_and_remembers_the_conversation(agent: ServerProcess) -> None:
    request = {"conversation_id": "wa-1", "text": "Are you open on Sunday?", "channel": "CHANNEL_WHATSAPP"}
    first = grpcurl(agent, f"{SERVICE}/Chat", data=json.dumps(request))
    second = grpcurl(agent, f"{SERVICE}/Chat", data=json.dumps({**request, "text": "Thanks"}))
    assert first.returncode == 0, first.stderr
    # The default brain (LLM_PROVIDER=receptionist) answers from the demo business's knowledge file.
    assert json.loads(first.stdout) == {
        "conversation_id": "wa-1",
        "text": "No, we're closed on Sunday. We're open Monday to Friday from 8:30 am to 6 pm, "
        "and Saturday from 9 am to 1 pm.",
        "history_turns": 2,
    }
    assert json.loads(second.stdout) == {
        "conversation_id": "wa-1",
        "text": "You're welcome! Is there anything else I can help with?",
        "history_turns": 4,
    }


def test_grpcurl_chat_without_a_conversation_id_is_invalid_argument(agent: ServerProcess) -> None:
    result = grpcurl(agent, f"{SERVICE}/Chat", data=json.dumps({"text": "hi"}))
    assert result.returncode != 0
    assert "Code: InvalidArgument" in result.stderr
    assert "conversation_id is required" in result.stderr


def test_grpcurl_synthesize_speaks_the_greeting_as_base64_telephone_audio(agent: ServerProcess) -> None:
    request = {"greeting": True, "encoding": "AUDIO_ENCODING_MULAW_8K"}
    result = grpcurl(agent, f"{SERVICE}/Synthesize", data=json.dumps(request))
    assert result.returncode == 0, result.stderr
    reply = json.loads(result.stdout)
    assert reply["text"].startswith("Hello, thank you for calling Bright Smile Dental Clinic.")
    assert reply["encoding"] == "AUDIO_ENCODING_MULAW_8K"
    assert (reply["sample_rate_hz"], reply["tts"]) == (8000, "piper")
    assert len(base64.b64decode(reply["audio"])) > 8000  # over a second of µ-law


def test_grpcurl_drives_converse_with_a_json_stream_and_gets_the_audio_back(agent: ServerProcess) -> None:
    sent = frames(3)
    requests: list[dict[str, Any]] = [
        {"session_start": {"call_sid": "CA-grpcurl", "encoding": "AUDIO_ENCODING_MULAW_8K"}},
        # grpcurl's JSON form carries bytes as base64; on the wire they are raw bytes.
        *({"audio_in": _audio_json(frame, seq)} for seq, frame in enumerate(sent, start=1)),
        {"dtmf": {"digit": "5"}},
        {"playback_mark": {"mark_id": "echo-0-end", "status": "MARK_STATUS_CLEARED"}},
        {"ping": {"client_timestamp_ms": 42}},
        {"hangup": {"reason": "grpcurl done"}},
    ]
    stdin = "\n".join(json.dumps(r) for r in requests)
    result = grpcurl(agent, f"{SERVICE}/Converse", data="@", stdin=stdin)
    assert result.returncode == 0, result.stderr
    responses = json_stream(result.stdout)
    audio_out = [r["audio_out"] for r in responses if "audio_out" in r]
    echoed = b"".join(base64.b64decode(a.get("audio", "")) for a in audio_out)
    assert echoed == b"".join(sent)
    assert responses[0] == {"session_accepted": {"protocol_version": 1, "pipeline": "echo"}}
    assert {"pong"} <= {key for r in responses for key in r}
    assert responses[-1] == {"mark": {"mark_id": "echo-1-end", "utterance_id": "echo-1"}}


def _audio_json(frame: bytes, seq: int) -> dict[str, Any]:
    return {"audio": base64.b64encode(frame).decode(), "seq": seq, "media_timestamp_ms": seq * 20}


def test_grpcurl_converse_starting_with_audio_is_invalid_argument(agent: ServerProcess) -> None:
    stdin = json.dumps({"audio_in": {"audio": base64.b64encode(b"\xff" * 160).decode(), "seq": 1}})
    result = grpcurl(agent, f"{SERVICE}/Converse", data="@", stdin=stdin)
    assert result.returncode != 0
    assert "Code: InvalidArgument" in result.stderr
    assert "the first ConverseRequest must be SessionStart, got audio_in" in result.stderr
