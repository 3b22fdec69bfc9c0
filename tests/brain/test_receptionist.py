"""The receptionist engine: paraphrases, deferral, actions by intent (messages: test_message_taking)."""

from __future__ import annotations

from agent_service.brain import (
    Conversation,
    EndCall,
    Lookup,
    SendWhatsApp,
    TextDelta,
    TransferCall,
    Turn,
    respond_fully,
)
from agent_service.brain.receptionist import DONT_KNOW, ReceptionistBrain
from agent_service.knowledge import Knowledge
from tests.brain.paraphrases import HELD_OUT, PARAPHRASES, evaluate


def _ask(text: str, *earlier: Turn, caller: str = "") -> Conversation:
    return Conversation("c", (*earlier, Turn("user", text)), caller=caller)


def test_every_paraphrase_of_the_tuning_set_gets_the_right_topic() -> None:
    correct, misses = evaluate(PARAPHRASES)
    assert misses == []
    assert correct == len(PARAPHRASES)


def test_on_unseen_paraphrases_it_defers_rather_than_giving_a_wrong_fact() -> None:
    # The held-out set measures recall honestly (docs/benchmarks.md, "The brain"); what must never
    # happen is a confident answer on the wrong topic.
    _, misses = evaluate(HELD_OUT)
    assert [m for m in misses if m[2] != "unknown"] == []


async def test_paraphrased_hours_questions_get_the_hours_from_the_knowledge(knowledge: Knowledge) -> None:
    brain = ReceptionistBrain(knowledge)
    for question in ("when are you open", "what time do you close today", "What are your opening hours?"):
        answer = await respond_fully(brain, _ask(question))
        assert answer.text == knowledge.hours
        assert answer.actions == (Lookup(question, "hours"),)


async def test_a_closed_day_is_answered_with_no_and_the_open_hours(knowledge: Knowledge) -> None:
    answer = await respond_fully(ReceptionistBrain(knowledge), _ask("Are you open on Sunday?"))
    assert answer.text.startswith("No, we're closed on Sunday. We're open Monday to Friday")


async def test_a_question_outside_the_knowledge_is_deferred_honestly(knowledge: Knowledge) -> None:
    brain = ReceptionistBrain(knowledge)
    assessment = brain.assess(_ask("Do you do braces for adults?"))
    assert not assessment.confident
    assert (await respond_fully(brain, _ask("Do you do braces for adults?"))).text == DONT_KNOW


async def test_asking_for_a_person_transfers_to_the_knowledge_number(knowledge: Knowledge) -> None:
    answer = await respond_fully(ReceptionistBrain(knowledge), _ask("Can I speak to a real person please?"))
    assert answer.actions == (TransferCall(knowledge.transfer_number, "caller asked for a person"),)


async def test_after_a_deferral_put_me_through_transfers(knowledge: Knowledge) -> None:
    earlier = (Turn("user", "Do you do braces?"), Turn("agent", DONT_KNOW))
    answer = await respond_fully(ReceptionistBrain(knowledge), _ask("put me through please", *earlier))
    assert [type(a) for a in answer.actions] == [TransferCall]


async def test_goodbye_ends_the_conversation(knowledge: Knowledge) -> None:
    # Answering "anything else?" (a goodbye anywhere else is asked about first: test_no_wrong_hang_up).
    anything_else = Turn("agent", "You're welcome! Is there anything else I can help with?")
    answer = await respond_fully(ReceptionistBrain(knowledge), _ask("Thanks, bye!", anything_else))
    assert answer.actions == (EndCall("goodbye"),)
    assert "Goodbye" in answer.text


async def test_send_me_the_address_sends_it_by_whatsapp(knowledge: Knowledge) -> None:
    answer = await respond_fully(
        ReceptionistBrain(knowledge), _ask("Can you text me the address?", caller="+447700900123")
    )
    assert answer.actions[-1] == SendWhatsApp("+447700900123", f"{knowledge.name}: {knowledge.address}")


async def test_respond_streams_the_same_events_as_assess(knowledge: Knowledge) -> None:
    brain = ReceptionistBrain(knowledge)
    conversation = _ask("Where are you based?")
    events = [e async for e in brain.respond(conversation)]
    assert events == list(brain.assess(conversation).events)
    assert events[-1] == TextDelta(knowledge.address)


async def test_declining_the_offer_of_a_message_or_transfer_is_respected(knowledge: Knowledge) -> None:
    earlier = (Turn("user", "Do you do braces?"), Turn("agent", DONT_KNOW))
    answer = await respond_fully(ReceptionistBrain(knowledge), _ask("no thanks", *earlier))
    assert answer == type(answer)("No problem. Is there anything else I can help with?", ())
