"""`/console/login`: the password form, throttled per client address and in total, and the cookies.

Cookies are `Secure` whenever the console is reached over https: `PUBLIC_BASE_URL` says https, the
request came in over TLS, or (with `TRUST_PROXY_HEADERS`) the TLS proxy in front says so.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from quart import Blueprint, Response, redirect, render_template, request

from voice_gateway.console.auth import COOKIE_PATH, LOGIN_COOKIE, SESSION_COOKIE, ConsoleAuth
from voice_gateway.console.responses import AnyResponse, private, text
from voice_gateway.console.throttle import CONSOLE_LOGINS, LoginThrottle
from voice_gateway.settings import Settings

log = logging.getLogger("voice_gateway.console")

OFF = "the console is off: set CONSOLE_PASSWORD (or API_TOKEN)"


def register_login(
    blueprint: Blueprint, settings: Settings, auth: ConsoleAuth, clock: Callable[[], float] = time.monotonic
) -> None:
    throttle = LoginThrottle(
        settings.console_login_limit_per_minute, settings.console_login_global_limit_per_minute
    )

    @blueprint.get("/login")
    async def login_page() -> AnyResponse:
        return await login_form(settings, auth, "", 200)

    @blueprint.post("/login")
    async def login() -> AnyResponse:
        if not auth.enabled:
            return text(OFF, 503)
        address = client_address(settings)
        now = clock()
        refused = throttle.check(address, now)
        if refused is not None:
            CONSOLE_LOGINS.labels(f"throttled_{refused.scope}").inc()
            if throttle.first_in_a_while(address, now):
                log.warning(
                    "CONSOLE_LOGIN_THROTTLED from=%s limit=%s retry_after_s=%s",
                    address,
                    refused.scope,
                    refused.decision.retry_after_header,
                )
            wait = refused.decision.retry_after_header
            problem = f"Too many sign-in attempts. Try again in {wait} s."
            response = await login_form(settings, auth, problem, 429)
            response.headers["Retry-After"] = wait
            return response
        form = await request.form
        if not auth.login_csrf_ok(request.cookies.get(LOGIN_COOKIE), form.get("csrf_token", "")):
            CONSOLE_LOGINS.labels("expired_form").inc()
            return await login_form(settings, auth, "The form expired. Please try again.", 403)
        if not auth.password_ok(form.get("password", "")):
            CONSOLE_LOGINS.labels("wrong_password").inc()
            log.warning("CONSOLE_LOGIN_FAILED from=%s", address)
            return await login_form(settings, auth, "Wrong password.", 401)
        session_id, _ = await auth.sign_in()
        CONSOLE_LOGINS.labels("ok").inc()
        log.info("CONSOLE_LOGIN from=%s", address)
        response = private(redirect("/console", 303))
        set_cookie(settings, response, SESSION_COOKIE, session_id)
        response.delete_cookie(LOGIN_COOKIE, path=COOKIE_PATH)
        return response


async def login_form(settings: Settings, auth: ConsoleAuth, problem: str, status: int) -> AnyResponse:
    nonce = auth.login_nonce()
    html = await render_template(
        "login.html", csrf=auth.login_csrf(nonce), problem=problem, enabled=auth.enabled, page="login"
    )
    response = private(Response(html, status=status))
    set_cookie(settings, response, LOGIN_COOKIE, nonce)
    return response


def set_cookie(settings: Settings, response: AnyResponse, name: str, value: str) -> None:
    response.set_cookie(
        name, value, path=COOKIE_PATH, httponly=True, samesite="Strict", secure=over_https(settings)
    )


def over_https(settings: Settings) -> bool:
    if (settings.public_base_url or "").startswith("https://") or request.scheme == "https":
        return True
    # Anyone can send X-Forwarded-Proto; it means something only when a proxy we trust set it.
    if settings.trust_proxy_headers:
        proto = request.headers.get("X-Forwarded-Proto", "").split(",", 1)[0].strip().lower()
        return proto == "https"
    return False


def client_address(settings: Settings) -> str:
    # With one trusted proxy in front, the last X-Forwarded-For entry is the one it appended (earlier
    # ones are whatever the client sent); without, only the socket's peer is known.
    forwarded = request.headers.get("X-Forwarded-For", "")
    if settings.trust_proxy_headers and forwarded.strip():
        last = forwarded.rsplit(",", 1)[-1].strip()[:64]
        return "".join(ch for ch in last if ch.isprintable()) or "unknown"
    return request.remote_addr or "unknown"
