"""The brain's actions during a call, as the messages that ask the gateway to carry them out."""

from __future__ import annotations

import logging

from agentlocator.agent.v1 import agent_pb2

from agent_service.brain.events import EndCall, SendWhatsApp, TakeMessage, TransferCall

log = logging.getLogger(__name__)


def action_response(action: object, call_sid: str) -> agent_pb2.ConverseResponse | None:
    """The response that carries out `action` (logged, one line each); None for one with nothing to send."""
    if isinstance(action, EndCall):
        log.info("SPEECH_END_CALL call=%s reason=%s", call_sid, action.reason)
        end = agent_pb2.EndCall(reason=action.reason, goodbye_sent=True)
        return agent_pb2.ConverseResponse(end_call=end)
    if isinstance(action, TransferCall):
        log.info("SPEECH_TRANSFER call=%s number=%s", call_sid, action.number)
        return agent_pb2.ConverseResponse(transfer=agent_pb2.Transfer(number=action.number))
    if isinstance(action, SendWhatsApp):
        # The gateway owns the WhatsApp providers; it sends to the caller when `to` is empty.
        log.info("SPEECH_SEND_WHATSAPP call=%s to=%s", call_sid, action.to or "caller")
        message = agent_pb2.SendWhatsApp(to=action.to, text=action.text)
        return agent_pb2.ConverseResponse(send_whatsapp=message)
    if isinstance(action, TakeMessage):
        # The gateway stores it; the call (call.py) adds its id and keeps it until the gateway says so.
        log.info("SPEECH_MESSAGE_TAKEN call=%s", call_sid)
        taken = agent_pb2.TakenMessage(name=action.name, number=action.number, reason=action.reason)
        taken.number_is_caller_id = action.number_is_caller_id
        return agent_pb2.ConverseResponse(taken_message=taken)
    return None
