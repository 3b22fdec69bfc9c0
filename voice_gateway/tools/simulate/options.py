"""What a simulated call is asked to do (`CallOptions`) and what it saw happen (`CallReport`)."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from voice_gateway.tools.simulate.twiml_check import StreamInstructions


class SimulationError(RuntimeError):
    """The gateway answered in a way Twilio could not use; the message says how."""


@dataclass(slots=True)
class CallOptions:
    base_url: str
    audio: bytes
    public_url: str | None = None  # the URL Twilio would sign for the voice webhook; default base_url
    auth_token: str | None = None
    realtime: bool = True
    subprotocol: str | None = None
    dtmf: str = ""
    from_number: str = "+15005550006"
    to_number: str = "+15005550001"
    wait_for_bytes: int | None = None  # hang up once this much audio came back...
    tail_s: float = 1.0  # ...or after this long with nothing arriving
    max_duration_s: float = 300.0
    parameter_overrides: Mapping[str, str] = field(default_factory=dict)
    # Barge-in (real time only): after `audio`, stay silent until this much of the agent's answer has
    # played, then say `interrupt` over it, as a caller cutting the agent short would.
    interrupt: bytes = b""
    interrupt_after_ms: int = 1000
    # A conversation (real time only): after `audio` (and `interrupt`), each reply is said once the
    # agent's answer has played and the line has then been quiet for `reply_gap_ms`.
    replies: tuple[bytes, ...] = ()
    reply_gap_ms: int = 2000
    # Real time only: after `audio`, go on streaming silence until the far end goes quiet, as Twilio does
    # (an agent's turn-taking runs on the media clock, so without it a last utterance never ends).
    keep_streaming: bool = False
    # The conversation (AI mode): each line as the gateway's live feed reports it; None: only collected.
    on_line: Callable[[str], None] | None = None
    call_sid: str = field(default_factory=lambda: "CA" + secrets.token_hex(16))
    stream_sid: str = field(default_factory=lambda: "MZ" + secrets.token_hex(16))
    account_sid: str = field(default_factory=lambda: "AC" + secrets.token_hex(16))


@dataclass(slots=True)
class CallReport:
    twiml: str = ""
    instructions: StreamInstructions | None = None
    subprotocol: str | None = None
    frames_sent: int = 0
    bytes_sent: int = 0
    frames_received: int = 0
    received_audio: bytearray = field(default_factory=bytearray)
    marks_received: list[str] = field(default_factory=list)
    marks_echoed: list[str] = field(default_factory=list)
    clears_received: int = 0
    first_audio_delay_ms: float | None = None
    twilio_warnings: list[str] = field(default_factory=list)
    close_code: int | None = None
    close_reason: str = ""
    status_callback_codes: list[int] = field(default_factory=list)
    action_status: int | None = None
    action_content_type: str = ""
    action_body: str = ""
    heard: bytes = b""
    played: bytes = b""
    send_times: list[float] = field(default_factory=list)
    receive_times: list[float] = field(default_factory=list)
    # With `interrupt`: frames of it sent (20 ms each, the media clock) when Twilio got the first clear.
    interrupt_frames_before_clear: int | None = None
    # AI mode: what the agent heard and said and each turn's latency, from the gateway's live feed.
    conversation: list[str] = field(default_factory=list)
    live_feed_status: int | None = None

    def echo_round_trips_ms(self) -> list[float]:
        """Per-frame send → receive times, pairing the n-th frame out with the n-th back (ECHO mode)."""
        return [(r - s) * 1000 for s, r in zip(self.send_times, self.receive_times, strict=False)]

    def summary(self) -> str:
        delay = "-" if self.first_audio_delay_ms is None else f"{self.first_audio_delay_ms:.0f} ms"
        return "\n".join(
            [
                f"frames sent       {self.frames_sent} ({self.bytes_sent} bytes)",
                f"frames received   {self.frames_received} ({len(self.received_audio)} bytes)",
                f"first audio after {delay}",
                f"marks             {len(self.marks_received)} received, {len(self.marks_echoed)} echoed",
                f"clears            {self.clears_received}",
                f"close             {self.close_code} {self.close_reason}".rstrip(),
                f"status callbacks  {self.status_callback_codes}",
                f"action            {self.action_status} {self.action_content_type}",
                f"Twilio warnings   {len(self.twilio_warnings)}",
                *(f"  {w}" for w in self.twilio_warnings),
            ]
        )
