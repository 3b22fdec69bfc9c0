"""Two whole gateway apps on one real PostgreSQL, through Quart's test client: the console's sessions, its
login form and the `/api/` budget are the same on both."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
from quart.typing import TestAppProtocol as RunningApp
from quart.typing import TestClientProtocol as Client

from tests.console.test_console_auth import API_TOKEN, BROWSER, PASSWORD, _csrf, _settings
from voice_gateway.app import create_app
from voice_gateway.console.auth import SESSION_COOKIE
from voice_gateway.settings_cluster import ClusterSettings


@pytest.fixture
async def two(tmp_path: Path, postgres_url: str) -> AsyncIterator[tuple[Client, Client]]:
    async with AsyncExitStack() as stack:
        clients = []
        for name in ("g1", "g2"):
            settings = _settings(
                tmp_path,
                database_url=postgres_url,
                call_token_secret="shared-secret-of-every-gateway",
                api_rate_limit_per_minute=3,
                cluster=ClusterSettings(gateway_id=name),
            )
            app: RunningApp = create_app(settings).test_app()
            running: RunningApp = await stack.enter_async_context(app)  # type: ignore[arg-type]
            clients.append(running.test_client())
        yield clients[0], clients[1]


def cookies(client: Client) -> dict[str, str]:
    assert client.cookie_jar is not None
    return {cookie.name: cookie.value or "" for cookie in client.cookie_jar}


async def test_a_session_made_on_one_gateway_works_on_the_other_until_signed_out_on_either(
    two: tuple[Client, Client],
) -> None:
    one, other = two
    # The login form served by one gateway is accepted by the other (the load balancer is not sticky).
    form = await one.get("/console/login")
    token = _csrf(await form.get_data(as_text=True))
    for name, value in cookies(one).items():
        other.set_cookie("localhost", name, value, path="/console")
    signed_in = await other.post("/console/login", form={"password": PASSWORD, "csrf_token": token})
    assert signed_in.status_code == 303
    one.set_cookie("localhost", SESSION_COOKIE, cookies(other)[SESSION_COOKIE], path="/console")
    home = await one.get("/console", headers=BROWSER)
    assert home.status_code == 200
    csrf = _csrf(await home.get_data(as_text=True))
    assert (await one.post("/console/logout", form={"csrf_token": csrf})).status_code == 303
    assert (await other.get("/console", headers=BROWSER)).status_code == 303  # signed out everywhere


async def test_two_gateways_give_one_bearer_token_one_budget(two: tuple[Client, Client]) -> None:
    one, other = two
    auth = {"Authorization": f"Bearer {API_TOKEN}"}
    statuses = [
        (await (one if n % 2 else other).get("/api/messages", headers=auth)).status_code for n in range(4)
    ]
    assert statuses[:3] == [200, 200, 200] and statuses[3] == 429
