"""Fixtures the console's tests share: the browsers a test starts (stopped after it) and Twilio's API."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.console.browser import Browser
from tests.procs import ServerProcess, start_fake_twilio_api
from tests.whatsapp.conftest import TWILIO_SID, TWILIO_TOKEN


@pytest.fixture
def browsers() -> Iterator[list[Browser]]:
    started: list[Browser] = []
    yield started
    for browser in started:
        browser.stop()


@pytest.fixture
def fake_twilio() -> Iterator[ServerProcess]:
    proc = start_fake_twilio_api(f"{TWILIO_SID}:{TWILIO_TOKEN}")
    yield proc
    proc.stop()
