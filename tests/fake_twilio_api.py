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
import uuid
from email.utils import formatdate
from typing import Any

from quart import Quart, request

from tests.loopback_server import serve_on_free_port

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


# Messages created through the fake, by sid, so a later fetch answers what Twilio would.
MESSAGES: dict[str, dict[str, Any]] = {}


def _twilio_error(code: int, message: str, status: int) -> tuple[dict[str, Any], int]:
    more_info = f"https://www.twilio.com/docs/errors/{code}"
    return {"code": code, "message": message, "more_info": more_info, "status": status}, status


@app.post("/2010-04-01/Accounts/<account_sid>/Messages.json")
async def create_message(account_sid: str) -> tuple[dict[str, Any], int]:
    form = await request.form
    record = {key: form.getlist(key) if key == "MediaUrl" else form[key] for key in form}
    print("TWILIO_API_REQUEST " + json.dumps({"path": request.path, "form": record}), flush=True)
    if not _authorised():
        return _twilio_error(20003, "Authenticate", 401)
    to, sender = form.get("To", ""), form.get("From", "")
    if not to:
        return _twilio_error(21604, "A 'To' phone number is required.", 400)
    if not sender and not form.get("MessagingServiceSid"):
        return _twilio_error(21603, "A 'From' or 'MessagingServiceSid' parameter is required", 400)
    if not (form.get("Body") or form.get("MediaUrl") or form.get("ContentSid")):
        return _twilio_error(21619, "A text message body or media urls must be specified.", 400)
    # Like Twilio's test credentials' magic numbers: this suffix is refused as an invalid recipient.
    if to.endswith("0000"):
        return _twilio_error(21211, f"The 'To' number {to} is not a valid phone number.", 400)
    sid = "SM" + uuid.uuid4().hex
    message = {
        "sid": sid,
        "account_sid": account_sid,
        "to": to,
        "from": sender,
        "body": form.get("Body"),
        "status": "queued",
        "num_media": str(len(form.getlist("MediaUrl"))),
        "direction": "outbound-api",
        "api_version": "2010-04-01",
        "error_code": None,
        "error_message": None,
        "date_created": formatdate(usegmt=True),
        "date_updated": formatdate(usegmt=True),
        "date_sent": None,
        "price": None,
        "uri": f"/2010-04-01/Accounts/{account_sid}/Messages/{sid}.json",
    }
    MESSAGES[sid] = message
    return message, 201


@app.get("/2010-04-01/Accounts/<account_sid>/Messages/<sid>.json")
async def fetch_message(account_sid: str, sid: str) -> tuple[dict[str, Any], int]:
    print("TWILIO_API_REQUEST " + json.dumps({"path": request.path, "form": {}}), flush=True)
    if not _authorised():
        return _twilio_error(20003, "Authenticate", 401)
    if sid not in MESSAGES:
        return _twilio_error(20404, f"The requested resource {request.path} was not found", 404)
    return MESSAGES[sid], 200


async def main() -> None:
    await serve_on_free_port(app, "FAKE_TWILIO_LISTENING")


if __name__ == "__main__":
    asyncio.run(main())
