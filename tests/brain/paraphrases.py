"""Paraphrased caller questions about the demo business, each with the topic a right answer comes from.

Written as a caller would say them, not copied from demo.yaml's wording; "unknown" marks questions the
knowledge cannot answer, where the only right answer is an honest deferral. `python -m
tests.brain.paraphrases` prints the accuracy figures published in docs/benchmarks.md ("The brain").
"""

from __future__ import annotations

import asyncio

PARAPHRASES: tuple[tuple[str, str], ...] = (
    # hours
    ("When are you open?", "hours"),
    ("What time do you close today?", "hours"),
    ("What are your opening hours?", "hours"),
    ("How late are you open on a Friday?", "hours"),
    ("Are you open on Saturday morning?", "hours"),
    ("What time do you open tomorrow?", "hours"),
    ("Until what time are you there in the evening?", "hours"),
    ("Are you open at the weekend?", "hours"),
    # closed days
    ("Are you open on Sunday?", "closed:Sunday"),
    ("Do you open on Sundays?", "closed:Sunday"),
    ("Are you shut on Sunday?", "closed:Sunday"),
    ("Are you open on bank holidays?", "closed:bank holidays"),
    ("Will you be open on the bank holiday Monday?", "closed:bank holidays"),
    # address
    ("Where are you based?", "address"),
    ("What's your address?", "address"),
    ("Where exactly are you located?", "address"),
    ("How do I find you?", "address"),
    ("What street are you on?", "address"),
    ("Whereabouts is the clinic?", "address"),
    # prices
    ("How much is a check-up?", "price:check-up"),
    ("What does an examination cost?", "price:check-up"),
    ("How much do you charge for a clean?", "price:scale and polish"),
    ("What's the price of a scale and polish?", "price:scale and polish"),
    ("How much is teeth whitening?", "price:teeth whitening"),
    ("What do you charge to whiten my teeth?", "price:teeth whitening"),
    ("How much is a white filling?", "price:white filling"),
    ("What's the cost of a check-up and a clean together?", "price:check-up plus clean"),
    ("What are your prices?", "prices"),
    # not offered
    ("Do you do dental implants?", "not_offered:dental implants"),
    ("Can I get an implant with you?", "not_offered:dental implants"),
    ("Do you offer payment plans?", "faq:3"),
    ("Do you do home visits?", "not_offered:home visits"),
    # faqs
    ("Are you taking new patients?", "faq:0"),
    ("Can I register as a new patient?", "faq:0"),
    ("I've got terrible toothache, can I be seen today?", "faq:1"),
    ("It's an emergency, my tooth is broken", "faq:1"),
    ("I need to cancel my appointment", "faq:2"),
    ("Can I move my appointment to another day?", "faq:2"),
    ("Is there a fee if I cancel?", "faq:2"),
    ("Can I pay by card?", "faq:3"),
    ("Do you take cash?", "faq:3"),
    ("Who are the dentists there?", "faq:4"),
    ("What's the hygienist called?", "faq:4"),
    ("Do you treat children?", "faq:5"),
    ("Can I bring my kids?", "faq:5"),
    ("Is there parking?", "faq:6"),
    ("Where can I park my car?", "faq:6|address"),  # the address answer includes the parking
    ("Can I book on your website?", "faq:7"),
    ("Is there an online booking?", "faq:7"),
    # actions
    ("Can I speak to a real person please?", "transfer"),
    ("Put me through to the manager", "transfer"),
    ("I'd like to talk to someone", "transfer"),
    ("Can I leave a message?", "take_message"),
    ("Could someone call me back?", "take_message"),
    ("Can you text me the address?", "send_address"),
    ("Send me your location on WhatsApp please", "send_address"),
    ("Thanks, bye!", "goodbye"),
    ("That's all, thank you", "goodbye"),
    # not in the knowledge: must defer, never guess
    ("Do you do braces for adults?", "unknown"),
    ("How much is a root canal?", "unknown"),
    ("Do you have wheelchair access?", "unknown"),
    ("What's the weather like?", "unknown"),
    ("Do you sell electric toothbrushes?", "unknown"),
    ("Is Dr. Jones working today?", "unknown"),
    ("Can I get a crown fitted?", "unknown"),
    ("Do you do Botox?", "unknown"),
)


# Written after the engine was tuned on PARAPHRASES and measured once, never tuned on: the honest figure.
HELD_OUT: tuple[tuple[str, str], ...] = (
    ("hiya, what times are you open this week?", "hours"),
    ("do you close for lunch or are you open all afternoon?", "hours"),
    ("can I come in on a Sunday?", "closed:Sunday"),
    ("what's the postcode?", "address"),
    ("which street is your surgery on?", "address"),
    ("how much would a checkup set me back?", "price:check-up"),
    ("what's the fee for a hygiene appointment?", "price:scale and polish"),
    ("do you do implants at all?", "not_offered:dental implants"),
    ("my daughter needs a check-up, do you see children?", "faq:5"),
    ("my face is swollen and it really hurts, can you fit me in urgently?", "faq:1"),
    ("what cards do you accept?", "faq:3"),
    ("I want to reschedule my appointment", "faq:2"),
    ("I'd like to join the practice", "faq:0"),
    ("is there a car park?", "faq:6|address"),
    ("can you put me through to reception?", "transfer"),
    ("do you offer invisalign?", "unknown"),
    ("how much is a tooth extraction?", "unknown"),
    ("do you have a hearing loop?", "unknown"),
)


def evaluate(
    questions: tuple[tuple[str, str], ...] = PARAPHRASES,
) -> tuple[int, list[tuple[str, str, str, float]]]:
    """Return (correct, misses as (question, expected, got, confidence))."""
    from agent_service.brain import Conversation, Turn
    from agent_service.brain.receptionist import ReceptionistBrain
    from agent_service.knowledge import DEMO_KNOWLEDGE_FILE, load_knowledge

    brain = ReceptionistBrain(load_knowledge(DEMO_KNOWLEDGE_FILE))
    correct, misses = 0, []
    for question, expected in questions:
        got = brain.assess(Conversation("bench", (Turn("user", question),)))
        if got.topic in expected.split("|"):
            correct += 1
        else:
            misses.append((question, expected, got.topic, got.confidence))
    return correct, misses


async def _main() -> None:
    for label, questions in (("tuning set", PARAPHRASES), ("held-out set", HELD_OUT)):
        correct, misses = evaluate(questions)
        unknown = sum(1 for _, t in questions if t == "unknown")
        deferred = unknown - sum(1 for m in misses if m[1] == "unknown")
        wrong_answers = sum(1 for m in misses if m[2] not in ("unknown", "take_message"))
        print(
            f"{label}: correct {correct}/{len(questions)} ({100 * correct / len(questions):.1f} %), "
            f"unanswerable deferred {deferred}/{unknown}, wrong facts given {wrong_answers}"
        )
        for question, expected, got, confidence in misses:
            print(f"  MISS {question!r}: expected {expected}, got {got} (confidence {confidence:.2f})")


if __name__ == "__main__":
    asyncio.run(_main())
