"""The receptionist engine: paraphrases, honest deferral, actions by intent, and a message over turns."""

from __future__ import annotations

from agent_service.brain import (
    Conversation,
    EndCall,
    Lookup,
    SendWhatsApp,
    TakeMessage,
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
    answer = await respond_fully(ReceptionistBrain(knowledge), _ask("Thanks, bye!"))
    assert answer.actions == (EndCall("goodbye"),)
    assert "Goodbye" in answer.text


async def test_send_me_the_address_sends_it_by_whatsapp(knowledge: Knowledge) -> None:
    answer = await respond_fully(
        ReceptionistBrain(knowledge), _ask("Can you text me the address?", caller="+447700900123")
    )
    assert answer.actions[-1] == SendWhatsApp("+447700900123", f"{knowledge.name}: {knowledge.address}")


async def test_a_message_is_taken_over_several_turns(knowledge: Knowledge) -> None:
    brain = ReceptionistBrain(knowledge)
    turns: list[Turn] = []
    said: list[str] = []
    actions = []
    for user in (
        "Do you do braces?",
        "yes, a message please",
        "my name is jo bloggs",
        "it's oh seven seven double... sorry",
        "07700 900 123",
        "I'd like to ask about braces for my son",
    ):
        turns.append(Turn("user", user))
        answer = await respond_fully(brain, Conversation("c", tuple(turns)))
        turns.append(Turn("agent", answer.text))
        said.append(answer.text)
        actions.extend(answer.actions)
    assert said[1] == "Of course, I'll take a message. What's your name?"
    assert said[2].startswith("Thank you, Jo Bloggs.")
    assert said[3].startswith("Sorry, I didn't catch a phone number")
    assert said[4] == "Got it, 07700900123. And what's it about?"
    assert actions == [TakeMessage("Jo Bloggs", "07700900123", "I'd like to ask about braces for my son")]
    assert "call you back on 07700900123" in said[5]


async def test_this_number_means_the_callers_own_number(knowledge: Knowledge) -> None:
    brain = ReceptionistBrain(knowledge)
    turns = (
        Turn("user", "can I leave a message"),
        Turn("agent", "Of course, I'll take a message. What's your name?"),
        Turn("user", "Sam"),
        Turn("agent", "Thank you, Sam. What's the best number to call you back on?"),
    )
    unknown_caller = Conversation("c", (*turns, Turn("user", "this number is fine")), caller="")
    answer = await respond_fully(brain, unknown_caller)
    assert (
        answer.text
        == "Sorry, I didn't catch a phone number. Could you give me the number again, digit by digit?"
    )
    answer = await respond_fully(
        brain, Conversation("c", (*turns, Turn("user", "this number is fine")), caller="+447700900123")
    )
    assert answer.text == "Got it, +447700900123. And what's it about?"


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
