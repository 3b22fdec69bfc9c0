"""One phone call played against a gateway exactly as Twilio would place it, with no phone and no Twilio.

Twilio's side, step by step: POST the voice webhook (signed), read the TwiML, open the `<Stream>`
WebSocket (signed), send `connected`/`start`/`media`, play what comes back on a playout clock (echoing
marks when played, flushing on `clear`), send `stop`, then POST the status callback and the action URL.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from agentlocator_common.telephone_audio import FRAME_BYTES, MULAW_SILENCE, frames, mulaw_decode
from voice_gateway.tools.simulate.live import LiveFeedReader
from voice_gateway.tools.simulate.options import CallOptions, CallReport, SimulationError
from voice_gateway.tools.simulate.playout import Playout, PlayoutResult
from voice_gateway.tools.simulate.twiml_check import StreamInstructions, parse_connect_stream
from voice_gateway.twilio.media_streams.caller import (
    OutboundClear,
    OutboundMark,
    OutboundMedia,
    TwilioStream,
    TwilioWarning,
)
from voice_gateway.twilio.signatures import SIGNATURE_HEADER, TwilioSignatures

FRAME_MS = 20


async def simulate_call(options: CallOptions) -> CallReport:
    report = CallReport()
    signer = TwilioSignatures(options.auth_token) if options.auth_token else None
    base = options.base_url.rstrip("/")
    async with httpx.AsyncClient(timeout=10.0) as http:
        call = _TwilioCall(options, report, signer, http, base)
        await call.run()
    return report


class _TwilioCall:
    def __init__(
        self,
        options: CallOptions,
        report: CallReport,
        signer: TwilioSignatures | None,
        http: httpx.AsyncClient,
        base: str,
    ) -> None:
        self.options = options
        self.report = report
        self.signer = signer
        self.http = http
        self.base = base
        self.stream = TwilioStream(options.stream_sid, options.call_sid, options.account_sid)
        self.playout = Playout()
        self.activity = asyncio.Event()
        self.drained = asyncio.Event()  # set by the playout clock whenever Twilio's buffer is empty
        self.start_time = 0.0
        self.interrupt_frames_sent: int | None = None  # counting once the caller talks over the agent

    def _form(self, **extra: str) -> dict[str, str]:
        o = self.options
        return {
            "AccountSid": o.account_sid,
            "ApiVersion": "2010-04-01",
            "CallSid": o.call_sid,
            "Direction": "inbound",
            "From": o.from_number,
            "To": o.to_number,
            **extra,
        }

    async def _post(self, public_url: str, form: dict[str, str]) -> httpx.Response:
        """POST to the gateway at `base`, signed over the public URL that Twilio would have used."""
        headers = {"User-Agent": "TwilioProxy/1.1"}
        if self.signer is not None:
            headers[SIGNATURE_HEADER] = self.signer.sign(public_url, form)
        path = urlsplit(public_url)
        target = self.base + path.path + (f"?{path.query}" if path.query else "")
        return await self.http.post(target, data=form, headers=headers)

    async def run(self) -> None:
        public = (self.options.public_url or self.base).rstrip("/")
        answer = await self._post(public + "/incoming_call", self._form(CallStatus="ringing"))
        content_type = answer.headers.get("content-type", "")
        if answer.status_code != 200:
            raise SimulationError(
                f"11200 /incoming_call answered HTTP {answer.status_code}: {answer.text[:200]}"
            )
        if "xml" not in content_type:
            raise SimulationError(
                f"12300 /incoming_call answered Content-Type {content_type!r}, not text/xml"
            )
        self.report.twiml = answer.text
        instructions = parse_connect_stream(answer.text)
        self.report.instructions = instructions
        parameters = {**instructions.parameters, **self.options.parameter_overrides}
        feed = LiveFeedReader(self.http, self.base, self.report, self.options.on_line, self.activity.set)
        await feed.start(parameters)  # before the stream, so the greeting is in it too
        try:
            await self._stream(instructions, parameters)
            await self._after_stream(instructions)
        finally:
            await feed.finish()

    async def _stream(self, instructions: StreamInstructions, parameters: dict[str, str]) -> None:
        stream_path = urlsplit(instructions.stream_url).path
        scheme = "wss" if self.base.startswith("https") else "ws"
        ws_url = f"{scheme}://{urlsplit(self.base).netloc}{stream_path}"
        headers = {"User-Agent": "Twilio.TmeWs/1.0"}
        if self.signer is not None:
            headers[SIGNATURE_HEADER] = self.signer.sign(instructions.stream_url, {})
        subprotocols = [self.options.subprotocol] if self.options.subprotocol else None
        async with connect(
            ws_url,
            additional_headers=headers,
            subprotocols=subprotocols,  # type: ignore[arg-type]
            origin=None,
            compression=None,
            max_size=None,
        ) as ws:
            self.report.subprotocol = ws.subprotocol
            await self._post_status(instructions, "stream-started")
            reader = asyncio.create_task(self._read(ws))
            ticker = asyncio.create_task(self._tick(ws)) if self.options.realtime else None
            try:
                await self._talk(ws, parameters)
            except ConnectionClosed:
                pass
            finally:
                if ticker is not None:
                    ticker.cancel()
                await ws.close()
                await asyncio.gather(reader, return_exceptions=True)
            self.report.close_code = ws.close_code
            self.report.close_reason = ws.close_reason or ""
        self.report.heard = bytes(self.playout.heard)
        self.report.played = bytes(self.playout.played)
        await self._post_status(instructions, "stream-stopped")

    async def _talk(self, ws: ClientConnection, parameters: dict[str, str]) -> None:
        await ws.send(self.stream.connected())
        await ws.send(self.stream.start(parameters))
        self.start_time = time.perf_counter()
        for digit in self.options.dtmf:
            await ws.send(self.stream.dtmf(digit))
        await self._say(ws, self.options.audio)
        if self.options.interrupt and self.options.realtime:
            await self._silent_until_answer_played(ws)
            self.interrupt_frames_sent = 0
            await self._say(ws, self.options.interrupt)
        for reply in self.options.replies if self.options.realtime else ():
            await self._silent_until(ws, self._answered_then_quiet())
            await self._say(ws, reply)
        # Twilio streams the line for as long as the call lasts; the agent's turn-taking runs on that clock.
        filler = asyncio.create_task(self._silent_until(ws, lambda: False)) if self._streaming else None
        try:
            await self._wait_for_replies()
            if self.options.realtime:
                self.drained.clear()
                await self.drained.wait()
            else:
                await self._echo(ws, self.playout.drain())
        finally:
            if filler is not None:
                filler.cancel()
                await asyncio.gather(filler, return_exceptions=True)
        await ws.send(self.stream.stop())

    async def _say(self, ws: ClientConnection, audio: bytes) -> None:
        next_send = time.perf_counter()
        for frame in frames(audio, FRAME_BYTES):
            await self._send_frame(ws, frame)
            if self.options.realtime:
                next_send += FRAME_MS / 1000
                await asyncio.sleep(max(0.0, next_send - time.perf_counter()))
            else:
                await self._echo(ws, self.playout.advance(FRAME_MS))

    async def _send_frame(self, ws: ClientConnection, frame: bytes) -> None:
        await ws.send(self.stream.media(frame))
        self.report.send_times.append(time.perf_counter())
        self.report.frames_sent += 1
        self.report.bytes_sent += len(frame)
        if self.interrupt_frames_sent is not None:
            self.interrupt_frames_sent += 1

    @property
    def _streaming(self) -> bool:
        return self.options.keep_streaming and self.options.realtime

    async def _silent_until_answer_played(self, ws: ClientConnection) -> None:
        played_before = len(self.playout.played)
        wanted = self.options.interrupt_after_ms * 8
        await self._silent_until(ws, lambda: len(self.playout.played) - played_before >= wanted)

    def _answered_then_quiet(self) -> Callable[[], bool]:
        """Asked once a frame: has an answer played since now, followed by `reply_gap_ms` of quiet?"""
        before = len(self.playout.played)
        seen, quiet_frames = before, 0

        def done() -> bool:
            nonlocal seen, quiet_frames
            played = len(self.playout.played)
            seen, quiet_frames = (played, 0) if played != seen else (seen, quiet_frames + 1)
            idle = self.playout.buffered_bytes == 0
            return played > before and idle and quiet_frames * FRAME_MS >= self.options.reply_gap_ms

        return done

    async def _silent_until(self, ws: ClientConnection, done: Callable[[], bool]) -> None:
        """Twilio keeps streaming while the caller is quiet: silence frames, in real time."""
        deadline = time.monotonic() + self.options.max_duration_s
        next_send = time.perf_counter()
        while not done() and time.monotonic() < deadline:
            await self._send_frame(ws, bytes([MULAW_SILENCE]) * FRAME_BYTES)
            next_send += FRAME_MS / 1000
            await asyncio.sleep(max(0.0, next_send - time.perf_counter()))

    async def _wait_for_replies(self) -> None:
        deadline = time.monotonic() + self.options.max_duration_s
        want = self.options.wait_for_bytes
        while time.monotonic() < deadline:
            if want is not None and len(self.report.received_audio) >= want:
                return
            self.activity.clear()
            try:
                await asyncio.wait_for(self.activity.wait(), self.options.tail_s)
            except TimeoutError:
                return

    async def _read(self, ws: ClientConnection) -> None:
        async for message in ws:
            try:
                event = self.stream.parse_outbound(message)
            except TwilioWarning as warning:
                self.activity.set()
                self.report.twilio_warnings.append(str(warning))
                continue
            # While silence streams out, its echo (ECHO) and the marks that follow are not the far end
            # talking; only audible audio or a clear is.
            if not self._streaming or isinstance(event, OutboundClear) or _audible(event):
                self.activity.set()
            if isinstance(event, OutboundMedia):
                now = time.perf_counter()
                if self.report.first_audio_delay_ms is None:
                    self.report.first_audio_delay_ms = (now - self.start_time) * 1000
                self.report.receive_times.append(now)
                self.report.frames_received += 1
                self.report.received_audio.extend(event.payload)
                self.playout.push_media(event.payload)
            elif isinstance(event, OutboundMark):
                self.report.marks_received.append(event.name)
                await self._echo(ws, self.playout.push_mark(event.name))
            elif isinstance(event, OutboundClear):
                self.report.clears_received += 1
                if (
                    self.interrupt_frames_sent is not None
                    and self.report.interrupt_frames_before_clear is None
                ):
                    self.report.interrupt_frames_before_clear = self.interrupt_frames_sent
                await self._echo(ws, self.playout.clear())

    async def _tick(self, ws: ClientConnection) -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(FRAME_MS / 1000)
            now = time.perf_counter()
            elapsed_ms = int((now - last) * 1000)
            last += elapsed_ms / 1000
            await self._echo(ws, self.playout.advance(elapsed_ms))
            if not self.playout.buffered_bytes:
                self.drained.set()

    async def _echo(self, ws: ClientConnection, result: PlayoutResult) -> None:
        for name in result.marks:
            self.report.marks_echoed.append(name)
            try:
                await ws.send(self.stream.mark(name))
            except ConnectionClosed:
                return

    async def _post_status(self, instructions: StreamInstructions, event: str) -> None:
        if instructions.status_callback is None:
            return
        form = self._form(
            StreamSid=self.options.stream_sid,
            StreamName=self.options.stream_sid,
            StreamEvent=event,
            Timestamp=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        )
        response = await self._post(instructions.status_callback, form)
        self.report.status_callback_codes.append(response.status_code)

    async def _after_stream(self, instructions: StreamInstructions) -> None:
        if instructions.action_url is None:
            return
        response = await self._post(instructions.action_url, self._form(CallStatus="in-progress"))
        self.report.action_status = response.status_code
        self.report.action_content_type = response.headers.get("content-type", "")
        self.report.action_body = response.text


def _audible(event: object) -> bool:
    return isinstance(event, OutboundMedia) and int(abs(mulaw_decode(event.payload).astype(int)).max()) > 64
