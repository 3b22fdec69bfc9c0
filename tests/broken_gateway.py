"""A gateway with the classic mistakes, so the smoke test can be shown to catch each one.

Run as `python -m tests.broken_gateway`; it is a real Hypercorn server on a free port.
"""

from __future__ import annotations

import asyncio

from quart import Quart, Response, websocket

from tests.loopback_server import serve_on_free_port

app = Quart("broken")


@app.post("/incoming_call")
async def incoming_call() -> Response:
    document = (
        '<?xml version="1.0" encoding="UTF-8"?><Response><Connect action="/webhook/stream_ended">'
        '<Stream url="wss://127.0.0.1/ws/twilio-media?token=abc" /></Connect></Response>'
    )
    return Response(document, content_type="text/xml")


@app.post("/webhook/stream_ended")
async def stream_ended() -> Response:
    return Response("", status=204)


@app.post("/webhook/stream_status")
async def stream_status() -> Response:
    return Response("oops", status=500)


@app.websocket("/ws/twilio-media")
async def media() -> None:
    # Forcing a subprotocol the client never offered is what makes Twilio drop the connection.
    await websocket.accept(subprotocol="audio.twilio.com")
    await websocket.receive()


async def main() -> None:
    await serve_on_free_port(app, "BROKEN_LISTENING")


if __name__ == "__main__":
    asyncio.run(main())
