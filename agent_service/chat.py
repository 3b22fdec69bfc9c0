"""In-memory, bounded chat history: the placeholder memory behind `Chat` until the brain issue replaces it.

Bounded twice, so a chatty or hostile client cannot grow the process without limit: each conversation
keeps its last `max_turns` turns, and only the `max_conversations` most recently used conversations are
kept at all. Everything is lost on restart, which is acceptable for a placeholder and documented as such.
"""

from __future__ import annotations

from collections import OrderedDict, deque

from agent_service.pipelines.base import ChatTurn


class ChatMemory:
    def __init__(self, max_turns: int, max_conversations: int) -> None:
        self._max_turns = max_turns
        self._max_conversations = max_conversations
        self._conversations: OrderedDict[str, deque[ChatTurn]] = OrderedDict()

    def history(self, conversation_id: str) -> tuple[ChatTurn, ...]:
        turns = self._conversations.get(conversation_id)
        return tuple(turns) if turns is not None else ()

    def record(self, conversation_id: str, *turns: ChatTurn) -> int:
        """Append turns; return how many the conversation now keeps."""
        history = self._conversations.get(conversation_id)
        if history is None:
            history = self._conversations[conversation_id] = deque(maxlen=self._max_turns)
        self._conversations.move_to_end(conversation_id)
        history.extend(turns)
        while len(self._conversations) > self._max_conversations:
            self._conversations.popitem(last=False)
        return len(history)

    def __len__(self) -> int:
        return len(self._conversations)
