"""Never hang up by mistake: a conversation ends only when the caller clearly closes it, answering "Is
there anything else I can help with?"; a question is never a goodbye, whatever word it starts or ends with.

"Do you treat children?" was once answered "Thank you for contacting Bright Smile Dental Clinic. Goodbye."
and the call ended: the goodbye pattern matched "see you" at the start of an utterance and "bye" at the
end of any, so a mishearing ("See you treat children?") or Whisper's habit of adding "Bye." ended calls.
"""

from __future__ import annotations

import json
import logging

import pytest

from agent_service.brain import Conversation, EndCall, Turn, respond_fully
from agent_service.brain.closing import ANYTHING_ELSE, BEFORE_YOU_GO, GO_ON, is_closing, may_end
from agent_service.brain.llm import LlmBrain
from agent_service.brain.openai_model import OpenAiChatModel
from agent_service.brain.receptionist import ReceptionistBrain
from agent_service.knowledge import Knowledge
from tests.brain.fake_openai import FakeOpenAi, Reply, ToolCallReply

AFTER_AN_ANSWER = (Turn("user", "Are you open on Saturday?"), Turn("agent", "Yes, 9 am to 1 pm."))
ASKED_ANYTHING_ELSE = (Turn("user", "Thanks"), Turn("agent", "You're welcome! " + ANYTHING_ELSE))
CONTEXTS = {"first turn": (), "after an answer": AFTER_AN_ANSWER, "after anything else": ASKED_ANYTHING_ELSE}

MUST_NOT_END = (
    "Do you treat children?",
    "See you treat children?",  # "Do you..." misheard
    "See you treat children",
    "Ooh, you treat children.",
    "Do you treat children? Bye.",  # Whisper adds a "Bye." to trailing silence now and then
    "How much is a check-up? Thanks, bye",
    "Bye the way, are you open on Saturday?",
    "bye the way do you do whitening",
    "No, I have another question",
    "no I've got one more thing",
    "Thanks, and do you take cards?",
    "thanks and do you do implants",
    "That's all I wanted to ask, do you take new patients?",
    "That's it, but can I book online?",
    "Goodbye, actually, can I leave a message?",
    "Is that all?",
    "Nothing else? What about parking?",
    "Thank you.",
    "Yes.",
    "Great.",
    "Hello?",
    "Can you say that again?",
    "I'll call back later about the bill",
)
MAY_END_AFTER_ANYTHING_ELSE = (
    "no that's all, bye",
    "No, that's all. Bye!",
    "goodbye",
    "Goodbye.",
    "that's it thanks",
    "That's it, thank you.",
    "no",
    "No.",
    "no thanks",
    "No thank you.",
    "nope, that's everything",
    "Thank you, goodbye.",
    "ok bye bye",
    "that's all for now, thanks",
    "I'm all set, thanks, bye",
    "No, that's great, thanks. Have a nice day.",
)


def _conversation(text: str, earlier: tuple[Turn, ...]) -> Conversation:
    return Conversation("c1", (*earlier, Turn("user", text)), channel="voice", caller="+447700900123")


@pytest.mark.parametrize("context", CONTEXTS)
@pytest.mark.parametrize("text", MUST_NOT_END)
async def test_a_question_or_a_caller_with_more_to_say_never_ends_the_call(
    knowledge: Knowledge, text: str, context: str
) -> None:
    answer = await respond_fully(ReceptionistBrain(knowledge), _conversation(text, CONTEXTS[context]))
    assert not [a for a in answer.actions if isinstance(a, EndCall)], answer
    assert "Goodbye" not in answer.text
    assert not is_closing(text)


@pytest.mark.parametrize("text", MAY_END_AFTER_ANYTHING_ELSE)
async def test_a_clear_closing_after_anything_else_ends_the_call_politely(
    knowledge: Knowledge, text: str
) -> None:
    conversation = _conversation(text, ASKED_ANYTHING_ELSE)
    answer = await respond_fully(ReceptionistBrain(knowledge), conversation)
    assert answer.actions == (EndCall("goodbye"),)
    assert answer.text == f"Thank you for contacting {knowledge.name}. Goodbye!"
    assert may_end(conversation)


@pytest.mark.parametrize("context", ["first turn", "after an answer"])
async def test_a_goodbye_not_after_anything_else_is_asked_about_first(
    knowledge: Knowledge, context: str
) -> None:
    brain = ReceptionistBrain(knowledge)
    first = await respond_fully(brain, _conversation("Thanks, bye!", CONTEXTS[context]))
    assert first.text == BEFORE_YOU_GO and first.actions == ()
    earlier = (*CONTEXTS[context], Turn("user", "Thanks, bye!"), Turn("agent", first.text))
    then = await respond_fully(brain, _conversation("no", earlier))
    assert then.actions == (EndCall("goodbye"),)


async def test_another_question_after_anything_else_is_invited(knowledge: Knowledge) -> None:
    answer = await respond_fully(
        ReceptionistBrain(knowledge), _conversation("No, I have another question", ASKED_ANYTHING_ELSE)
    )
    assert answer.text == GO_ON and answer.actions == ()


async def test_a_question_after_anything_else_is_answered(knowledge: Knowledge) -> None:
    answer = await respond_fully(
        ReceptionistBrain(knowledge), _conversation("No, do you treat children?", ASKED_ANYTHING_ELSE)
    )
    assert answer.text.startswith("Yes, we see children of all ages") and answer.actions[-1:] != (
        EndCall("goodbye"),
    )


def _llm(fake: FakeOpenAi, knowledge: Knowledge) -> LlmBrain:
    model = OpenAiChatModel(fake.base_url, "k", "fake-model", timeout_s=5, max_retries=0, max_tokens=80)
    return LlmBrain(model, ReceptionistBrain(knowledge))


async def test_an_llm_that_hangs_up_on_a_question_is_overruled(
    fake_openai: FakeOpenAi, knowledge: Knowledge, caplog: pytest.LogCaptureFixture
) -> None:
    fake_openai.script(
        Reply(("Yes, we see children of all ages.",), (ToolCallReply("end_call", json.dumps({})),))
    )
    with caplog.at_level(logging.WARNING):
        answer = await respond_fully(_llm(fake_openai, knowledge), _conversation("Do you treat kids?", ()))
    assert answer.actions == ()
    assert "LLM_END_CALL_REFUSED" in caplog.text


async def test_an_llm_may_end_the_call_when_the_caller_closes_it(
    fake_openai: FakeOpenAi, knowledge: Knowledge
) -> None:
    fake_openai.script(Reply(("Goodbye!",), (ToolCallReply("end_call", json.dumps({"reason": "done"})),)))
    conversation = _conversation("no that's all, bye", ASKED_ANYTHING_ELSE)
    answer = await respond_fully(_llm(fake_openai, knowledge), conversation)
    assert answer.actions == (EndCall("done"),)
