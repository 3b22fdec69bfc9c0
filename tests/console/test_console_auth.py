"""Sign-in, cookies and CSRF of `/console`, through Quart's test client on the real app."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from quart.typing import TestClientProtocol as Client

from voice_gateway.app import create_app
from voice_gateway.settings import Settings

PASSWORD = "console-password-0123"
API_TOKEN = "console-api-token-0123"
BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


def _settings(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "console_password": PASSWORD,
        "api_token": API_TOKEN,
        "database_url": f"sqlite:///{tmp_path}/console.db",
        # Port 9 (discard): a sidecar that is certainly not there.
        "baileys_bridge_url": "http://127.0.0.1:9",
        "knowledge_file": str(Path("agent_service/knowledge/demo.yaml").resolve()),
        **overrides,
    }
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[Client]:
    app = create_app(_settings(tmp_path))
    async with app.test_app() as running:
        yield running.test_client()


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None, html
    return found.group(1)


async def _sign_in(client: Client, password: str = PASSWORD) -> str:
    page = await client.get("/console/login")
    token = _csrf(await page.get_data(as_text=True))
    response = await client.post("/console/login", form={"password": password, "csrf_token": token})
    assert response.status_code == 303, await response.get_data(as_text=True)
    home = await client.get("/console")
    assert home.status_code == 200
    return _csrf(await home.get_data(as_text=True))


async def test_pages_redirect_to_login_until_signed_in(client: Client) -> None:
    for path in ("/console", "/console/history", "/console/whatsapp", "/console/knowledge"):
        response = await client.get(path, headers=BROWSER)
        assert response.status_code == 303
        assert response.headers["Location"] == "/console/login"
    for path in ("/console/pairing.json", "/console/calls/live", "/console/whatsapp/qr.png"):
        assert (await client.get(path)).status_code == 401


async def test_hanging_up_a_call_that_is_not_live_answers_404(client: Client) -> None:
    csrf = await _sign_in(client)
    response = await client.post("/console/calls/CA0000/hangup", form={"csrf_token": csrf})
    assert response.status_code == 404
    assert "no call CA0000 is in progress" in await response.get_data(as_text=True)


async def test_session_cookie_is_httponly_strict_and_scoped_to_the_console(
    client: Client,
) -> None:
    page = await client.get("/console/login")
    token = _csrf(await page.get_data(as_text=True))
    response = await client.post("/console/login", form={"password": PASSWORD, "csrf_token": token})
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("agentlocator_console="))
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie
    assert "Path=/console" in cookie
    assert response.headers["Cache-Control"] == "no-store"


async def test_both_the_console_password_and_the_api_token_sign_in(client: Client) -> None:
    await _sign_in(client, PASSWORD)
    await client.post(
        "/console/logout",
        form={"csrf_token": _csrf(await (await client.get("/console")).get_data(as_text=True))},
    )
    await _sign_in(client, API_TOKEN)


async def test_a_wrong_password_is_refused_with_401_and_no_session(client: Client) -> None:
    page = await client.get("/console/login")
    token = _csrf(await page.get_data(as_text=True))
    response = await client.post("/console/login", form={"password": "nope", "csrf_token": token})
    assert response.status_code == 401
    assert "Wrong password." in await response.get_data(as_text=True)
    assert (await client.get("/console", headers=BROWSER)).status_code == 303


async def test_login_without_its_csrf_token_is_refused(client: Client) -> None:
    await client.get("/console/login")
    response = await client.post("/console/login", form={"password": PASSWORD, "csrf_token": "forged"})
    assert response.status_code == 403
    assert (await client.get("/console", headers=BROWSER)).status_code == 303


async def test_a_form_post_without_the_session_csrf_token_is_refused(client: Client) -> None:
    await _sign_in(client)
    response = await client.post("/console/whatsapp/send", form={"to": "+4915112345678", "text": "hi"})
    assert response.status_code == 403
    assert "CSRF" in await response.get_data(as_text=True)
    response = await client.post("/console/logout", form={"csrf_token": "wrong"})
    assert response.status_code == 403
    assert (await client.get("/console")).status_code == 200  # still signed in


async def test_logout_ends_the_session(client: Client) -> None:
    csrf = await _sign_in(client)
    response = await client.post("/console/logout", form={"csrf_token": csrf})
    assert response.status_code == 303
    assert (await client.get("/console", headers=BROWSER)).status_code == 303


async def test_a_bad_number_is_refused_with_a_clear_message(client: Client) -> None:
    csrf = await _sign_in(client)
    response = await client.post(
        "/console/whatsapp/send", form={"to": "12345", "text": "hi", "csrf_token": csrf}
    )
    assert response.status_code == 422
    assert "E.164" in await response.get_data(as_text=True)


async def test_pairing_actions_report_an_unreachable_sidecar_as_502(client: Client) -> None:
    csrf = await _sign_in(client)
    response = await client.post("/console/whatsapp/session/start", form={"csrf_token": csrf})
    assert response.status_code == 502
    assert "did not answer" in await response.get_data(as_text=True)
    unknown = await client.post("/console/whatsapp/session/explode", form={"csrf_token": csrf})
    assert unknown.status_code == 404


async def test_the_knowledge_page_is_a_form_with_the_sessions_csrf_token(client: Client) -> None:
    csrf = await _sign_in(client)
    response = await client.get("/console/knowledge")
    text = await response.get_data(as_text=True)
    assert response.status_code == 200
    assert "greeting" in text
    main = text.split("<main", 1)[1].split("</main>", 1)[0]
    forms = main.count("<form")
    assert forms >= 1 and main.count(f'name="csrf_token" value="{csrf}"') == forms


async def test_without_any_secret_the_console_is_off(tmp_path: Path) -> None:
    app = create_app(_settings(tmp_path, console_password=None, api_token=None))
    async with app.test_app() as running:
        client = running.test_client()
        assert "The console is off" in await (await client.get("/console/login")).get_data(as_text=True)
        assert (await client.get("/console", headers=BROWSER)).status_code == 503
