"""The owner's pages in a real browser (Debian's chromium via playwright-core) against real processes:
teaching the agent (edit, save, versions, restore, a refused value naming its field, two owners saving
at once), the Messages page (a new message appears while it is open, the handled toggle) and the
Bookings page (a booking the agent made, cancelled)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from tests.appointments.test_bookings_presented import chat
from tests.conftest import AgentFactory, GatewayFactory
from tests.console.browser import Browser, screenshot_dir
from tests.messages.conftest import taken
from voice_gateway.messages.model import from_contract
from voice_gateway.storage.knowledge_versions import KnowledgeVersionStore
from voice_gateway.storage.owner_messages import OwnerMessageStore
from voice_gateway.storage.schema import open_database

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]
PASSWORD = "browser-console-password"


async def store_message(url: str, reason: str, number: str) -> None:
    engine = await open_database(url)
    try:
        await OwnerMessageStore(engine).add(from_contract(taken(reason, number=number)), notify=False)
    finally:
        await engine.dispose()


async def stored_versions(url: str) -> list[tuple[int, str]]:
    engine = await open_database(url)
    try:
        return [(v.version, v.source) for v in await KnowledgeVersionStore(engine).listing(10)]
    finally:
        await engine.dispose()


def test_the_owner_edits_the_knowledge_is_refused_a_closing_before_opening_and_a_stale_save_and_restores(
    start_gateway: GatewayFactory, tmp_path: Path, browsers: list[Browser]
) -> None:
    url = f"sqlite:///{tmp_path}/console.db"
    gateway = start_gateway(CONSOLE_PASSWORD=PASSWORD, DATABASE_URL=url)
    browser = Browser("knowledge", f"http://127.0.0.1:{gateway.port}", PASSWORD, screenshot_dir(tmp_path))
    browsers.append(browser)
    saved = json.loads(browser.expect("SAVED"))
    assert saved["saturday"] == "10:00-14:00" and saved["current"].startswith(
        "Version 2, edited in the console"
    )
    refused = json.loads(browser.expect("REFUSED"))
    assert refused["problem"].startswith("Saturday hours (opening_hours.saturday): ")
    assert "closes before it opens" in refused["problem"]
    assert refused["invalid"] == "true" and refused["kept"] == "14:00-10:00"
    assert browser.expect("FOCUSED") == "day-saturday"
    stale = json.loads(browser.expect("STALE"))
    assert "The knowledge changed while you were editing" in stale and "Version 3 was saved" in stale
    restored = json.loads(browser.expect("RESTORED"))
    assert restored == {"saturday": "09:00-13:00", "versions": 4}
    browser.finish()
    versions = asyncio.run(stored_versions(url))
    assert versions == [(4, "restore"), (3, "console"), (2, "console"), (1, "file")]


def test_a_new_message_appears_while_the_page_is_open_and_the_owner_marks_one_handled(
    start_gateway: GatewayFactory, tmp_path: Path, browsers: list[Browser]
) -> None:
    url = f"sqlite:///{tmp_path}/console.db"
    asyncio.run(store_message(url, "please call back about my crown", "+447700900111"))
    gateway = start_gateway(CONSOLE_PASSWORD=PASSWORD, DATABASE_URL=url)
    browser = Browser(
        "messages",
        f"http://127.0.0.1:{gateway.port}",
        PASSWORD,
        screenshot_dir(tmp_path),
        first_reason="please call back about my crown",
        second_reason="running ten minutes late",
    )
    browsers.append(browser)
    assert browser.expect("READY") == "tel:+447700900111"
    asyncio.run(store_message(url, "running ten minutes late", "+447700900222"))
    browser.go()
    assert "1 new message: Jo Bloggs" in browser.expect("ARRIVED")
    assert "mark as new" in browser.expect("HANDLED")
    browser.finish()


def test_the_owner_cancels_a_booking_the_agent_made(
    start_gateway: GatewayFactory, start_agent: AgentFactory, tmp_path: Path, browsers: list[Browser]
) -> None:
    agent = start_agent()
    answers = asyncio.run(
        chat(
            agent.port,
            "Hi, can I book a check-up next Tuesday at 10am?",
            "10 am please",
            "Jo Bloggs",
            "yes",
            "yes",
        )
    )
    assert answers[-1].startswith("You're booked in for Tuesday"), answers
    gateway = start_gateway(CONSOLE_PASSWORD=PASSWORD, AGENT_ADDR=f"127.0.0.1:{agent.port}")
    browser = Browser(
        "bookings",
        f"http://127.0.0.1:{gateway.port}",
        PASSWORD,
        screenshot_dir(tmp_path),
        booked_name="Jo Bloggs",
    )
    browsers.append(browser)
    listed = json.loads(browser.expect("LISTED"))
    assert listed["day"].startswith("Tuesday") and "1 booking" in listed["day"]
    assert "10:00" in listed["booking"] and "Jo Bloggs" in listed["booking"]
    cancelled = json.loads(browser.expect("CANCELLED"))
    assert cancelled["asked"].startswith("Cancel the check-up for Jo Bloggs on Tuesday")
    assert cancelled["notice"].startswith("Cancelled: check-up for Jo Bloggs")
    agent.wait_for("APPOINTMENT_CANCELLED")
    browser.finish()
