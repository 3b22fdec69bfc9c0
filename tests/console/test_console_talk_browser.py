""" "Talk to your agent" in a real browser: Debian's chromium (playwright-core) with a fake microphone that
plays a WAV Piper spoke, against the real gateway and, in AI mode, the real agent with its embedded speech
models and the demo knowledge. Chromium loops the file, so the question comes round again every ~12 s."""

from __future__ import annotations

import asyncio
import json
import re
import wave
from pathlib import Path

import numpy as np
import pytest

from agent_service.speech.piper_tts import PiperTts
from tests.conftest import AgentFactory, GatewayFactory
from tests.console.browser import Browser, screenshot_dir

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]
PASSWORD = "talk-browser-password"
QUESTION = "What time do you open on Saturday?"
# Chromium's own flags for a microphone without a person: a fake device, its prompt answered yes.
FAKE_MICROPHONE = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]


def spoken_wav(path: Path, piper: PiperTts, text: str) -> Path:
    """`text` in Piper's voice as a 16-bit PCM WAV: a pause first (the greeting plays), then the question,
    then silence long enough for the answer before chromium loops the file."""
    speech = piper.synthesize_blocking(text, vary=False)
    rate = speech.sample_rate
    silence = np.zeros(int(rate * 2.5), np.int16), np.zeros(int(rate * 10), np.int16)
    pcm = np.concatenate([silence[0], speech.pcm.astype(np.int16), silence[1]])
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm.tobytes())
    return path


def url(port: int) -> str:
    return f"http://127.0.0.1:{port}"


async def test_asked_aloud_in_the_browser_the_agent_answers_with_saturdays_hours(
    tmp_path: Path, start_agent: AgentFactory, start_gateway: GatewayFactory, browsers: list[Browser]
) -> None:
    wav = spoken_wav(tmp_path / "question.wav", PiperTts(), QUESTION)
    agent = start_agent(AGENT_PIPELINE="conversation", AGENT_GREETING="Hello, how can I help?")
    gateway = start_gateway(WS_MODE="AI", AGENT_ADDR=f"127.0.0.1:{agent.port}", CONSOLE_PASSWORD=PASSWORD)
    args = [*FAKE_MICROPHONE, f"--use-file-for-fake-audio-capture={wav}"]
    browser = Browser("talk-ai", url(gateway.port), PASSWORD, screenshot_dir(tmp_path), args=args)
    browsers.append(browser)
    call_sid = await asyncio.to_thread(browser.expect, "CONNECTED")
    assert call_sid.startswith("BR") and len(call_sid) == 34
    answered = json.loads(await asyncio.to_thread(browser.expect, "ANSWERED"))
    lines = answered["lines"]
    asked = next(i for i, line in enumerate(lines) if "saturday" in line.lower())
    assert lines[asked].startswith("You: ")
    answer = " ".join(lines[asked + 1 :]).lower()
    # demo.yaml: Saturday from 9 am to 1 pm.
    assert re.search(r"\b(9|nine)\b", answer) and re.search(r"\b(1 ?pm|one pm|13)\b", answer), lines
    # The agent's audio came back over the socket and was played; its marks were answered as played.
    assert int(answered["framesReceived"]) > 50 and int(answered["msPlayed"]) > 1500
    assert int(answered["framesSent"]) > 100 and int(answered.get("marksPlayed", 0)) >= 1
    await asyncio.to_thread(browser.expect, "HUNG_UP")
    await asyncio.to_thread(gateway.wait_for, f"AI_CALL_END call={call_sid}")
    browser.go()
    page = json.loads(await asyncio.to_thread(browser.expect, "CALL_PAGE"))
    assert "Browser call from the console" in page and "browser (console)" in page
    assert "Per-turn latency" in page and "No turn was measured" not in page
    await asyncio.to_thread(browser.finish)


def test_in_echo_mode_the_microphone_comes_back_to_the_page(
    tmp_path: Path, start_gateway: GatewayFactory, browsers: list[Browser]
) -> None:
    wav = spoken_wav(tmp_path / "hello.wav", PiperTts(), "Hello, is anyone there?")
    gateway = start_gateway(CONSOLE_PASSWORD=PASSWORD)
    args = [*FAKE_MICROPHONE, f"--use-file-for-fake-audio-capture={wav}"]
    browser = Browser("talk-echo", url(gateway.port), PASSWORD, screenshot_dir(tmp_path), args=args)
    browsers.append(browser)
    echoed = json.loads(browser.expect("ECHOED"))
    assert int(echoed["framesReceived"]) >= 100 and int(echoed["framesSent"]) >= 100
    assert int(echoed["clears"]) == 1  # ECHO clears once at the start
    browser.finish()
    gateway.wait_for("WS_STOP")


def test_a_page_whose_microphone_is_refused_says_so_and_starts_no_call(
    tmp_path: Path, start_gateway: GatewayFactory, browsers: list[Browser]
) -> None:
    gateway = start_gateway(CONSOLE_PASSWORD=PASSWORD)
    args = ["--use-fake-device-for-media-stream", "--deny-permission-prompts"]
    browser = Browser("talk-no-microphone", url(gateway.port), PASSWORD, screenshot_dir(tmp_path), args=args)
    browsers.append(browser)
    explained = json.loads(browser.expect("EXPLAINED"))
    assert "Allow the microphone" in explained["problem"]
    assert "callSid" not in explained  # no socket was opened
    browser.finish()
    assert not gateway.matching("WS_CONNECTED")


def test_signed_out_the_page_asks_for_the_password_and_the_socket_is_refused(
    tmp_path: Path, start_gateway: GatewayFactory, browsers: list[Browser]
) -> None:
    gateway = start_gateway(CONSOLE_PASSWORD=PASSWORD)
    browser = Browser(
        "talk-signed-out",
        url(gateway.port),
        PASSWORD,
        screenshot_dir(tmp_path),
        expected_error="/console/talk/stream",
    )
    browsers.append(browser)
    browser.expect("LOGIN_ASKED")
    assert json.loads(browser.expect("SOCKET_REFUSED")) == {"opened": False, "code": 1006}
    browser.finish()
    gateway.wait_for("BROWSER_CALL_REFUSED status=401")
