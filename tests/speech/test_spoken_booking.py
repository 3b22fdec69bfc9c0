"""A spoken booking end to end: the simulator calls the gateway in AI mode, the caller (Piper's voice over
an 8 kHz line) books a check-up in five turns, each said once the agent's answer has played, and the
agent's embedded calendar holds it afterwards at the local time the caller asked for."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from agent_service.calendar.embedded import EmbeddedCalendar, database_url
from agent_service.speech.piper_tts import PiperTts
from tests.conftest import AgentFactory, GatewayFactory
from tests.speech.conftest import line_noise, telephone
from voice_gateway.tools.simulate import CallOptions, simulate_call

pytestmark = pytest.mark.integration
LONDON = ZoneInfo("Europe/London")
CALLER = "+447700900123"


@pytest.mark.timeout(420)
async def test_a_caller_books_a_check_up_by_phone_and_it_is_in_the_calendar(
    start_agent: AgentFactory, start_gateway: GatewayFactory, piper: PiperTts, tmp_path: Path
) -> None:
    agent = start_agent(
        AGENT_PIPELINE="conversation",
        AGENT_GREETING="Hello, Bright Smile, how can I help?",
        AGENT_METRICS_INTERVAL_S="0",
        AGENT_DATA_DIR=str(tmp_path),
    )
    gateway = start_gateway(WS_MODE="AI", AGENT_ADDR=f"127.0.0.1:{agent.port}")
    said = [
        "I would like to book a check-up for next Tuesday at ten, please.",
        "Ten o'clock, please.",
        "My name is John Smith.",
        "Yes, that's right.",
        "Yes please.",
    ]
    heard: list[str] = []
    options = CallOptions(
        base_url=f"http://127.0.0.1:{gateway.port}",
        audio=line_noise(4.0) + telephone(piper, said[0]),
        replies=tuple(telephone(piper, text, seed=i + 2) for i, text in enumerate(said[1:])),
        reply_gap_ms=2500,
        keep_streaming=True,
        tail_s=4.0,
        from_number=CALLER,
        on_line=heard.append,
    )

    report = await simulate_call(options)

    conversation = "\n".join(heard)
    assert report.twilio_warnings == [], conversation
    assert "You're booked in for Tuesday" in conversation, conversation
    calendar = EmbeddedCalendar(database_url("", tmp_path))
    try:
        now = datetime.now(UTC)
        (booked,) = await calendar.appointments(now, now + timedelta(days=15))
    finally:
        await calendar.close()
    local = booked.start.astimezone(LONDON)
    assert (local.strftime("%A"), local.hour, local.minute) == ("Tuesday", 10, 0), conversation
    assert (booked.name, booked.phone, booked.service, booked.channel) == (
        "John Smith",
        CALLER,
        "check-up",
        "voice",
    )
    assert booked.source == options.call_sid
    print(f"\n{conversation}")
