"""A loopback stand-in for an OpenAI-compatible server: `POST /v1/chat/completions`, streamed as
server-sent events exactly as the API does (`data: {chunk}` lines; a tool call as a first delta with its
index, id, type, name and empty arguments, then argument fragments carrying only the index; a last
chunk with an empty delta and finish_reason "tool_calls"; `data: [DONE]`), driven by the official
`openai` client in the tests.

It runs in its own thread and event loop, so tests that block (grpcurl subprocesses) and async tests
can both use it. Each request takes the next scripted `Reply`; every request body is recorded.
"""

from __future__ import annotations

import asyncio
import functools
import json
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ToolCallReply:
    name: str
    arguments: str
    id: str = ""  # "": call_<request>_<index>


@dataclass(frozen=True)
class Reply:
    text_pieces: tuple[str, ...] = ()
    tool_calls: tuple[ToolCallReply, ...] = ()
    status: int = 200  # not 200: an error body as the API sends it
    cut_after: int | None = None  # drop the connection after this many chunks (a provider dying mid-answer)
    # Held until set, after the text and before the tool calls: shows the text was passed on as it came.
    hold_tool_calls: threading.Event | None = None


@dataclass
class FakeOpenAi:
    replies: deque[Reply] = field(default_factory=deque)
    requests: list[dict[str, Any]] = field(default_factory=list)
    port: int = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def script(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, path, _ = lines[0].split(" ", 2)
            headers = {
                k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)
            }
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            if method != "POST" or path != "/v1/chat/completions":
                await self._send_json(writer, 404, {"error": {"message": f"no route {method} {path}"}})
                return
            self.requests.append(json.loads(body))
            reply = self.replies.popleft() if self.replies else Reply(("Sorry, nothing scripted.",))
            if reply.status != 200:
                await self._send_json(
                    writer, reply.status, {"error": {"message": "scripted failure", "type": "x"}}
                )
                return
            writer.write(
                b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
                b"connection: close\r\n\r\n"
            )
            held = reply.hold_tool_calls
            for n, chunk in enumerate(_chunks(reply, len(self.requests))):
                if held is not None and "tool_calls" in chunk["choices"][0]["delta"]:
                    await asyncio.get_running_loop().run_in_executor(None, functools.partial(held.wait, 30))
                    held = None
                if reply.cut_after is not None and n >= reply.cut_after:
                    writer.transport.abort()  # no [DONE], no clean close: the connection just dies
                    return
                writer.write(f"data: {json.dumps(chunk)}\n\n".encode())
                await writer.drain()
            writer.write(b"data: [DONE]\n\n")
            await writer.drain()
        finally:
            writer.close()

    async def _send_json(self, writer: asyncio.StreamWriter, status: int, payload: dict[str, Any]) -> None:
        body = json.dumps(payload).encode()
        writer.write(
            f"HTTP/1.1 {status} Scripted\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n"
            f"connection: close\r\n\r\n".encode()
            + body
        )
        await writer.drain()


def _chunks(reply: Reply, request_no: int) -> Iterator[dict[str, Any]]:
    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {
            "id": f"chatcmpl-test-{request_no}",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": "fake-model",
            "system_fingerprint": "fp_test",
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }

    # The API opens with the role; its content is "" when text follows and null before tool calls only.
    yield chunk({"role": "assistant", "content": "" if reply.text_pieces else None, "refusal": None})
    for piece in reply.text_pieces:
        yield chunk({"content": piece})
    for index, call in enumerate(reply.tool_calls):
        head = {
            "index": index,
            "id": call.id or f"call_{request_no}_{index}",
            "type": "function",
            "function": {"name": call.name, "arguments": ""},
        }
        yield chunk({"tool_calls": [head]})
        for start in range(0, len(call.arguments), 7):  # the API sends a few characters at a time
            fragment = {"index": index, "function": {"arguments": call.arguments[start : start + 7]}}
            yield chunk({"tool_calls": [fragment]})
    yield chunk({}, "tool_calls" if reply.tool_calls else "stop")


class RunningFakeOpenAi:
    """Start the server on 127.0.0.1 port 0 in a thread; stop it on exit."""

    def __init__(self) -> None:
        self.fake = FakeOpenAi()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self.fake._handle, "127.0.0.1", 0))
        self.fake.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()
        server.close()
        self._loop.run_until_complete(server.wait_closed())
        self._loop.close()

    def __enter__(self) -> FakeOpenAi:
        self._thread.start()
        self._ready.wait()
        return self.fake

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
