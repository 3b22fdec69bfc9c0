"""The `local` backend: a GGUF model on the CPU through xllamacpp, llama.cpp's server API in-process.

The one adapter between xllamacpp and the brain. llama.cpp's `handle_chat_completions` blocks its thread
and calls back with OpenAI-style chunks, so it runs in a worker thread and hands chunks to the event
loop through a queue; stopping early (the two-sentence cut) returns True from the callback, which ends
generation instead of wasting the CPU on words nobody will hear. `cache_prompt` keeps the static prefix
in the KV cache, so after the warm-up the first token costs only the new turn's tokens.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import threading
import time
from collections.abc import AsyncGenerator, AsyncIterator
from pathlib import Path
from typing import Any

from agent_service.brain.llm import ModelDelta
from agent_service.brain.tool_registry import ToolCall
from agent_service.errors import ModelLoadError, ProviderError

log = logging.getLogger(__name__)
_DONE = object()


class LocalChatModel:
    name = "local"

    def __init__(
        self,
        path: Path,
        *,
        threads: int,
        max_tokens: int,
        context_tokens: int = 2048,
        warm_with: list[dict[str, str]] | None = None,
        warm_tools: list[dict[str, Any]] | None = None,
    ) -> None:
        # Imported on load, not at import: llama.cpp's native library is large and only
        # LLM_PROVIDER=local needs it.
        try:
            import xllamacpp  # type: ignore[import-untyped]  # no stubs
        except ImportError as e:  # pragma: no cover - a dependency of the project
            raise ModelLoadError(f"xllamacpp is not installed: {e}") from e
        if not path.is_file():
            raise ModelLoadError(f"no GGUF model at {path} (run `make local-llm`, or set LOCAL_LLM_MODEL)")
        started = time.monotonic()
        params = xllamacpp.CommonParams()
        params.model.path = str(path)
        params.n_ctx = context_tokens
        params.n_parallel = 1
        params.cpuparams.n_threads = threads
        params.cpuparams_batch.n_threads = threads
        # xllamacpp.Server also opens llama.cpp's HTTP server on a loopback port, which the agent never
        # uses (it calls in-process, where no key is asked for). Locked with a key nobody knows, so no
        # other local process can take the model's only slot (stalling the callers' answers) or use it.
        params.api_keys = [secrets.token_urlsafe(32)]
        try:
            self._server = xllamacpp.Server(params)
        except Exception as e:  # llama.cpp reports a bad file as a bare RuntimeError
            raise ModelLoadError(f"cannot load {path}: {e}") from e
        self._max_tokens = max_tokens
        self.path = path
        if warm_with:
            # Prefill the static prompt at start-up (blocking, like the load itself): the first caller's
            # first token then costs only their own words, not the ~3 s cold prefill.
            # The tools go into the rendered prompt too, so they must be part of the warmed prefix.
            warm = {"messages": warm_with, "tools": warm_tools or [], "max_tokens": 1, "cache_prompt": True}
            self._server.handle_chat_completions(warm)
        # One line per load: a second one for the same process means a second copy in memory.
        log.info("LOCAL_MODEL_LOADED path=%s ms=%d", path, round((time.monotonic() - started) * 1000))
        # llama.cpp serves one request per slot; serialising here keeps the order callers asked in.
        self._lock = asyncio.Lock()

    async def stream(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]
    ) -> AsyncGenerator[ModelDelta, None]:
        request = {"messages": messages, "tools": tools, "max_tokens": self._max_tokens, "temperature": 0.0}
        stop = threading.Event()
        pending: dict[int, list[str]] = {}  # index: [id, name, arguments]
        try:
            async for chunk in self._run(request, stop):
                for choice in chunk.get("choices", ()):
                    delta = choice.get("delta") or {}
                    if delta.get("content"):
                        yield str(delta["content"])
                    for call in delta.get("tool_calls") or ():
                        function = call.get("function") or {}
                        slot = pending.setdefault(int(call.get("index", 0)), ["", "", ""])
                        slot[0] = slot[0] or str(call.get("id") or "")
                        slot[1] += function.get("name") or ""
                        slot[2] += function.get("arguments") or ""
        finally:
            stop.set()  # the consumer stopped early (or failed): end generation at the next token
        for index in sorted(pending):
            yield ToolCall(pending[index][1], pending[index][2], pending[index][0])

    async def _run(self, request: dict[str, Any], stop: threading.Event) -> AsyncIterator[dict[str, Any]]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()

        def on_chunk(chunk: dict[str, Any]) -> bool:
            loop.call_soon_threadsafe(queue.put_nowait, chunk)
            return stop.is_set()

        def generate() -> None:
            try:
                result = self._server.handle_chat_completions(
                    {**request, "stream": True, "cache_prompt": True}, on_chunk
                )
                if isinstance(result, dict) and "error" in result:
                    loop.call_soon_threadsafe(
                        queue.put_nowait, ProviderError(f"llama.cpp: {result['error']}")
                    )
            except Exception as e:
                loop.call_soon_threadsafe(
                    queue.put_nowait, ProviderError(f"llama.cpp failed: {e}", retryable=True)
                )
            finally:
                loop.call_soon_threadsafe(queue.put_nowait, _DONE)

        async with self._lock:
            worker = asyncio.create_task(asyncio.to_thread(generate))
            try:
                while (item := await queue.get()) is not _DONE:
                    if isinstance(item, ProviderError):
                        raise item
                    if isinstance(item, dict) and "error" in item:
                        raise ProviderError(f"llama.cpp: {item['error']}")
                    yield item
            finally:
                stop.set()
                await worker  # never leave llama.cpp generating for a request nobody reads
