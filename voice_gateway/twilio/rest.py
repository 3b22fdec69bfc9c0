"""Twilio's REST API through Twilio's own SDK, aimed at a configurable base URL (tests use loopback)."""

from __future__ import annotations

import asyncio

from twilio.rest import Client
from twilio.twiml.voice_response import VoiceResponse


class TwilioCalls:
    def __init__(self, account_sid: str, auth_token: str, api_base_url: str) -> None:
        self._client = Client(account_sid, auth_token)
        # The SDK has no base-URL argument; each domain object reads this attribute when it builds URLs.
        self._client.api.base_url = api_base_url.rstrip("/")

    async def transfer(self, call_sid: str, number: str) -> None:
        """Redirect a live call to `<Dial>number</Dial>`; its Media Stream ends as Twilio moves on."""
        document = VoiceResponse()
        document.dial(number)
        twiml = str(document)
        # The SDK's HTTP client is synchronous; keep it off the event loop that carries audio.
        await asyncio.to_thread(lambda: self._client.calls(call_sid).update(twiml=twiml))

    async def say_and_hang_up(self, call_sid: str, text: str) -> None:
        """Redirect a live call to `<Say>text</Say><Hangup/>`: the caller hears it whichever gateway
        answers next, because Twilio itself plays it (the draining gateway may be gone by then)."""
        document = VoiceResponse()
        document.say(text)
        document.hangup()
        twiml = str(document)
        await asyncio.to_thread(lambda: self._client.calls(call_sid).update(twiml=twiml))
