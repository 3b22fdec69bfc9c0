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
import re
import sys
from datetime import UTC, datetime

import orjson

CALL_SID: contextvars.ContextVar[str] = contextvars.ContextVar("call_sid", default="")
STREAM_SID: contextvars.ContextVar[str] = contextvars.ContextVar("stream_sid", default="")

# What a reader could take for the end of a line (Python's str.splitlines breaks at all of these) or a
# terminal could obey: every C0 and C1 control character, DEL, and the Unicode line/paragraph separators.
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# JSON allows these raw inside strings (orjson leaves them), but line splitters do not.
_JSON_LINE_BREAKS = str.maketrans({"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def escape(text: str) -> str:
    """`text` on one line: control characters and line separators written as backslash escapes, so a
    value from outside (a request path, a CallSid) cannot start a forged log line."""
    if text.isprintable():
        return text
    return _UNPRINTABLE.sub(_escape_one, text)


def _escape_one(match: re.Match[str]) -> str:
    char = match.group()
    return _ESCAPES.get(char) or (f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}")


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

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 (logging.Formatter's name)
        # The message and the call's identifiers are escaped to one line; a traceback, appended after
        # this by format(), keeps its own lines.
        line = f"{record.asctime} {record.levelname} {record.name} {escape(record.message)}"
        call_sid = getattr(record, "call_sid", "")
        stream_sid = getattr(record, "stream_sid", "")
        if not (call_sid or stream_sid):
            return line
        # Appended after the message so the event name stays the first word.
        return f"{line} call_sid={escape(call_sid) or '-'} stream_sid={escape(stream_sid) or '-'}"


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
        return orjson.dumps(entry, default=str).decode().translate(_JSON_LINE_BREAKS)


def configure(level: str, log_format: str = "text") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    handler.addFilter(CallContextFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Hypercorn's access log would print one line per webhook on top of ours.
    logging.getLogger("hypercorn.access").setLevel(logging.WARNING)
