"""`python -m voice_gateway.tools.smoke https://host`: will a real Twilio call work against this deployment?

Each check prints PASS or FAIL; a failure names the Twilio error it would cause and the fix.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
import numpy as np
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidHandshake, InvalidStatus

from agentlocator_common.telephone_audio import TELEPHONE_RATE, mulaw_encode
from voice_gateway.settings import auth_token_for_tools
from voice_gateway.tools.simulate import CallOptions, simulate_call
from voice_gateway.tools.simulate.twiml_check import TwimlError, parse_connect_stream
from voice_gateway.twilio.signatures import SIGNATURE_HEADER, TwilioSignatures
from voice_gateway.twilio.twiml import STREAM_ENDED_PATH, STREAM_PATH, STREAM_STATUS_PATH

TWILIO_SUBPROTOCOL = "audio.twilio.com"


@dataclass(frozen=True, slots=True)
class CheckResult:
    name: str
    ok: bool
    detail: str = ""

    def line(self) -> str:
        return f"{'PASS' if self.ok else 'FAIL'}  {self.name}" + (
            f"\n      {self.detail}" if self.detail else ""
        )


class Smoke:
    def __init__(self, base: str, auth_token: str | None, http: httpx.AsyncClient) -> None:
        self.base = base.rstrip("/")
        self.signer = TwilioSignatures(auth_token) if auth_token else None
        self.auth_token = auth_token
        self.http = http
        self.form = {
            "CallSid": "CA" + "0" * 32,
            "AccountSid": "AC" + "0" * 32,
            "From": "+15005550006",
            "To": "+15005550001",
        }

    def _headers(self, url: str, params: dict[str, str]) -> dict[str, str]:
        return {SIGNATURE_HEADER: self.signer.sign(url, params)} if self.signer else {}

    async def _post(self, path: str) -> httpx.Response:
        url = self.base + path
        return await self.http.post(url, data=self.form, headers=self._headers(url, self.form))

    async def incoming_call(self) -> CheckResult:
        name = "POST /incoming_call returns TwiML with a valid <Connect><Stream>"
        response = await self._post("/incoming_call")
        if response.status_code == 403:
            return CheckResult(
                name,
                False,
                "11200/403: signature refused. Fix: pass the same TWILIO_AUTH_TOKEN to this check.",
            )
        if response.status_code != 200:
            return CheckResult(
                name, False, f"11200: HTTP {response.status_code}. Fix: the route must answer 200."
            )
        if "xml" not in response.headers.get("content-type", ""):
            return CheckResult(name, False, "12300: Content-Type is not text/xml. Fix: answer text/xml.")
        try:
            instructions = parse_connect_stream(response.text)
        except TwimlError as exc:
            return CheckResult(
                name, False, f"{exc}. Fix: build the TwiML with the twilio SDK's VoiceResponse."
            )
        problems = list(instructions.problems)
        stream_host = urlsplit(instructions.stream_url).hostname
        if stream_host != urlsplit(self.base).hostname:
            problems.append(
                f"31920: the stream URL points at {stream_host}, not {urlsplit(self.base).hostname}. "
                "Fix: set PUBLIC_BASE_URL to the public https:// origin."
            )
        return CheckResult(name, not problems, "\n      ".join(problems))

    async def stream_ended(self) -> CheckResult:
        name = f"POST {STREAM_ENDED_PATH} (the <Connect action>) answers 200 text/xml <Response>"
        response = await self._post(STREAM_ENDED_PATH)
        body_ok = "<Response" in response.text
        ok = response.status_code == 200 and "xml" in response.headers.get("content-type", "") and body_ok
        return CheckResult(
            name,
            ok,
            ""
            if ok
            else f"12100: got HTTP {response.status_code} {response.headers.get('content-type')!r}. "
            "Fix: the action URL must return a TwiML document such as <Response/>.",
        )

    async def stream_status(self) -> CheckResult:
        name = f"POST {STREAM_STATUS_PATH} answers 204"
        response = await self._post(STREAM_STATUS_PATH)
        ok = response.status_code in {200, 204}
        return CheckResult(
            name,
            ok,
            "" if ok else f"15003: HTTP {response.status_code}. Fix: answer status callbacks with 204.",
        )

    async def handshake(self, subprotocol: str | None) -> CheckResult:
        offer = f"offering {subprotocol}" if subprotocol else "with no subprotocol (as Twilio)"
        name = f"WebSocket handshake {offer}"
        parts = urlsplit(self.base)
        scheme = "wss" if parts.scheme == "https" else "ws"
        signed_url = f"wss://{parts.netloc}{parts.path}{STREAM_PATH}"
        try:
            async with connect(
                f"{scheme}://{parts.netloc}{parts.path}{STREAM_PATH}",
                additional_headers=self._headers(signed_url, {}),
                subprotocols=[subprotocol] if subprotocol else None,  # type: ignore[list-item]
                origin=None,
            ) as ws:
                echoed = ws.subprotocol
        except InvalidStatus as exc:
            return CheckResult(
                name,
                False,
                f"31920: HTTP {exc.response.status_code} instead of 101. Fix: accept "
                "the upgrade on this path with no Origin check.",
            )
        except InvalidHandshake as exc:
            cause = exc.__cause__ or exc
            return CheckResult(
                name,
                False,
                f"31920: the handshake is invalid ({cause}). Fix: echo a subprotocol "
                "only when the client offered it.",
            )
        except (OSError, TimeoutError) as exc:
            return CheckResult(name, False, f"31920: could not connect ({exc}).")
        if echoed != subprotocol:
            return CheckResult(
                name, False, f"31920: server chose subprotocol {echoed!r}; echo one only when offered."
            )
        return CheckResult(name, True)

    async def echo_round_trip(self) -> CheckResult:
        name = "ECHO round trip returns the caller's audio"
        seconds = np.arange(TELEPHONE_RATE) / TELEPHONE_RATE
        tone = mulaw_encode((np.sin(2 * np.pi * 440 * seconds) * 8000).astype(np.int16))
        options = CallOptions(
            base_url=self.base,
            audio=tone,
            auth_token=self.auth_token,
            realtime=False,
            wait_for_bytes=len(tone),
            tail_s=3.0,
        )
        try:
            report = await simulate_call(options)
        except Exception as exc:  # any failure here is the finding, reported rather than raised
            return CheckResult(name, False, f"the call failed: {exc}")
        if report.twilio_warnings:
            return CheckResult(name, False, "; ".join(report.twilio_warnings))
        if len(report.received_audio) < len(tone):
            return CheckResult(
                name,
                False,
                f"{len(report.received_audio)} of {len(tone)} bytes came back. "
                "Is WS_MODE=ECHO on this deployment?",
            )
        return CheckResult(name, True, f"first audio after {report.first_audio_delay_ms:.0f} ms")


async def run(base: str, auth_token: str | None) -> list[CheckResult]:
    async with httpx.AsyncClient(timeout=10.0) as http:
        smoke = Smoke(base, auth_token, http)
        checks: list[Callable[[], Awaitable[CheckResult]]] = [
            smoke.incoming_call,
            smoke.stream_ended,
            smoke.stream_status,
            lambda: smoke.handshake(None),
            lambda: smoke.handshake(TWILIO_SUBPROTOCOL),
            smoke.echo_round_trip,
        ]
        results = []
        for check in checks:
            try:
                results.append(await check())
            except httpx.HTTPError as exc:
                results.append(CheckResult(getattr(check, "__name__", "check"), False, f"11200: {exc!r}"))
            except Exception as exc:  # one broken check must not hide the others' findings
                results.append(
                    CheckResult(getattr(check, "__name__", "check"), False, f"unexpected: {exc!r}")
                )
        return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m voice_gateway.tools.smoke", description=__doc__)
    parser.add_argument("base", help="the deployment's public base URL, e.g. https://abc.ngrok.app")
    parser.add_argument("--auth-token", default=auth_token_for_tools())
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    results = asyncio.run(run(args.base, args.auth_token))
    for result in results:
        print(result.line())
    failed = sum(not r.ok for r in results)
    print(f"{len(results) - failed} of {len(results)} checks passed")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
