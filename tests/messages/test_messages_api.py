"""`GET /api/messages` and `PATCH /api/messages/<id>` on a running gateway: bearer API_TOKEN, newest first
in bounded pages, filtered by status, marked handled; every refusal precise."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.conftest import GatewayFactory
from tests.messages.conftest import taken
from tests.procs import ServerProcess
from voice_gateway.messages.model import from_contract
from voice_gateway.storage.owner_messages import OwnerMessageStore
from voice_gateway.storage.schema import open_database

pytestmark = pytest.mark.integration
API_TOKEN = "messages-api-token-0123456789"
BEARER = {"Authorization": f"Bearer {API_TOKEN}"}


async def stored_messages(url: str, count: int) -> list[str]:
    engine = await open_database(url)
    try:
        store = OwnerMessageStore(engine)
        return [
            (await store.add(from_contract(taken(f"reason {i}")), notify=False))[0].id for i in range(count)
        ]
    finally:
        await engine.dispose()


@pytest.fixture
async def gateway(start_gateway: GatewayFactory, tmp_path: Path) -> tuple[ServerProcess, list[str]]:
    url = f"sqlite:///{tmp_path}/gateway.db"
    ids = await stored_messages(url, 5)
    return start_gateway(API_TOKEN=API_TOKEN, DATABASE_URL=url), ids


def api(proc: ServerProcess, method: str, path: str, **kwargs: object) -> httpx.Response:
    headers = kwargs.pop("headers", BEARER)
    return httpx.request(method, f"http://127.0.0.1:{proc.port}{path}", headers=headers, **kwargs)  # type: ignore[arg-type]


def test_messages_are_listed_newest_first_in_pages(gateway: tuple[ServerProcess, list[str]]) -> None:
    proc, ids = gateway
    first = api(proc, "GET", "/api/messages", params={"limit": "2"}).json()
    second = api(proc, "GET", "/api/messages", params={"limit": "2", "before": first["next"]}).json()
    third = api(proc, "GET", "/api/messages", params={"limit": "2", "before": second["next"]}).json()
    listed = [m["id"] for page in (first, second, third) for m in page["messages"]]
    assert listed == ids[::-1] and third["next"] is None
    message = first["messages"][0]
    assert (message["name"], message["number"], message["reason"], message["channel"]) == (
        "Jo Bloggs",
        "07700900123",
        "reason 4",
        "voice",
    )
    assert message["status"] == "new" and message["notification"]["state"] == "off"


def test_a_message_marked_handled_moves_to_the_handled_list(gateway: tuple[ServerProcess, list[str]]) -> None:
    proc, ids = gateway
    handled = api(proc, "PATCH", f"/api/messages/{ids[2]}", json={"status": "handled"})
    assert (
        handled.status_code == 200 and handled.json()["status"] == "handled" and handled.json()["handled_at"]
    )
    listed = api(proc, "GET", "/api/messages", params={"status": "handled"}).json()["messages"]
    assert [m["id"] for m in listed] == [ids[2]]
    waiting = api(proc, "GET", "/api/messages", params={"status": "new"}).json()["messages"]
    assert ids[2] not in [m["id"] for m in waiting] and len(waiting) == 4
    again = api(proc, "PATCH", f"/api/messages/{ids[2]}", json={"status": "new"})
    assert again.json()["status"] == "new" and again.json()["handled_at"] is None


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "code"),
    [
        ("GET", "/api/messages", {"headers": {}}, 401, "unauthorized"),
        ("GET", "/api/messages", {"headers": {"Authorization": "Bearer wrong"}}, 401, "unauthorized"),
        ("GET", "/api/messages", {"params": {"status": "done"}}, 422, "invalid_request"),
        ("GET", "/api/messages", {"params": {"limit": "0"}}, 422, "invalid_request"),
        ("GET", "/api/messages", {"params": {"limit": "201"}}, 422, "invalid_request"),
        ("GET", "/api/messages", {"params": {"before": "no-such-message"}}, 404, "not_found"),
        ("PATCH", "/api/messages/nope", {"json": {"status": "handled"}}, 404, "not_found"),
        ("PATCH", "/api/messages/nope", {"content": b"{not json"}, 400, "invalid_json"),
        ("PATCH", "/api/messages/nope", {"json": {"status": "archived"}}, 422, "invalid_request"),
        ("PATCH", "/api/messages/nope", {"json": {"status": "new", "colour": "red"}}, 422, "invalid_request"),
        ("PATCH", "/api/messages/nope", {"json": ["handled"]}, 422, "invalid_request"),
    ],
)
def test_every_refusal_is_precise(
    gateway: tuple[ServerProcess, list[str]],
    method: str,
    path: str,
    kwargs: dict[str, object],
    status: int,
    code: str,
) -> None:
    proc, _ = gateway
    response = api(proc, method, path, **kwargs)
    assert (response.status_code, response.json()["error"]["code"]) == (status, code), response.text


def test_without_api_token_the_messages_api_is_off(start_gateway: GatewayFactory) -> None:
    proc = start_gateway()
    response = api(proc, "GET", "/api/messages")
    assert response.status_code == 503 and response.json()["error"]["code"] == "api_disabled"
