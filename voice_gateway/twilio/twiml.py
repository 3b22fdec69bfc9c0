"""TwiML documents, built with Twilio's SDK so escaping and attribute names are Twilio's own."""

from __future__ import annotations

from collections.abc import Mapping

from twilio.twiml.voice_response import Connect, VoiceResponse

from voice_gateway.twilio.public_url import websocket_url

STREAM_PATH = "/ws/twilio-media"
STREAM_STATUS_PATH = "/webhook/stream_status"
STREAM_ENDED_PATH = "/webhook/stream_ended"


def stream_url(base_url: str) -> str:
    """`wss://` is the only scheme `<Stream>` accepts, and it must carry no query string."""
    return websocket_url(base_url, STREAM_PATH)


def connect_stream(base_url: str, parameters: Mapping[str, str], greeting: str = "") -> str:
    response = VoiceResponse()
    if greeting:
        response.say(greeting)
    connect = Connect(action=base_url + STREAM_ENDED_PATH, method="POST")
    stream = connect.stream(
        url=stream_url(base_url),
        status_callback=base_url + STREAM_STATUS_PATH,
        status_callback_method="POST",
    )
    for name, value in parameters.items():
        stream.parameter(name=name, value=value)
    response.append(connect)
    return str(response)


def stream_ended(hangup: bool) -> str:
    response = VoiceResponse()
    if hangup:
        response.hangup()
    return str(response)


def say_and_hang_up(text: str) -> str:
    response = VoiceResponse()
    response.say(text)
    response.hangup()
    return str(response)
