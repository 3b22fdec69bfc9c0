"""One message model and one status vocabulary, whichever provider carried the message."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from typing import Any

from voice_gateway.settings import WhatsAppProvider

# Always `fullmatch`: `$` in a Python pattern also matches before a trailing newline.
E164 = re.compile(r"\+[1-9][0-9]{6,14}")


class Direction(enum.StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class Status(enum.StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"
    # Inbound messages are simply received; they never move.
    RECEIVED = "received"


# Callbacks from both providers arrive out of order (read before delivered), so a status only moves
# forward. A failure report beats queued/sent, but proof of arrival (delivered, read) beats a failure.
_RANK = {
    Status.RECEIVED: 0,
    Status.QUEUED: 0,
    Status.SENT: 1,
    Status.FAILED: 2,
    Status.DELIVERED: 3,
    Status.READ: 4,
}


def advances(current: Status, new: Status) -> bool:
    return _RANK[new] > _RANK[current]


# Baileys' sidecar reports WebMessageInfo.Status names; PLAYED (a voice note heard) counts as read.
_BAILEYS_STATUS = {
    "pending": Status.QUEUED,
    "sent": Status.SENT,
    "delivered": Status.DELIVERED,
    "read": Status.READ,
    "played": Status.READ,
    "failed": Status.FAILED,
}

_TWILIO_STATUS = {
    "accepted": Status.QUEUED,
    "scheduled": Status.QUEUED,
    "queued": Status.QUEUED,
    "sending": Status.QUEUED,
    "sent": Status.SENT,
    "delivered": Status.DELIVERED,
    "read": Status.READ,
    "failed": Status.FAILED,
    "undelivered": Status.FAILED,
    "canceled": Status.FAILED,
}


def normalise_status(provider: WhatsAppProvider, raw: str) -> Status | None:
    """The unified status for a provider's own word, or None when the word is unknown to us."""
    table = _BAILEYS_STATUS if provider is WhatsAppProvider.BAILEYS else _TWILIO_STATUS
    return table.get(raw.strip().lower())


@dataclass(frozen=True, slots=True)
class Media:
    url: str | None = None
    base64: str | None = None
    mimetype: str | None = None
    filename: str | None = None
    kind: str = "image"  # image | document | audio (what the sidecar calls `type`)

    def summary(self) -> dict[str, Any]:
        """What we store about it: never the base64 payload itself."""
        fields = {
            "kind": self.kind,
            "url": self.url,
            "mimetype": self.mimetype,
            "filename": self.filename,
            "inline": self.base64 is not None,
        }
        return {k: v for k, v in fields.items() if v is not None}


@dataclass(frozen=True, slots=True)
class Template:
    """A pre-approved Twilio Content template: the only thing Twilio sends outside the 24-hour window."""

    content_sid: str
    variables: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    id: str  # ours; also the sidecar's Idempotency-Key, so a retried request is never sent twice
    to: str  # +E164
    text: str | None = None
    media: Media | None = None
    template: Template | None = None


@dataclass(frozen=True, slots=True)
class StatusEvent:
    status: Status
    raw_status: str
    at: str
    error_code: str | None = None
    provider: str | None = None
    applied: bool = True


@dataclass(frozen=True, slots=True)
class Message:
    id: str
    contact: str
    direction: Direction
    provider: WhatsAppProvider
    provider_id: str | None
    status: Status
    text: str | None
    media: dict[str, Any] | None
    error_code: str | None
    created_at: str
    updated_at: str
    history: tuple[StatusEvent, ...] = ()
    sent_at: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "contact": self.contact,
            "direction": self.direction.value,
            "provider": self.provider.value,
            "provider_id": self.provider_id,
            "status": self.status.value,
            "text": self.text,
            "media": self.media,
            "error_code": self.error_code,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "sent_at": self.sent_at,
            "history": [
                {
                    "status": e.status.value,
                    "raw_status": e.raw_status,
                    "error_code": e.error_code,
                    "provider": e.provider,
                    "applied": e.applied,
                    "at": e.at,
                }
                for e in self.history
            ],
        }
