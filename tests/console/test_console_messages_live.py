"""The Messages page keeps itself current: /console/messages/updates gives the page's messages rendered by
its own template (so the page's script can add new ones and move a notification's state on), behind the
console's sign-in; through Quart's test client on the real app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from quart.typing import TestClientProtocol as Client

from tests.console.test_console_auth import BROWSER, _settings, _sign_in
from tests.messages.conftest import taken
from voice_gateway.app import create_app
from voice_gateway.messages.model import from_contract
from voice_gateway.storage.owner_messages import OwnerMessageStore
from voice_gateway.storage.schema import open_database


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[Client]:
    app = create_app(_settings(tmp_path))
    async with app.test_app() as running:
        yield running.test_client()


async def add_message(tmp_path: Path, reason: str) -> str:
    engine = await open_database(f"sqlite:///{tmp_path}/console.db")
    try:
        stored, _ = await OwnerMessageStore(engine).add(from_contract(taken(reason)), notify=False)
    finally:
        await engine.dispose()
    return stored.id


async def test_a_message_taken_after_the_page_loaded_is_in_the_next_update_rendered_like_the_page(
    client: Client, tmp_path: Path
) -> None:
    csrf = await _sign_in(client)
    page = await (await client.get("/console/messages", headers=BROWSER)).get_data(as_text=True)
    assert 'id="no-messages">' in page and 'src="/console/static/messages.js"' in page
    first = await add_message(tmp_path, "please call about my <b>crown</b>")
    second = await add_message(tmp_path, "running late")
    body = await (await client.get("/console/messages/updates?status=new")).get_json()
    assert [m["id"] for m in body["messages"]] == [second, first]  # newest first, as the page
    html = body["messages"][1]["html"]
    assert html.startswith(f'<article class="card message new" id="message-{first}"')
    assert "&lt;b&gt;crown&lt;/b&gt;" in html and "<b>crown</b>" not in html
    assert f'name="csrf_token" value="{csrf}"' in html and 'class="notify off"' in html
    handled = await (await client.get("/console/messages/updates?status=handled")).get_json()
    assert handled == {"messages": []}
    assert (await client.get("/console/messages/updates?status=bogus")).status_code == 404


async def test_updates_need_a_sign_in(client: Client) -> None:
    assert (await client.get("/console/messages/updates")).status_code == 401
