"""The simulator's view of the conversation: the gateway's live feed of the call, turned into lines.

It opens `GET /calls/<CallSid>/live` with the StreamToken the TwiML handed out, before the stream starts,
so no word is missed, and writes `agent heard: …`, `agent said: …`, `turn: 812 ms (…)` as they arrive.
A gateway not in AI mode has no feed (404): the call goes on without one, silently.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable

import httpx

from voice_gateway.tools.simulate.options import CallReport

SUBSCRIBE_TIMEOUT_S = 5.0  # how long the call waits for the feed before starting without it
END_GRACE_S = 3.0  # after the stream closes, how long to wait for the feed's `end`
READ_TIMEOUT_S = 60.0  # the gateway sends a keep-alive every 15 s


def describe(kind: str, data: dict[str, object], said: list[str]) -> str | None:
    """One line for one feed event; `said` collects the agent's sentences until the caller heard them."""
    if kind == "heard":
        return f"agent heard: {data.get('text', '')}"
    if kind == "said":
        said.append(str(data.get("text", "")))
        return f"agent said: {data.get('text', '')}"
    if kind == "played":
        heard, spoken = str(data.get("text", "")).strip(), " ".join(said).strip()
        said.clear()
        if spoken and heard != spoken:
            return f'caller cut in; of that they heard: "{heard}"' if heard else "caller cut in at once"
        return None
    if kind == "turn":
        ms = {key: data.get(key, 0) for key in ("total", "endpointing", "stt", "llm", "tts")}
        return (
            f"turn: {ms['total']} ms (endpointing {ms['endpointing']}, stt {ms['stt']}, "
            f"brain {ms['llm']}, tts {ms['tts']})"
        )
    if kind == "end":
        return f"call ended: {data.get('outcome', '')}"
    return None


class LiveFeedReader:
    def __init__(
        self,
        http: httpx.AsyncClient,
        base: str,
        report: CallReport,
        on_line: Callable[[str], None] | None,
        on_event: Callable[[], None] = lambda: None,
    ) -> None:
        self._http = http
        self._base = base
        self._report = report
        self._on_line = on_line
        self._on_event = on_event  # the agent is busy with the call: the caller keeps holding on
        self._subscribed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self, parameters: dict[str, str]) -> None:
        call_sid, token = parameters.get("CallSid", ""), parameters.get("StreamToken", "")
        if not call_sid or not token:
            return
        self._task = asyncio.create_task(self._follow(call_sid, token))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._subscribed.wait(), SUBSCRIBE_TIMEOUT_S)

    async def finish(self) -> None:
        if self._task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._task), END_GRACE_S)
        except TimeoutError:
            self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    def _line(self, line: str) -> None:
        self._report.conversation.append(line)
        if self._on_line is not None:
            self._on_line(line)

    async def _follow(self, call_sid: str, token: str) -> None:
        url = f"{self._base}/calls/{call_sid}/live"
        headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
        timeout = httpx.Timeout(10.0, read=READ_TIMEOUT_S)
        try:
            async with self._http.stream("GET", url, headers=headers, timeout=timeout) as response:
                self._report.live_feed_status = response.status_code
                self._subscribed.set()
                if response.status_code != 200:
                    if response.status_code != 404:  # 404: not an AI call, nothing to show
                        body = (await response.aread()).decode(errors="replace").strip()
                        self._line(f"(no live feed: HTTP {response.status_code} {body[:200]})")
                    return
                await self._read(response)
        except httpx.HTTPError as exc:
            self._line(f"(live feed lost: {exc!r})")
        finally:
            self._subscribed.set()

    async def _read(self, response: httpx.Response) -> None:
        kind, data = "message", ""
        said: list[str] = []
        async for raw in response.aiter_lines():
            if raw.startswith(":"):
                continue
            if raw.startswith("event:"):
                kind = raw.partition(":")[2].strip()
            elif raw.startswith("data:"):
                data += raw.partition(":")[2].strip()
            elif not raw:
                if data:
                    self._on_event()
                    parsed = json.loads(data)
                    line = describe(kind, parsed if isinstance(parsed, dict) else {}, said)
                    if line is not None:
                        self._line(line)
                    if kind == "end":
                        return
                kind, data = "message", ""
