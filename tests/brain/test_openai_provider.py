"""The `openai` provider through the official client against a loopback chat-completions server:
streaming, tool calls as actions, retries, fallback to the receptionist, and the guard rails."""

from __future__ import annotations

import json
import logging

import pytest

from agent_service.brain import (
    Conversation,
    EndCall,
    Lookup,
    TakeMessage,
    TextDelta,
    TransferCall,
    Turn,
    respond_fully,
)
from agent_service.brain.hybrid import HybridBrain
from agent_service.brain.llm import LlmBrain
from agent_service.brain.openai_model import OpenAiChatModel
from agent_service.brain.receptionist import DONT_KNOW, TRANSFERRING, ReceptionistBrain
from agent_service.errors import ProviderError, ProviderRejected, ProviderUnavailable
from agent_service.knowledge import Knowledge
from tests.brain.fake_openai import FakeOpenAi, Reply, ToolCallReply

OFF_KNOWLEDGE = "Can you recommend a good toothpaste brand?"


def _brain(fake: FakeOpenAi, knowledge: Knowledge, *, retries: int = 0) -> LlmBrain:
    model = OpenAiChatModel(
        fake.base_url, "test-key", "fake-model", timeout_s=5, max_retries=retries, max_tokens=80
    )
    return LlmBrain(model, ReceptionistBrain(knowledge))


def _ask(text: str, *earlier: Turn) -> Conversation:
    return Conversation("c1", (*earlier, Turn("user", text)), channel="voice", caller="+447700900123")


async def test_text_streams_as_deltas_and_the_request_carries_the_knowledge_and_tools(
    fake_openai: FakeOpenAi, knowledge: Knowledge
) -> None:
    fake_openai.script(
        Reply(("Most brands ", "with fluoride are fine. ", "Ask the dentist at your check-up."))
    )
    events = [e async for e in _brain(fake_openai, knowledge).respond(_ask(OFF_KNOWLEDGE))]
    assert events == [
        TextDelta("Most brands with fluoride are fine. "),
        TextDelta("Ask the dentist at your check-up."),
    ]
    request = fake_openai.requests[0]
    assert request["stream"] is True and request["model"] == "fake-model"
    assert "42 Harbour Street" in request["messages"][0]["content"]
    assert request["messages"][-1] == {"role": "user", "content": OFF_KNOWLEDGE}
    assert {tool["function"]["name"] for tool in request["tools"]} == {
        "end_call",
        "transfer_call",
        "send_whatsapp",
        "take_message",
        "lookup",
    }


async def test_tool_calls_become_actions_and_the_transfer_number_comes_from_the_knowledge(
    fake_openai: FakeOpenAi, knowledge: Knowledge
) -> None:
    fake_openai.script(
        Reply(
            ("Of course, I'll put you through now.",),
            (
                ToolCallReply("transfer_call", json.dumps({"reason": "billing question"})),
                ToolCallReply("end_call", json.dumps({"reason": "transferred"})),
            ),
        )
    )
    answer = await respond_fully(_brain(fake_openai, knowledge), _ask("I have a billing question"))
    assert answer.text == "Of course, I'll put you through now."
    assert answer.actions == (
        TransferCall(knowledge.transfer_number, "billing question"),
        EndCall("transferred"),
    )


async def test_saying_the_transfer_sentence_without_the_tool_call_still_transfers(
    fake_openai: FakeOpenAi, knowledge: Knowledge
) -> None:
    fake_openai.script(Reply((TRANSFERRING,)))
    answer = await respond_fully(_brain(fake_openai, knowledge), _ask("I'd like to join the practice"))
    assert answer.text == TRANSFERRING
    assert answer.actions == (TransferCall(knowledge.transfer_number, "the agent said it would transfer"),)


async def test_take_message_tool_and_lookup_tool_answer_from_the_knowledge(
    fake_openai: FakeOpenAi, knowledge: Knowledge
) -> None:
    message = {"caller_name": "Jo Bloggs", "reason": "moving my check-up"}  # no number: the caller ID
    fake_openai.script(
        Reply((), (ToolCallReply("take_message", json.dumps(message)),)),
        Reply(("Thanks Jo, I've passed that on.",)),
        Reply((), (ToolCallReply("lookup", json.dumps({"query": "what are your opening hours"})),)),
    )
    brain = _brain(fake_openai, knowledge)
    took = await respond_fully(brain, _ask("Please pass that on"))
    assert took.actions == (
        TakeMessage("Jo Bloggs", "+447700900123", "moving my check-up", number_is_caller_id=True),
    )
    assert took.text == "Thanks Jo, I've passed that on."
    looked = await respond_fully(brain, _ask("hmm, and the times?"))
    assert looked.text == knowledge.hours  # quoted from the knowledge, and the model is not asked again
    assert looked.actions == (Lookup("what are your opening hours", "hours"),)
    assert len(fake_openai.requests) == 3


async def test_a_malformed_tool_call_is_logged_and_answered_not_fatal(
    fake_openai: FakeOpenAi, knowledge: Knowledge, caplog: pytest.LogCaptureFixture
) -> None:
    fake_openai.script(
        Reply(("One moment.",), (ToolCallReply("launch_rockets", "{}"), ToolCallReply("end_call", "{"))),
        Reply(("What else can I help with?",)),
    )
    with caplog.at_level(logging.WARNING):
        answer = await respond_fully(_brain(fake_openai, knowledge), _ask(OFF_KNOWLEDGE))
    assert answer == type(answer)("One moment. What else can I help with?", ())
    assert "unknown tool 'launch_rockets'" in caplog.text
    assert "arguments are not JSON" in caplog.text


async def test_an_invented_price_is_replaced_by_the_safe_deferral(
    fake_openai: FakeOpenAi, knowledge: Knowledge
) -> None:
    fake_openai.script(Reply(("Yes, we do braces for adults. ", "They cost 1500 pounds.")))
    brain = _brain(fake_openai, knowledge)
    answer = await respond_fully(brain, _ask("Do you do braces and how much are they?"))
    assert "1500" not in answer.text
    assert answer.text == "Yes, we do braces for adults. " + DONT_KNOW
    assert brain.guard_trips == 1


async def test_a_known_price_given_for_another_service_is_replaced(
    fake_openai: FakeOpenAi, knowledge: Knowledge
) -> None:
    # 45 is the check-up's price: a real figure, misattributed (Qwen 0.5B said exactly this).
    fake_openai.script(
        Reply(("A tooth extraction costs 45 pounds.",)), Reply(("A check-up costs 45 pounds.",))
    )
    brain = _brain(fake_openai, knowledge)
    assert (await respond_fully(brain, _ask("how much is an extraction?"))).text == DONT_KNOW
    assert (await respond_fully(brain, _ask("and a checkup?"))).text == "A check-up costs 45 pounds."


async def test_an_invented_time_in_the_first_sentence_replaces_the_whole_answer(
    fake_openai: FakeOpenAi, knowledge: Knowledge
) -> None:
    fake_openai.script(Reply(("We open at 7:15 on Sundays.",)))
    answer = await respond_fully(_brain(fake_openai, knowledge), _ask(OFF_KNOWLEDGE))
    assert answer.text == DONT_KNOW


async def test_figures_from_the_knowledge_and_from_the_caller_pass_the_guard(
    fake_openai: FakeOpenAi, knowledge: Knowledge
) -> None:
    fake_openai.script(Reply(("A check-up is 45 pounds and we open at 8.30. ", "I'll note 07700 900123.")))
    answer = await respond_fully(_brain(fake_openai, knowledge), _ask("my number is 07700 900123"))
    assert answer.text == "A check-up is 45 pounds and we open at 8.30. I'll note 07700 900123."


async def test_answers_are_cut_after_two_sentences(fake_openai: FakeOpenAi, knowledge: Knowledge) -> None:
    fake_openai.script(Reply(("One. Two! Three? Four.",)))
    answer = await respond_fully(_brain(fake_openai, knowledge), _ask(OFF_KNOWLEDGE))
    assert answer.text == "One. Two!"


async def test_a_retryable_server_error_is_retried_by_the_client(
    fake_openai: FakeOpenAi, knowledge: Knowledge
) -> None:
    fake_openai.script(Reply(status=503), Reply(("Recovered.",)))
    answer = await respond_fully(_brain(fake_openai, knowledge, retries=1), _ask(OFF_KNOWLEDGE))
    assert answer.text == "Recovered."
    assert len(fake_openai.requests) == 2


@pytest.mark.parametrize(
    ("status", "kind", "retryable"), [(500, ProviderUnavailable, True), (401, ProviderRejected, False)]
)
async def test_llm_failures_become_provider_errors_with_a_retryable_flag(
    fake_openai: FakeOpenAi, knowledge: Knowledge, status: int, kind: type[ProviderError], retryable: bool
) -> None:
    fake_openai.script(Reply(status=status))
    with pytest.raises(kind) as raised:
        await respond_fully(_brain(fake_openai, knowledge), _ask(OFF_KNOWLEDGE))
    assert raised.value.retryable is retryable
    assert f"LLM answered {status}" in raised.value.message


async def test_an_unreachable_provider_is_retryable(knowledge: Knowledge) -> None:
    model = OpenAiChatModel("http://127.0.0.1:9/v1", "", "m", timeout_s=2, max_retries=0, max_tokens=10)
    with pytest.raises(ProviderUnavailable, match="cannot reach the LLM"):
        await respond_fully(LlmBrain(model, ReceptionistBrain(knowledge)), _ask(OFF_KNOWLEDGE))


async def test_hybrid_answers_known_questions_itself_and_sends_the_rest_to_the_llm(
    fake_openai: FakeOpenAi, knowledge: Knowledge
) -> None:
    receptionist = ReceptionistBrain(knowledge)
    hybrid = HybridBrain(receptionist, _brain(fake_openai, knowledge))
    fake_openai.script(Reply(("Any fluoride toothpaste is fine.",)))
    known = await respond_fully(hybrid, _ask("What time do you close today?"))
    unknown = await respond_fully(hybrid, _ask(OFF_KNOWLEDGE))
    assert known.text == knowledge.hours
    assert unknown.text == "Any fluoride toothpaste is fine."
    assert len(fake_openai.requests) == 1


async def test_hybrid_falls_back_to_the_receptionist_when_the_provider_dies_mid_answer(
    fake_openai: FakeOpenAi, knowledge: Knowledge
) -> None:
    hybrid = HybridBrain(ReceptionistBrain(knowledge), _brain(fake_openai, knowledge))
    fake_openai.script(Reply(("Let me think. ", "Well, it depends on ", "many things."), cut_after=3))
    answer = await respond_fully(hybrid, _ask(OFF_KNOWLEDGE))
    assert answer.text == "Let me think. " + DONT_KNOW  # the half sentence is never said
    assert hybrid.fallbacks == 1


async def test_hybrid_falls_back_to_the_receptionist_when_the_provider_is_down(
    fake_openai: FakeOpenAi, knowledge: Knowledge
) -> None:
    hybrid = HybridBrain(
        ReceptionistBrain(knowledge), _brain(fake_openai, knowledge), prefer_receptionist=False
    )
    fake_openai.script(Reply(status=500))
    answer = await respond_fully(hybrid, _ask("Where are you based?"))
    assert answer.text == knowledge.address  # the receptionist knew; a down LLM costs nothing here
    assert hybrid.fallbacks == 1
