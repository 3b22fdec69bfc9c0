"""Checks a `POST /api/whatsapp/messages` body and says exactly what is wrong with it."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

from voice_gateway.settings import WhatsAppProvider
from voice_gateway.whatsapp.model import E164, Media, OutgoingMessage, Template
from voice_gateway.whatsapp.unicode import lone_surrogate_fields

MAX_TEXT = 4096
_MEDIA_KINDS = ("image", "document", "audio")
_CONTENT_SID = re.compile(r"HX[0-9a-fA-F]{32}")
_SEND_FIELDS = {"to", "text", "media", "template", "provider", "fallback"}
_MEDIA_FIELDS = {"type", "url", "base64", "mimetype", "filename"}


class Invalid(Exception):
    """The body parsed but breaks the schema: each problem keyed by the field it concerns."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in problems.items()))
        self.problems = problems


class BadUnicode(Invalid):
    """Text that cannot be stored or sent (a lone UTF-16 surrogate): a 400, not a schema problem."""


@dataclass(frozen=True, slots=True)
class SendRequest:
    message: OutgoingMessage
    provider: WhatsAppProvider | None
    fallback: bool


def parse_send(body: Any) -> SendRequest:
    if not isinstance(body, dict):
        raise Invalid({"body": "expected a JSON object"})
    broken = lone_surrogate_fields(body)
    if broken:
        raise BadUnicode(broken)
    problems: dict[str, str] = {}
    for unknown in sorted(set(body) - _SEND_FIELDS):
        problems[unknown] = "unknown field"
    to = body.get("to")
    if not isinstance(to, str) or not E164.fullmatch(to):
        problems["to"] = "required: an E.164 number such as +4915112345678"
    text = body.get("text")
    if text is not None and (not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT):
        problems["text"] = f"must be a non-empty string of at most {MAX_TEXT} characters"
    media = _media(body.get("media"), problems) if body.get("media") is not None else None
    template = _template(body.get("template"), problems) if body.get("template") is not None else None
    if template is not None and (text is not None or media is not None):
        problems["template"] = "send a template alone, without text or media"
    if all(body.get(name) is None for name in ("text", "media", "template")):
        problems["text"] = "one of text, media or template is required"
    provider = None
    if body.get("provider") is not None:
        try:
            provider = WhatsAppProvider(body["provider"])
        except (ValueError, TypeError):
            problems["provider"] = "expected one of " + ", ".join(p.value for p in WhatsAppProvider)
    fallback = body.get("fallback", False)
    if not isinstance(fallback, bool):
        problems["fallback"] = "expected true or false"
    if problems:
        raise Invalid(problems)
    message = OutgoingMessage(id=uuid.uuid4().hex, to=str(to), text=text, media=media, template=template)
    return SendRequest(message, provider, bool(fallback))


def _media(raw: Any, problems: dict[str, str]) -> Media | None:
    if not isinstance(raw, dict):
        problems["media"] = "expected an object with url or base64"
        return None
    for unknown in sorted(set(raw) - _MEDIA_FIELDS):
        problems[f"media.{unknown}"] = "unknown field"
    url, data = raw.get("url"), raw.get("base64")
    if (url is None) == (data is None):
        problems["media"] = "exactly one of media.url or media.base64 is required"
    if url is not None and (not isinstance(url, str) or not url.startswith(("http://", "https://"))):
        problems["media.url"] = "expected an http(s) URL"
    if data is not None and (not isinstance(data, str) or not data):
        problems["media.base64"] = "expected base64 text"
    kind = raw.get("type", "image")
    if kind not in _MEDIA_KINDS:
        problems["media.type"] = "expected one of " + ", ".join(_MEDIA_KINDS)
    for name in ("mimetype", "filename"):
        if raw.get(name) is not None and not isinstance(raw[name], str):
            problems[f"media.{name}"] = "expected a string"
    if data is not None and not raw.get("mimetype"):
        problems["media.mimetype"] = "required with media.base64"
    if any(k.startswith("media") for k in problems):
        return None
    return Media(url=url, base64=data, mimetype=raw.get("mimetype"), filename=raw.get("filename"), kind=kind)


def _template(raw: Any, problems: dict[str, str]) -> Template | None:
    if not isinstance(raw, dict):
        problems["template"] = "expected an object with content_sid and variables"
        return None
    sid = raw.get("content_sid")
    if not isinstance(sid, str) or not _CONTENT_SID.fullmatch(sid):
        problems["template.content_sid"] = "expected a Twilio Content SID (HX followed by 32 hex digits)"
    variables = raw.get("variables", {})
    if not isinstance(variables, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in variables.items()
    ):
        problems["template.variables"] = 'expected an object of strings, such as {"1": "Anna"}'
    elif len(variables) > 100:
        problems["template.variables"] = "at most 100 variables"
    if any(k.startswith("template") for k in problems):
        return None
    return Template(content_sid=str(sid), variables=dict(variables))


def parse_contact(raw: str | None) -> str:
    if raw is None or not E164.fullmatch(raw):
        raise Invalid({"contact": "required: an E.164 number such as +4915112345678"})
    return raw
