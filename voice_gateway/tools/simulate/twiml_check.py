"""Read the TwiML a gateway returns the way Twilio would, and name the Twilio error each flaw causes."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass(frozen=True, slots=True)
class StreamInstructions:
    stream_url: str
    parameters: dict[str, str]
    action_url: str | None
    status_callback: str | None
    problems: list[str] = field(default_factory=list)


class TwimlError(ValueError):
    """The document cannot drive a Media Stream; the message starts with the Twilio error code."""


def parse_connect_stream(document: str) -> StreamInstructions:
    try:
        root = ET.fromstring(document)
    except ET.ParseError as exc:
        raise TwimlError(f"12100 Document parse failure: {exc}") from None
    if root.tag != "Response":
        raise TwimlError(f"12100 Document parse failure: root element is <{root.tag}>, not <Response>")
    connect = root.find("Connect")
    stream = connect.find("Stream") if connect is not None else None
    if connect is None or stream is None:
        raise TwimlError("no <Connect><Stream>: the call would never open a bidirectional Media Stream")
    url = stream.get("url", "")
    problems = [*_url_problems(url, "Stream url", ("wss",)), *_stream_url_extra(url)]
    action = connect.get("action")
    if action is not None:
        problems += _url_problems(action, "Connect action", ("http", "https"))
    status = stream.get("statusCallback")
    if status is not None:
        problems += _url_problems(status, "Stream statusCallback", ("http", "https"))
    parameters = {p.get("name", ""): p.get("value", "") for p in stream.findall("Parameter")}
    for name, value in parameters.items():
        if len(name) + len(value) >= 500:
            problems.append(f"<Parameter name={name!r}> is 500 characters or more; Twilio rejects it")
    return StreamInstructions(url, parameters, action, status, problems)


def _url_problems(url: str, what: str, schemes: tuple[str, ...]) -> list[str]:
    parts = urlsplit(url)
    if parts.scheme not in schemes or not parts.netloc:
        if schemes == ("wss",):
            return [f"31920 {what} {url!r} must be an absolute wss:// URL"]
        # Twilio resolves a relative URL against the webhook's; behind a proxy that can be the wrong host.
        return [f"{what} {url!r} should be an absolute http(s) URL"]
    if "//" in parts.path:
        return [f"11200 {what} {url!r} has '//' in its path; many servers answer that with 404"]
    return []


def _stream_url_extra(url: str) -> list[str]:
    if urlsplit(url).query:
        return [f"31920 Stream url {url!r} has a query string; Twilio strips it, so use <Parameter>"]
    return []
