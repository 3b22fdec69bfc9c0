"""`Idempotency-Key` on `POST /api/whatsapp/messages`, on the real gateway process sending through the
real Twilio SDK to the loopback Messages API: a client's retry never reaches the customer twice."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.procs import ServerProcess
from tests.whatsapp.conftest import (
    BEARER,
    base_url,
    contact,
    gateway_env,
    messages_of,
    sqlite_url,
    start_wa_gateway,
    twilio_env,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory, fake_twilio: ServerProcess) -> Iterator[ServerProcess]:
    env = gateway_env(
        sqlite_url(tmp_path_factory.mktemp("wa-idempotency")), WHATSAPP_DEFAULT_PROVIDER="twilio"
    )
    proc = start_wa_gateway(**env, **twilio_env(fake_twilio))
    yield proc
    proc.stop()


def send(proc: ServerProcess, body: Any, key: str | None) -> httpx.Response:
    headers = {**BEARER, **({"Idempotency-Key": key} if key is not None else {})}
    return httpx.post(f"{base_url(proc)}/api/whatsapp/messages", json=body, headers=headers, timeout=30)


def sends_to(fake: ServerProcess, who: str) -> int:
    return len(fake.matching(f'"To": "whatsapp:{who}"'))


def test_a_retry_with_the_same_key_gets_the_same_message_and_sends_nothing(
    gateway: ServerProcess, fake_twilio: ServerProcess
) -> None:
    who = contact()
    first = send(gateway, {"to": who, "text": "your table is booked"}, "booking-7-confirmation")
    assert first.status_code == 202, first.text
    # The same JSON value in another key order is the same request.
    retry = send(gateway, {"text": "your table is booked", "to": who}, "booking-7-confirmation")
    assert retry.status_code == 200 and retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json()["id"] == first.json()["id"]
    assert sends_to(fake_twilio, who) == 1 and len(messages_of(gateway, who)) == 1


def test_the_same_key_with_another_body_is_a_409_and_sends_nothing(
    gateway: ServerProcess, fake_twilio: ServerProcess
) -> None:
    who = contact()
    assert send(gateway, {"to": who, "text": "first"}, "k-conflict").status_code == 202
    other = send(gateway, {"to": who, "text": "something else"}, "k-conflict")
    assert other.status_code == 409 and other.json()["error"]["code"] == "idempotency_key_reused"
    assert sends_to(fake_twilio, who) == 1


def test_retries_racing_each_other_make_one_message(
    gateway: ServerProcess, fake_twilio: ServerProcess
) -> None:
    who = contact()
    body = {"to": who, "text": "only once, please"}
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: send(gateway, body, "k-race"), range(8)))
    assert sorted(a.status_code for a in answers) == [200] * 7 + [202]
    assert len({a.json()["id"] for a in answers}) == 1
    assert sends_to(fake_twilio, who) == 1


@pytest.mark.parametrize("key", ["", "x" * 201, "has space", "caf\u00e9"])
def test_a_malformed_key_is_a_400_naming_the_header(gateway: ServerProcess, key: str) -> None:
    # As bytes: a client may put any octets in a header; the gateway reads them as Latin-1.
    headers = [(k.encode(), v.encode()) for k, v in {**BEARER, "Idempotency-Key": key}.items()]
    response = httpx.post(
        f"{base_url(gateway)}/api/whatsapp/messages", json={"to": contact(), "text": "hi"}, headers=headers
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_idempotency_key"
    assert "Idempotency-Key" in response.json()["error"]["message"]


def test_without_a_key_every_request_is_a_new_message(
    gateway: ServerProcess, fake_twilio: ServerProcess
) -> None:
    who = contact()
    for _ in range(2):
        assert send(gateway, {"to": who, "text": "twice on purpose"}, None).status_code == 202
    assert sends_to(fake_twilio, who) == 2
