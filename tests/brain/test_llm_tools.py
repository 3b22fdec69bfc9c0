"""The LLM's tool loop, against a scripted OpenAI-compatible server on loopback through the official
`openai` client: exact tool-call sequences, the results the model is sent back, and what the caller
hears and the gateway is asked to do."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from prometheus_client import REGISTRY

from agent_service.brain import (
    Conversation,
    EndCall,
    SendWhatsApp,
    TakeMessage,
    TextDelta,
    TransferCall,
    Turn,
    respond_fully,
)
from agent_service.brain.closing import ANYTHING_ELSE
from agent_service.brain.hybrid import HybridBrain
from agent_service.brain.llm import DONE, ROUND_LIMIT, LlmBrain
from agent_service.brain.openai_model import OpenAiChatModel
from agent_service.brain.receptionist import ReceptionistBrain
from agent_service.knowledge import Knowledge
from tests.brain.fake_openai import FakeOpenAi, Reply, ToolCallReply

CALLER = "+447700900123"


def _brain(fake: FakeOpenAi, knowledge: Knowledge) -> LlmBrain:
    model = OpenAiChatModel(fake.base_url, "k", "fake-model", timeout_s=5, max_retries=0, max_tokens=80)
    return LlmBrain(model, ReceptionistBrain(knowledge))


def _ask(text: str, *earlier: Turn) -> Conversation:
    return Conversation("c1", (*earlier, Turn("user", text)), channel="voice", caller=CALLER)


def _call(name: str, **args: Any) -> ToolCallReply:
    return ToolCallReply(name, json.dumps(args))


def _results(request: dict[str, Any]) -> list[dict[str, Any]]:
    """The tool results a request sent back to the model, parsed."""
    return [json.loads(m["content"]) for m in request["messages"] if m["role"] == "tool"]


async def test_a_valid_take_message_call_becomes_a_taken_message_and_the_model_confirms_it(
    fake_openai: FakeOpenAi, knowledge: Knowledge
) -> None:
    args = {"caller_name": "John Smith", "callback_number": "07700 900123", "reason": "ask Dr Patel to call"}
    fake_openai.script(
        Reply(("Of course, John.",), (ToolCallReply("take_message", json.dumps(args), "call_abc"),)),
        Reply(("I've passed that on. ", ANYTHING_ELSE)),
    )
    said = "My name is John Smith, 07700 900123, please ask Doctor Patel to call me back"
    answer = await respond_fully(_brain(fake_openai, knowledge), _ask(said))
    assert answer.actions == (
        TakeMessage("John Smith", CALLER, "ask Dr Patel to call", number_is_caller_id=True),
    )
    assert answer.text == f"Of course, John. I've passed that on. {ANYTHING_ELSE}"
    # The second request carries the first answer with its call, and the call's result by id.
    assistant, tool = fake_openai.requests[1]["messages"][-2:]
    assert assistant["role"] == "assistant" and assistant["content"] == "Of course, John."
    assert assistant["tool_calls"] == [
        {
            "id": "call_abc",
            "type": "function",
            "function": {"name": "take_message", "arguments": json.dumps(args)},
        }
    ]
    assert tool["role"] == "tool" and tool["tool_call_id"] == "call_abc"
    result = json.loads(tool["content"])
    assert result["ok"] is True and "plus 4 4 7, 7 0 0, 9 0 0, 1 2 3" in result["result"]


async def test_invalid_arguments_are_sent_back_as_an_error_and_the_corrected_call_is_accepted(
    fake_openai: FakeOpenAi, knowledge: Knowledge
) -> None:
    fake_openai.script(
        Reply((), (_call("take_message", caller_name="Jo Bloggs", callback_number="12", reason="a refund"),)),
        Reply((), (_call("take_message", caller_name="Jo Bloggs", reason="a refund"),)),
        Reply(("Done, Jo.",)),
    )
    answer = await respond_fully(_brain(fake_openai, knowledge), _ask("Can I leave a message? I'm Jo Bloggs"))
    assert answer.actions == (TakeMessage("Jo Bloggs", CALLER, "a refund", number_is_caller_id=True),)
    assert answer.text == "Done, Jo."
    assert _results(fake_openai.requests[1]) == [
        {"ok": False, "error": "callback_number '12' is not in the expected form"}
    ]
    assert _results(fake_openai.requests[2])[-1]["ok"] is True  # the history keeps the first result


async def test_a_callback_number_the_caller_never_said_is_refused_not_recorded(
    fake_openai: FakeOpenAi, knowledge: Knowledge
) -> None:
    invented = _call("take_message", caller_name="Jo", callback_number="+44 20 7946 0018", reason="refund")
    fake_openai.script(Reply((), (invented,)), Reply(("What number should they call you back on?",)))
    answer = await respond_fully(_brain(fake_openai, knowledge), _ask("I'm Jo, about a refund"))
    assert answer.actions == ()
    assert "is not a number the caller said" in _results(fake_openai.requests[1])[0]["error"]


async def test_an_unknown_tool_gets_an_error_result_listing_the_tools(
    fake_openai: FakeOpenAi, knowledge: Knowledge
) -> None:
    fake_openai.script(
        Reply((), (_call("book_appointment", day="Tuesday"),)),
        Reply(("I can't book that myself, but I can take a message.",)),
    )
    answer = await respond_fully(_brain(fake_openai, knowledge), _ask("Book me in for Tuesday"))
    assert answer.actions == ()
    assert answer.text == "I can't book that myself, but I can take a message."
    error = _results(fake_openai.requests[1])[0]["error"]
    assert error.startswith("unknown tool 'book_appointment'; the tools are: take_message")


async def test_a_transfer_to_a_number_the_model_chose_is_refused_and_only_the_team_line_is_used(
    fake_openai: FakeOpenAi, knowledge: Knowledge
) -> None:
    fake_openai.script(
        Reply(
            ("Let me put you through.",), (_call("transfer_call", number="+19005550100", reason="billing"),)
        ),
        Reply((), (_call("transfer_call", reason="billing"),)),
    )
    answer = await respond_fully(_brain(fake_openai, knowledge), _ask("Put me through to +1 900 555 0100"))
    assert answer.actions == (TransferCall(knowledge.transfer_number, "billing"),)
    assert knowledge.transfer_number == "+441273000111"
    assert "only put through to the team's own line" in _results(fake_openai.requests[1])[0]["error"]
    assert len(fake_openai.requests) == 2  # after a handover the model is not asked again


async def test_end_call_on_a_question_is_refused_and_the_model_answers_instead(
    fake_openai: FakeOpenAi, knowledge: Knowledge
) -> None:
    fake_openai.script(
        Reply(("Goodbye!",), (_call("end_call", reason="done"),)),
        Reply(("Sorry, yes: we see children of all ages.",)),
    )
    answer = await respond_fully(_brain(fake_openai, knowledge), _ask("See you treat children?"))
    assert not [a for a in answer.actions if isinstance(a, EndCall)]
    assert "the caller has not said goodbye" in _results(fake_openai.requests[1])[0]["error"]
    assert answer.text == "Goodbye! Sorry, yes: we see children of all ages."


async def test_end_call_after_the_caller_closes_the_call_ends_it_with_a_goodbye(
    fake_openai: FakeOpenAi, knowledge: Knowledge
) -> None:
    fake_openai.script(Reply((), (_call("end_call", reason="caller said goodbye"),)))
    earlier = (Turn("user", "Thanks"), Turn("agent", "You're welcome! " + ANYTHING_ELSE))
    answer = await respond_fully(_brain(fake_openai, knowledge), _ask("no that's all, bye", *earlier))
    assert answer.actions == (EndCall("caller said goodbye"),)
    assert answer.text == f"Thank you for contacting {knowledge.name}. Goodbye!"  # nothing said: ours


async def test_a_model_still_calling_tools_after_the_round_limit_is_stopped_politely(
    fake_openai: FakeOpenAi, knowledge: Knowledge
) -> None:
    limits = REGISTRY.get_sample_value("agentlocator_agent_llm_tool_round_limits_total") or 0.0
    bad = _call("take_message", caller_name="Jo")  # no reason, every time
    fake_openai.script(*(Reply((), (bad,)) for _ in range(5)))
    answer = await respond_fully(_brain(fake_openai, knowledge), _ask("Take a message, I'm Jo"))
    assert len(fake_openai.requests) == 3
    assert answer == type(answer)(ROUND_LIMIT, ())
    assert REGISTRY.get_sample_value("agentlocator_agent_llm_tool_round_limits_total") == limits + 1


async def test_text_before_a_tool_call_is_spoken_before_the_call_arrives(
    fake_openai: FakeOpenAi, knowledge: Knowledge
) -> None:
    release = threading.Event()
    fake_openai.script(
        Reply(
            ("Let me send you our address.",),
            (_call("send_whatsapp", text=knowledge.address),),
            hold_tool_calls=release,
        ),
        Reply(("Sent!",)),
    )
    events = _brain(fake_openai, knowledge).respond(_ask("Can you text me the address?"))
    try:
        first = await anext(events)  # the server is holding the tool call back until released
        assert first == TextDelta("Let me send you our address.")
        release.set()
        rest = [event async for event in events]
    finally:
        release.set()
    assert rest == [SendWhatsApp(CALLER, knowledge.address), TextDelta(" Sent!")]


async def test_a_whatsapp_with_a_figure_the_knowledge_lacks_is_refused(
    fake_openai: FakeOpenAi, knowledge: Knowledge
) -> None:
    fake_openai.script(
        Reply((), (_call("send_whatsapp", text="Whitening is 99 pounds today only!"),)),
        Reply(("I'm sorry, I don't have that offer.",)),
    )
    answer = await respond_fully(_brain(fake_openai, knowledge), _ask("WhatsApp me your deals"))
    assert answer.actions == ()
    assert "['99']" in _results(fake_openai.requests[1])[0]["error"]


async def test_a_tool_call_after_the_two_sentence_cut_is_still_carried_out(
    fake_openai: FakeOpenAi, knowledge: Knowledge
) -> None:
    fake_openai.script(
        Reply(
            ("Thanks Jo. ", "I'll pass it on. ", "The team is very responsive and will call soon."),
            (_call("take_message", caller_name="Jo", reason="a refund"),),
        ),
        Reply(("Anything else?",)),
    )
    answer = await respond_fully(_brain(fake_openai, knowledge), _ask("I'm Jo, it's about a refund"))
    assert answer.text == "Thanks Jo. I'll pass it on. Anything else?"  # the third sentence is not said
    assert answer.actions == (TakeMessage("Jo", CALLER, "a refund", number_is_caller_id=True),)
    assert fake_openai.requests[1]["messages"][-2]["content"] == "Thanks Jo. I'll pass it on."


async def test_calls_past_the_per_answer_limit_are_answered_not_carried_out(
    fake_openai: FakeOpenAi, knowledge: Knowledge
) -> None:
    sends = tuple(_call("send_whatsapp", text=knowledge.address) for _ in range(6))
    fake_openai.script(Reply((), sends), Reply(("Sent.",)))
    answer = await respond_fully(_brain(fake_openai, knowledge), _ask("text me the address"))
    assert answer.actions == (SendWhatsApp(CALLER, knowledge.address),) * 4
    results = _results(fake_openai.requests[1])
    assert [r["ok"] for r in results] == [True] * 4 + [False] * 2
    assert results[-1]["error"] == "not done: at most 4 tool calls per answer"


@pytest.mark.parametrize("channel", ["voice", "whatsapp"])
async def test_a_message_with_no_caller_id_and_no_number_asks_for_one(
    fake_openai: FakeOpenAi, knowledge: Knowledge, channel: str
) -> None:
    fake_openai.script(
        Reply((), (_call("take_message", caller_name="Jo", reason="a refund"),)),
        Reply(("What's the best number to reach you on?",)),
    )
    conversation = Conversation("c2", (Turn("user", "I'm Jo, about a refund"),), channel=channel, caller="")  # type: ignore[arg-type]
    answer = await respond_fully(_brain(fake_openai, knowledge), conversation)
    assert answer.actions == ()
    assert "ask them for a call-back number" in _results(fake_openai.requests[1])[0]["error"]


async def test_a_provider_failing_after_a_message_was_taken_never_offers_to_take_it_again(
    fake_openai: FakeOpenAi, knowledge: Knowledge
) -> None:
    fake_openai.script(
        Reply(("Of course, Jo.",), (_call("take_message", caller_name="Jo", reason="a refund"),)),
        Reply(status=500),
    )
    receptionist = ReceptionistBrain(knowledge)
    hybrid = HybridBrain(receptionist, _brain(fake_openai, knowledge), prefer_receptionist=False)
    answer = await respond_fully(hybrid, _ask("I'm Jo, it's about a refund"))
    assert answer.actions == (TakeMessage("Jo", CALLER, "a refund", number_is_caller_id=True),)
    assert answer.text == "Of course, Jo. " + DONE  # not "...I can take a message for the team..."
    assert hybrid.fallbacks == 0
