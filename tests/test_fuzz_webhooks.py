"""Arbitrary form posts to Twilio's webhooks get a deliberate answer (200/204/403/413), never a 500."""

from __future__ import annotations

import asyncio

from hypothesis import given, settings
from hypothesis import strategies as st

from voice_gateway.app import create_app
from voice_gateway.settings import Settings

ROUTES = ["/incoming_call", "/webhook/stream_status", "/webhook/stream_ended"]
forms = st.dictionaries(st.text(min_size=1, max_size=30), st.text(max_size=200), max_size=12)
OPEN_APP = create_app(Settings.from_env({"MAX_BODY_BYTES": "4096"}))
# The penalty box for repeated signature failures (tests/test_abuse_limits.py) would turn these into 429s.
SIGNED_APP = create_app(
    Settings.from_env({"TWILIO_AUTH_TOKEN": "tok", "SIGNATURE_FAILURE_LIMIT_PER_MINUTE": "0"})
)


async def post_all(app_form: dict[str, str], signed: bool) -> set[int]:
    app = SIGNED_APP if signed else OPEN_APP
    client = app.test_client()
    headers = {"X-Twilio-Signature": "Zm9yZ2Vk"} if signed else {}
    return {(await client.post(route, form=app_form, headers=headers)).status_code for route in ROUTES}


@settings(max_examples=150, deadline=None)
@given(forms)
def test_any_form_gets_twiml_or_204_or_a_size_refusal(form: dict[str, str]) -> None:
    assert asyncio.run(post_all(form, signed=False)) <= {200, 204, 413}


@settings(max_examples=60, deadline=None)
@given(forms)
def test_any_unsigned_form_is_refused_with_403_when_signatures_are_required(form: dict[str, str]) -> None:
    assert asyncio.run(post_all(form, signed=True)) <= {403, 413}
