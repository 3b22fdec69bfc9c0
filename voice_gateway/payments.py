"""`/api/payments/...`: honest status codes while no payment provider is wired in.

The contract, checked in this order so each answer names the one thing that is wrong:

1. a retired route answers `410 Gone` to anyone, with its replacement in the body and a `Link` header;
2. a request without `Authorization: Bearer <token>` gets `401`; a token not listed in
   `PAYMENTS_API_TOKENS` gets `403` (empty list: nobody may use payments);
3. an unknown path gets `404` and a wrong method `405`, both listing the routes that exist;
4. a current route answers `501` with a JSON reason while no payment provider is configured.

Every answer is `{"error": {"code", "message"}}` (the Baileys sidecar's error shape), counted in
`agentlocator_payments_requests{route,status}` and logged once as `PAYMENTS_REFUSED`.
"""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass

import orjson
from quart import Blueprint, Response, request

from voice_gateway import metrics
from voice_gateway.settings import Settings

log = logging.getLogger("voice_gateway.payments")

PREFIX = "/api/payments"
_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    template: str  # path below PREFIX; `{id}` matches one path segment

    def match(self, segments: list[str]) -> dict[str, str] | None:
        """The `{id}` this path carries when it is this route, else None."""
        parts = self.template.split("/")
        if len(parts) != len(segments):
            return None
        params = {}
        for part, segment in zip(parts, segments, strict=True):
            if part == "{id}" and segment:
                params["id"] = segment
            elif part != segment:
                return None
        return params

    def path(self, **params: str) -> str:
        return f"{PREFIX}/{self.template.format(**params)}" if params else f"{PREFIX}/{self.template}"


LINKS = Route("POST", "links")
LINK_STATUS = Route("GET", "links/{id}")
CURRENT_ROUTES = (LINKS, LINK_STATUS)
# Retired route -> the route that replaced it; an `{id}` carries over.
RETIRED_ROUTES = {
    Route("POST", "create"): LINKS,
    Route("POST", "checkout"): LINKS,
    Route("GET", "status/{id}"): LINK_STATUS,
}


def payments_blueprint(settings: Settings) -> Blueprint:
    blueprint = Blueprint("payments", __name__)
    allowed = tuple(token.encode() for token in settings.payments_api_tokens)

    @blueprint.route(PREFIX, methods=_METHODS)
    @blueprint.route(f"{PREFIX}/<path:rest>", methods=_METHODS)
    async def payments(rest: str = "") -> Response:
        segments = rest.strip("/").split("/")
        for old, new in RETIRED_ROUTES.items():
            if (params := old.match(segments)) is not None:
                replacement = new.path(**params)
                response = _error(
                    "retired",
                    410,
                    "route_retired",
                    f"{old.path()} is retired; use {new.method} {replacement}",
                    replacement={"method": new.method, "path": replacement},
                )
                response.headers["Link"] = f'<{replacement}>; rel="successor-version"'
                return response
        if (refused := _authorization_problem(allowed)) is not None:
            return refused
        route = next((r for r in CURRENT_ROUTES if r.match(segments) is not None), None)
        if route is None:
            return _error("unknown", 404, "not_found", f"no such payments route; routes: {_listing()}")
        if request.method != route.method:
            response = _error(
                route.template, 405, "method_not_allowed", f"{route.path()} takes {route.method} only"
            )
            response.headers["Allow"] = route.method
            return response
        return _error(
            route.template,
            501,
            "payments_not_configured",
            "no payment provider is configured on this gateway, so payments cannot be taken or looked up",
        )

    return blueprint


def _authorization_problem(allowed: tuple[bytes, ...]) -> Response | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        response = _error(
            "auth", 401, "unauthorized", "send Authorization: Bearer <token> (a PAYMENTS_API_TOKENS entry)"
        )
        response.headers["WWW-Authenticate"] = 'Bearer realm="payments"'
        return response
    presented = token.encode()
    # Compare against every entry, without stopping early, so timing does not reveal a prefix or a position.
    matched = [hmac.compare_digest(presented, candidate) for candidate in allowed]
    if not any(matched):
        return _error("auth", 403, "payments_forbidden", "this token is not allowed to use payments")
    return None


def _listing() -> str:
    return ", ".join(f"{r.method} {r.path()}" for r in CURRENT_ROUTES)


def _error(route: str, status: int, code: str, message: str, **extra: object) -> Response:
    metrics.PAYMENTS_REQUESTS.labels(route, str(status)).inc()
    log.info(
        "PAYMENTS_REFUSED status=%d code=%s method=%s path=%s", status, code, request.method, request.path
    )
    body = {"error": {"code": code, "message": message}, **extra}
    return Response(orjson.dumps(body), status=status, content_type="application/json")
