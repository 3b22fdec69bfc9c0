"""A loopback stand-in for Twilio's REST API (api.twilio.com), driven by the real twilio SDK in tests.

Run as `python -m tests.fake_twilio_api`: it prints `FAKE_TWILIO_LISTENING port=N`, then one
`TWILIO_API_REQUEST {json}` line per request. It checks HTTP Basic auth against FAKE_TWILIO_AUTH
(`ACCOUNT_SID:AUTH_TOKEN`) and answers with the JSON shape Twilio's API returns.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
from typing import Any

from hypercorn.asyncio import serve
from hypercorn.config import Config
from quart import Quart, request

app = Quart("fake_twilio_api")
EXPECTED_AUTH = os.environ.get("FAKE_TWILIO_AUTH", "")


def _authorised() -> bool:
    header = request.headers.get("Authorization", "")
    return header == "Basic " + base64.b64encode(EXPECTED_AUTH.encode()).decode()


@app.post("/2010-04-01/Accounts/<account_sid>/Calls/<call_sid>.json")
async def update_call(account_sid: str, call_sid: str) -> tuple[dict[str, Any], int]:
    form = dict(await request.form)
    print("TWILIO_API_REQUEST " + json.dumps({"path": request.path, "form": form}), flush=True)
    if not _authorised():
        return {"code": 20003, "message": "Authenticate", "status": 401}, 401
    return {
        "sid": call_sid,
        "account_sid": account_sid,
        "status": "in-progress",
        "direction": "inbound",
        "uri": f"/2010-04-01/Accounts/{account_sid}/Calls/{call_sid}.json",
    }, 200


async def main() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    sock.set_inheritable(True)
    config = Config()
    config.bind = [f"fd://{sock.fileno()}"]
    config.accesslog = None
    print(f"FAKE_TWILIO_LISTENING port={sock.getsockname()[1]}", flush=True)
    await serve(app, config)  # type: ignore[arg-type]


if __name__ == "__main__":
    asyncio.run(main())
