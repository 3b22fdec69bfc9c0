"""The console's Messages page: who, a tel: link, what about, when, the channel and the owner's WhatsApp,
and a handled button behind the session's CSRF token; through Quart's test client on the real app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from quart.typing import TestClientProtocol as Client

from tests.console.test_console_auth import BROWSER, _settings, _sign_in
from tests.messages.conftest import taken
from voice_gateway.app import create_app
from voice_gateway.messages.model import NotifyState, OwnerMessage, from_contract
from voice_gateway.storage.owner_messages import OwnerMessageStore
from voice_gateway.storage.schema import open_database


@pytest.fixture
async def stored(tmp_path: Path) -> list[OwnerMessage]:
    engine = await open_database(f"sqlite:///{tmp_path}/console.db")
    try:
        store = OwnerMessageStore(engine)
        plain, _ = await store.add(from_contract(taken("my crown came off")), notify=True)
        hostile, _ = await store.add(
            from_contract(taken("<script>alert(1)</script>", number="")), notify=False
        )
        await store.claim(plain.id, 1, f"owner-{plain.id}-1", "2000-01-01T00:00:00+00:00")
        # Next try far ahead: the app's own notifier leaves it alone while the page is read.
        await store.wait(plain.id, 1, "2099-01-01T00:00:00+00:00", "not_connected: the session is not open")
        return [plain, hostile]
    finally:
        await engine.dispose()


@pytest.fixture
async def client(tmp_path: Path, stored: list[OwnerMessage]) -> AsyncIterator[Client]:
    app = create_app(_settings(tmp_path, owner_whatsapp="+4915112345678"))
    async with app.test_app() as running:
        yield running.test_client()


async def test_the_messages_page_shows_who_a_tel_link_what_when_and_the_owners_whatsapp(
    client: Client, stored: list[OwnerMessage]
) -> None:
    await _sign_in(client)
    page = await client.get("/console/messages", headers=BROWSER)
    html = await page.get_data(as_text=True)
    assert page.status_code == 200 and 'href="/console/messages" aria-current="page"' in html
    plain = stored[0]
    assert f'<a href="tel:{plain.number}">{plain.number}</a>' in html
    assert "Jo Bloggs" in html and "my crown came off" in html and f'datetime="{plain.taken_at}"' in html
    assert f'href="/console/calls/{plain.conversation_id}"' in html  # the call's own page
    assert "pending after 1 attempt — " in html and "not_connected: the session is not open" in html
    assert "no number given" in html  # the second message had none: never a made-up link
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert plain.notify_state is NotifyState.PENDING


async def test_marking_a_message_handled_needs_the_sessions_csrf_token(
    client: Client, stored: list[OwnerMessage]
) -> None:
    csrf = await _sign_in(client)
    target = f"/console/messages/{stored[0].id}/status"
    forged = await client.post(target, form={"status": "handled", "csrf_token": "forged"})
    assert forged.status_code == 403
    done = await client.post(target, form={"status": "handled", "shown": "new", "csrf_token": csrf})
    assert done.status_code == 303 and done.headers["Location"] == "/console/messages?status=new"
    waiting = await (await client.get("/console/messages?status=new")).get_data(as_text=True)
    handled = await (await client.get("/console/messages?status=handled")).get_data(as_text=True)
    assert f'id="message-{stored[0].id}"' not in waiting and f'id="message-{stored[0].id}"' in handled
    assert "mark as new" in handled
    missing = await client.post(
        "/console/messages/nope/status", form={"status": "handled", "csrf_token": csrf}
    )
    assert missing.status_code == 404
    wrong = await client.post(target, form={"status": "archived", "csrf_token": csrf})
    assert wrong.status_code == 422


async def test_the_messages_page_needs_a_sign_in(client: Client) -> None:
    page = await client.get("/console/messages", headers=BROWSER)
    assert page.status_code == 303 and page.headers["Location"] == "/console/login"
