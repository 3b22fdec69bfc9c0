"""A Chat answer as the contract carries it: the reply and its actions, each taken message complete with
its id, time, channel and who it came from (the gateway stores it by that id)."""

from __future__ import annotations

import logging

from agentlocator.agent.v1 import agent_pb2

from agent_service import metrics
from agent_service.brain import EndCall, SendWhatsApp, TakeMessage, TransferCall
from agent_service.brain.base import FullResponse
from agent_service.taken_messages import Journal, taken_message

log = logging.getLogger(__name__)


def chat_response(
    request: agent_pb2.ChatRequest, answer: FullResponse, journal: Journal
) -> agent_pb2.ChatResponse:
    cid = request.conversation_id
    response = agent_pb2.ChatResponse(conversation_id=cid, text=answer.text)
    for action in answer.actions:
        if isinstance(action, TransferCall):
            response.actions.add(transfer=agent_pb2.Transfer(number=action.number))
        elif isinstance(action, EndCall):
            response.actions.add(end_conversation=agent_pb2.EndCall(reason=action.reason))
        elif isinstance(action, SendWhatsApp):
            response.actions.add(send_whatsapp=agent_pb2.SendWhatsApp(to=action.to, text=action.text))
        elif isinstance(action, TakeMessage):
            whatsapp = request.channel == agent_pb2.CHANNEL_WHATSAPP
            channel = agent_pb2.CHANNEL_WHATSAPP if whatsapp else agent_pb2.CHANNEL_API
            message = taken_message(action, channel=channel, conversation_id=cid, caller=request.from_address)
            journal(cid, action)
            metrics.MESSAGES_TAKEN.labels("whatsapp" if whatsapp else "api").inc()
            log.info("MESSAGE_TAKEN id=%s conversation=%s", message.message_id, cid)
            response.actions.add(taken_message=message)
        else:  # Lookup: the brain already answered from the knowledge; logged, nothing to carry out
            log.info("CHAT_LOOKUP conversation=%s topic=%s", cid, action.topic)
    return response
