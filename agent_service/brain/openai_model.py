"""The `openai` backend: any OpenAI-compatible server (OpenAI, Ollama, vLLM, llama.cpp's server) through
the official client, streaming chat completions with tool calls.

The client retries what is worth retrying (connection errors, 408/409/429/5xx) `max_retries` times with
back-off, inside `timeout`; what still fails becomes a ProviderError whose `retryable` flag the hybrid brain
uses to fall back to the receptionist engine.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Any, cast

import openai
from openai.types.chat import ChatCompletionChunk, ChatCompletionMessageParam, ChatCompletionToolParam

from agent_service.brain.llm import ModelDelta
from agent_service.brain.tool_registry import ToolCall
from agent_service.errors import ProviderError, ProviderRejected, ProviderUnavailable


@dataclass(slots=True)
class _PendingCall:
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


class OpenAiChatModel:
    name = "openai"

    def __init__(
        self, base_url: str, api_key: str, model: str, *, timeout_s: float, max_retries: int, max_tokens: int
    ) -> None:
        # Local servers (Ollama, llama.cpp) ignore the key, but the client insists on one.
        self._client = openai.AsyncOpenAI(
            base_url=base_url, api_key=api_key or "unused", timeout=timeout_s, max_retries=max_retries
        )
        self._model = model
        self._max_tokens = max_tokens

    async def aclose(self) -> None:
        """Close the client's connection pool (a client that is dropped leaves its sockets to the GC)."""
        await self._client.close()

    async def stream(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]
    ) -> AsyncGenerator[ModelDelta, None]:
        pending: dict[int, _PendingCall] = {}
        finished = False
        try:
            stream: openai.AsyncStream[ChatCompletionChunk] = await self._client.chat.completions.create(
                model=self._model,
                messages=cast("list[ChatCompletionMessageParam]", messages),
                tools=cast("list[ChatCompletionToolParam]", tools),
                stream=True,
                max_tokens=self._max_tokens,
                temperature=0.2,
            )
            try:
                async for chunk in stream:
                    if not chunk.choices:
                        continue
                    finished = finished or chunk.choices[0].finish_reason is not None
                    delta = chunk.choices[0].delta
                    if delta.content:
                        yield delta.content
                    for call in delta.tool_calls or ():
                        slot = pending.setdefault(call.index, _PendingCall())
                        slot.id = slot.id or call.id or ""  # only the call's first fragment carries it
                        if call.function is not None:
                            slot.name += call.function.name or ""
                            slot.arguments.append(call.function.arguments or "")
            finally:
                await stream.close()  # also when the consumer stops early: free the connection now
        except openai.APITimeoutError as e:
            raise ProviderUnavailable(f"LLM at {self._client.base_url} timed out: {e}") from e
        except openai.APIConnectionError as e:
            raise ProviderUnavailable(f"cannot reach the LLM at {self._client.base_url}: {e}") from e
        except openai.APIStatusError as e:
            retryable = e.status_code in (408, 409, 429) or e.status_code >= 500
            kind = ProviderUnavailable if retryable else ProviderRejected
            raise kind(f"LLM answered {e.status_code}: {e.message}") from e
        except openai.OpenAIError as e:  # e.g. a malformed stream: the server broke the protocol
            raise ProviderError(f"LLM stream failed: {e}", retryable=True) from e
        if not finished:
            # Over HTTP/1.1 a dropped connection can look like a normal end of the body; only the final
            # chunk's finish_reason proves the answer is complete.
            raise ProviderUnavailable(f"LLM at {self._client.base_url} stopped mid-answer (no finish_reason)")
        for index in sorted(pending):
            yield ToolCall(pending[index].name, "".join(pending[index].arguments), pending[index].id)
