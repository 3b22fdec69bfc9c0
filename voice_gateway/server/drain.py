"""The drain on SIGTERM: stop taking calls, let the ones under way finish, end the rest politely.

From the signal on, /readyz answers 503 (a load balancer or Kubernetes stops sending traffic), the
webhook answers new calls with the busy message (another gateway takes the next one) and new Media
Streams upgrades are refused. Calls under way go on for up to DRAIN_TIMEOUT_S; those still up then are
ended the way the console's hang-up ends them (the agent is told, the stream closes with 1000, each call's
records are written before its task ends), and their <Connect action> says DRAIN_GOODBYE_TEXT.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from voice_gateway.calls.ai.mode import AiMode
from voice_gateway.calls.endpoint import Close, MediaStreamEndpoint

log = logging.getLogger("voice_gateway")

REASON = "gateway shutting down"
# After the calls are told to end: how long their streams get to close before Hypercorn's grace period.
END_GRACE_S = 10.0


async def drain(endpoint: MediaStreamEndpoint, ai: AiMode | None, timeout_s: float, goodbye: str) -> None:
    endpoint.call_cap.draining = True
    streams = endpoint.open
    log.info("DRAIN_STARTED streams=%d timeout_s=%g", len(streams), timeout_s)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(streams.idle.wait(), timeout_s)
    if streams:
        log.warning("DRAIN_TIMEOUT ending=%d", len(streams))
        await asyncio.gather(*(end_politely(s.call_sid, s.close, ai, goodbye) for s in list(streams.streams)))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(streams.idle.wait(), END_GRACE_S)
    log.info("DRAIN_DONE left=%d", len(streams))


async def end_politely(call_sid: str | None, close: Close, ai: AiMode | None, goodbye: str) -> None:
    """Twilio says the goodbye when the gateway may use its REST API (TWILIO_ACCOUNT_SID); else the
    stream is ended as the console's hang-up ends it and its <Connect action> here says it."""
    if call_sid is None or ai is None:
        await close(1000, REASON)
        return
    ai.registry.ended(call_sid, REASON)
    if ai.calls is not None and call_sid.startswith("CA"):
        try:
            await ai.calls.say_and_hang_up(call_sid, goodbye)
            log.info("DRAIN_GOODBYE call=%s by=twilio", call_sid)
            return  # Twilio moves the call on and stops its stream
        except Exception as exc:
            log.error("DRAIN_GOODBYE_FAILED call=%s error=%r", call_sid, exc)
    ai.registry.drained(call_sid)
    if await ai.registry.hang_up_here(call_sid):
        ai.registry.ended(call_sid, REASON)
        log.info("DRAIN_GOODBYE call=%s by=connect_action", call_sid)
    else:
        await close(1000, REASON)
