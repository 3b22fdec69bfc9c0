"""Log set-up: one line per event, readable text by default or JSON objects when LOG_FORMAT=json.

Every line logged while a call's stream is being served carries that call's `call_sid` and
`stream_sid`, taken from context variables the Media Streams handler sets once the `start` frame
arrives; tasks created after that (the AI bridge's) inherit them, so no call site passes them along.
The first word of a message stays the event name (`WS_START`, `WS_CLOSED`, ...), so `grep WS_` and
JSON `event` filters tell the same story.
"""

from __future__ import annotations

import contextvars
import logging
import sys
from datetime import UTC, datetime

import orjson

CALL_SID: contextvars.ContextVar[str] = contextvars.ContextVar("call_sid", default="")
STREAM_SID: contextvars.ContextVar[str] = contextvars.ContextVar("stream_sid", default="")


def bind_call(call_sid: str, stream_sid: str) -> None:
    """Tag every later log line of the current task (and the tasks it creates) with this call."""
    CALL_SID.set(call_sid)
    STREAM_SID.set(stream_sid)


class CallContextFilter(logging.Filter):
    """Copies the current call's identifiers onto each record, so both formatters can use them."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.call_sid = CALL_SID.get()
        record.stream_sid = STREAM_SID.get()
        return True


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        call_sid = getattr(record, "call_sid", "")
        stream_sid = getattr(record, "stream_sid", "")
        if not (call_sid or stream_sid):
            return line
        # Appended after the message (and before any traceback) so the event name stays the first word.
        head, newline, tail = line.partition("\n")
        return f"{head} call_sid={call_sid or '-'} stream_sid={stream_sid or '-'}{newline}{tail}"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, event, message, call_sid, stream_sid[, exc]."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "event": message.split(" ", 1)[0] if message else "",
            "message": message,
        }
        for key in ("call_sid", "stream_sid"):
            value = getattr(record, key, "")
            if value:
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


def configure(level: str, log_format: str = "text") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    handler.addFilter(CallContextFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Hypercorn's access log would print one line per webhook on top of ours.
    logging.getLogger("hypercorn.access").setLevel(logging.WARNING)
