"""The baseline: a bare `websockets` server speaking just enough Media Streams to echo a call.

It does the least a correct echo can: parse each frame, and answer each `media` with the same payload
under the stream's `streamSid`. Whatever our gateway costs beyond this is the price of its features.
Run: `python -m bench.bare_echo` (prints `BARE_ECHO_LISTENING port=N`).
"""

from __future__ import annotations

import asyncio

import orjson
from websockets.asyncio.server import ServerConnection, serve


async def echo(ws: ServerConnection) -> None:
    stream_sid = None
    async for frame in ws:
        message = orjson.loads(frame)
        event = message.get("event")
        if event == "start":
            stream_sid = message["start"]["streamSid"]
        elif event == "media" and stream_sid is not None:
            reply = {
                "event": "media",
                "streamSid": stream_sid,
                "media": {"payload": message["media"]["payload"]},
            }
            await ws.send(orjson.dumps(reply).decode())
        elif event == "stop":
            return


async def main() -> None:
    async with serve(echo, "127.0.0.1", 0, compression=None, max_size=1 << 20) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        print(f"BARE_ECHO_LISTENING port={port}", flush=True)
        await asyncio.get_running_loop().create_future()


if __name__ == "__main__":
    try:
        import uvloop
    except ImportError:
        asyncio.run(main())
    else:
        uvloop.run(main())
