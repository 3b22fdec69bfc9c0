"""Twilio's voice webhooks: `/incoming_call` answers with TwiML, and the stream's status and end callbacks.

An incoming call gets a `<Connect><Stream>` unless the lines are full (the busy message) or, in AI mode,
the agent is not ready (an apology): either beats a stream that fails after the caller hears nothing.
"""

from __future__ import annotations

import logging

from quart import Blueprint, Response, request

from voice_gateway import metrics
from voice_gateway.calls.ai.mode import AiMode
from voice_gateway.calls.limits import CALLS_BUSY, CallLines
from voice_gateway.settings import Settings
from voice_gateway.twilio import twiml
from voice_gateway.twilio.public_url import public_base_url
from voice_gateway.twilio.signatures import TwilioSignatures, call_token, signed_request_problem

log = logging.getLogger("voice_gateway")


def voice_webhooks_blueprint(settings: Settings, call_cap: CallLines, ai: AiMode | None) -> Blueprint:
    blueprint = Blueprint("twilio_voice", __name__)
    signatures = TwilioSignatures(settings.twilio_auth_token) if settings.twilio_auth_token else None

    async def refuse_unsigned(route: str) -> Response | None:
        if signatures is None:
            return None
        problem = await signed_request_problem(signatures, settings.public_base_url)
        if problem is None:
            return None
        metrics.SIGNATURE_FAILURES.labels("http").inc()
        metrics.WEBHOOKS.labels(route, "403").inc()
        log.warning("SIGNATURE_REJECTED route=%s reason=%s", route, problem)
        return Response(problem + "\n", status=403, content_type="text/plain")

    @blueprint.route("/incoming_call", methods=["GET", "POST"])
    async def incoming_call() -> Response:
        if (refused := await refuse_unsigned("incoming_call")) is not None:
            return refused
        values = await request.form if request.method == "POST" else request.args
        call_sid = values.get("CallSid", "")
        if not await call_cap.admit(call_sid):
            CALLS_BUSY.inc()
            metrics.WEBHOOKS.labels("incoming_call", "200").inc()
            log.warning("CALL_REJECTED_BUSY call=%s open_streams=%d", call_sid, call_cap.open_streams)
            return xml(twiml.say_and_hang_up(settings.busy_text))
        parameters = {
            "From": values.get("From", ""),
            "To": values.get("To", ""),
            "CallSid": call_sid,
            "StreamToken": call_token(settings.call_token_secret, call_sid),
        }
        if ai is not None:
            ready, detail = await ai.ready()
            if not ready:
                metrics.AGENT_UNAVAILABLE.inc()
                metrics.WEBHOOKS.labels("incoming_call", "200").inc()
                log.error("AGENT_UNAVAILABLE call=%s detail=%s", call_sid, detail)
                return xml(twiml.say_and_hang_up(settings.apology_text))
        base_url = public_base_url(settings.public_base_url, request.headers, request.scheme)
        document = twiml.connect_stream(base_url, parameters, settings.greeting_text)
        log.info("INCOMING_CALL call=%s from=%s to=%s", call_sid, parameters["From"], parameters["To"])
        metrics.WEBHOOKS.labels("incoming_call", "200").inc()
        return xml(document)

    @blueprint.post(twiml.STREAM_STATUS_PATH)
    async def stream_status() -> Response:
        if (refused := await refuse_unsigned("stream_status")) is not None:
            return refused
        form = await request.form
        log.info(
            "STREAM_STATUS call=%s stream=%s event=%s error=%s",
            form.get("CallSid", "-"),
            form.get("StreamSid", "-"),
            form.get("StreamEvent", "-"),
            form.get("StreamError") or "-",
        )
        metrics.WEBHOOKS.labels("stream_status", "204").inc()
        return Response("", status=204)

    @blueprint.post(twiml.STREAM_ENDED_PATH)
    async def stream_ended() -> Response:
        # Twilio fetches TwiML here when <Connect> ends: an empty or non-XML answer is error 12100.
        if (refused := await refuse_unsigned("stream_ended")) is not None:
            return refused
        form = await request.form
        call_sid = form.get("CallSid", "")
        log.info("STREAM_ENDED call=%s status=%s", call_sid or "-", form.get("CallStatus", "-"))
        metrics.WEBHOOKS.labels("stream_ended", "200").inc()
        failure = ai.registry.take_failure(call_sid) if ai is not None and call_sid else None
        if failure is not None:
            log.info("APOLOGY call=%s reason=%s", call_sid, failure)
            return xml(twiml.say_and_hang_up(settings.apology_text))
        if ai is not None and call_sid and ai.registry.take_drained(call_sid):
            return xml(twiml.say_and_hang_up(settings.cluster.drain_goodbye_text))
        return xml(twiml.stream_ended(settings.hangup_on_stream_end))

    return blueprint


def xml(document: str) -> Response:
    response = Response(document, status=200, content_type="text/xml; charset=utf-8")
    response.headers["Cache-Control"] = "no-store"
    return response
