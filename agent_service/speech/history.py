"""A call's conversation as the brain sees it: what the caller said and what the agent said *and was
heard*. The agent's reply is recorded as sent, so the next turn sees it at once, and cut back to what was
heard if the caller barges in."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from agent_service.brain.events import Turn


class CallHistory:
    def __init__(self, turns: Iterable[Turn] = ()) -> None:
        self._turns: list[Turn] = list(turns)  # a resumed call starts from what its last stream said
        self._playing: int | None = None  # index of the agent turn still being played

    def __iter__(self) -> Iterator[Turn]:
        return iter(self._turns)

    def __len__(self) -> int:
        return len(self._turns)

    def __getitem__(self, index: int) -> Turn:
        return self._turns[index]

    def as_tuple(self) -> tuple[Turn, ...]:
        return tuple(self._turns)

    def add_user(self, text: str) -> None:
        if self._turns and self._turns[-1].role == "user":
            # The answer to the previous turn was cancelled before a word was heard: one turn, not two.
            text = f"{self._turns.pop().text} {text}"
        self._turns.append(Turn("user", text))

    def add_agent(self, text: str) -> None:
        if text:
            self._playing = len(self._turns)
            self._turns.append(Turn("agent", text))

    def new_reply(self) -> None:
        """A new reply starts: the previous one is no longer the one a barge-in can cut."""
        self._playing = None

    def take_back_user(self) -> None:
        """The caller's last turn was not finished: it is heard again with what follows."""
        if self._turns and self._turns[-1].role == "user":
            self._turns.pop()

    def cut_to_heard(self, heard: str) -> None:
        index, self._playing = self._playing, None
        if index is not None and index < len(self._turns):
            if heard:
                self._turns[index] = Turn("agent", heard)
            else:
                del self._turns[index]
        elif heard:
            self._turns.append(Turn("agent", heard))
