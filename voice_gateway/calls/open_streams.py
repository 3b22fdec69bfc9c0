"""The Media Streams a gateway has open, for its drain on SIGTERM (server/drain.py): which they are, and
an event set whenever there are none."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol


class OpenStream(Protocol):
    @property
    def call_sid(self) -> str | None:
        """The call whose line the stream holds, once its `start` was accepted."""
        ...

    async def close(self, code: int, reason: str) -> None: ...


class OpenStreams:
    def __init__(self) -> None:
        self.streams: set[OpenStream] = set()
        self.idle = asyncio.Event()
        self.idle.set()

    def __len__(self) -> int:
        return len(self.streams)

    @contextmanager
    def holding(self, stream: OpenStream) -> Iterator[None]:
        self.streams.add(stream)
        self.idle.clear()
        try:
            yield
        finally:
            self.streams.discard(stream)
            if not self.streams:
                self.idle.set()
