"""The IO half of playout: sends what `PlaybackQueue` says is due, on Twilio's clock, in order.

Whoever releases audio (the agent reader as it arrives, the player on the clock) holds one lock while
it sends, so frames keep their order and a `clear` never overtakes frames already taken.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

from voice_gateway.calls.ai.playout import AudioFrame, PlaybackQueue
from voice_gateway.calls.modes import Send
from voice_gateway.twilio.media_streams import MediaStreamServer


class Speaker:
    def __init__(self, stream: MediaStreamServer, send: Send, lead_ms: int) -> None:
        self._stream = stream
        self._send = send
        self.playback = PlaybackQueue(lead_ms)
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()

    async def audio(self, utterance_id: str, audio: bytes, final: bool) -> None:
        self.playback.add_audio(utterance_id, audio, final)
        await self.release()

    async def mark(self, mark_id: str, utterance_id: str) -> None:
        self.playback.add_mark(mark_id, utterance_id)
        await self.release()

    async def clear(self, up_to_utterance_id: str) -> list[str]:
        """Drop what is queued (and Twilio's buffer, if it holds any); the marks that were never sent."""
        async with self._lock:
            twilio_busy, never_sent = self.playback.clear(time.monotonic(), up_to_utterance_id)
            if twilio_busy:
                await self._send(self._stream.clear())
        return never_sent

    async def release(self) -> None:
        """Send what Twilio may have now; whatever must wait is left for the player's clock."""
        async with self._lock:
            for item in self.playback.due(time.monotonic()):
                if isinstance(item, AudioFrame):
                    await self._send(self._stream.media(item.audio))
                else:
                    await self._send(self._stream.mark(item.mark_id))
        if self.playback.wait_s(time.monotonic()) is not None:
            self._wake.set()

    async def play(self) -> None:
        """The player: runs for the whole call, releasing queued audio as Twilio's clock allows."""
        while True:
            await self.release()
            wait = self.playback.wait_s(time.monotonic())
            self._wake.clear()
            if wait is None:
                await self._wake.wait()
            elif wait > 0:
                # Pacing against Twilio's playout clock: this timeout is the real-time schedule itself.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), wait)
