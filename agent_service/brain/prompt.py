"""The LLMs' static prompt: persona, rules, the knowledge as facts, and a few example turns.

It never changes between turns (the conversation is appended after it), so llama.cpp keeps it in its
prompt cache and OpenAI-compatible servers can cache the prefix: the first token stays fast.
"""

from __future__ import annotations

from agent_service.brain.closing import ANYTHING_ELSE
from agent_service.brain.events import Conversation
from agent_service.brain.receptionist import DONT_KNOW, TRANSFERRING
from agent_service.knowledge import Knowledge


def system_prompt(k: Knowledge) -> str:
    facts = "\n".join(f"- {line}" for line in k.facts())
    return (
        f"You are {k.persona}\n"
        f"You answer phone calls and WhatsApp messages for {k.name}. Reply in one or two short sentences "
        "that can be spoken aloud. Use ONLY the FACTS below; never invent prices, times, phone numbers or "
        "services. "
        f'If the answer is not in the FACTS, say exactly: "{DONT_KNOW}" '
        f'If the caller asks for a person, say: "{TRANSFERRING}" and call the transfer_call tool. '
        "When the caller wants to leave a message, collect their name and what it is about, and a call-back "
        "number if it is not the one they are calling from, then call take_message. "
        f'When the caller seems done, ask "{ANYTHING_ELSE}"; only when they answer it with a goodbye, say '
        "goodbye and call end_call. A tool's result tells you what happened; if it reports an error, fix the "
        "call or ask the caller.\n\n"
        f"FACTS about {k.name} (the only things you know):\n{facts}\n"
    )


def few_shot(k: Knowledge) -> list[dict[str, str]]:
    closed = k.closed_on[0] if k.closed_on else ""
    examples = [
        ("Do you do tattoo removal?", DONT_KNOW),
        ("I want to make a complaint.", TRANSFERRING),
    ]
    if closed:
        examples.insert(0, (f"Are you open on {closed}?", f"No, we're closed on {closed}. {k.hours}"))
    messages = []
    for question, answer in examples:
        messages.append({"role": "user", "content": question})
        messages.append({"role": "assistant", "content": answer})
    return messages


def chat_messages(k: Knowledge, conversation: Conversation) -> list[dict[str, str]]:
    messages = [{"role": "system", "content": system_prompt(k)}, *few_shot(k)]
    for turn in conversation.turns:
        messages.append({"role": "user" if turn.role == "user" else "assistant", "content": turn.text})
    return messages
