"""How every console answer is shaped: private (no caching, no framing, a strict CSP), plain text, JSON."""

from __future__ import annotations

import json
from typing import Any

from quart import Response
from werkzeug.wrappers.response import Response as WerkzeugResponse

AnyResponse = Response | WerkzeugResponse


def private(response: AnyResponse) -> AnyResponse:
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; media-src 'self' blob:; style-src 'self'; "
        "script-src 'self'; frame-ancestors 'none'"
    )
    return response


def text(body: str, status: int) -> Response:
    return Response(body + "\n", status=status, content_type="text/plain; charset=utf-8")


def as_json(body: Any) -> Response:
    return Response(json.dumps(body), content_type="application/json")
