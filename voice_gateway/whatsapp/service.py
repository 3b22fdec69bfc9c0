"""The one small interface both WhatsApp providers implement, and how a request picks one."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Protocol

from voice_gateway.settings import WhatsAppProvider
from voice_gateway.whatsapp.model import OutgoingMessage, Status


@dataclass(frozen=True, slots=True)
class SendReceipt:
    provider: WhatsAppProvider
    provider_id: str
    status: Status
    raw_status: str


@dataclass(frozen=True, slots=True)
class RemoteStatus:
    status: Status
    raw_status: str
    error_code: str | None
    at: str | None


class SendState(enum.StrEnum):
    """What a provider can say, later, about a send whose answer we never got."""

    IN_FLIGHT = "in_flight"  # still running there
    ACCEPTED = "accepted"  # it took the message
    UNCONFIRMED = "unconfirmed"  # handed on, never confirmed; `remote` shows what receipts said since
    NOT_SENT = "not_sent"  # certainly never handed on
    UNKNOWN = "unknown"  # the provider cannot tell (Twilio has no lookup by our id) or did not answer


@dataclass(frozen=True, slots=True)
class SendLookup:
    state: SendState
    provider_id: str | None = None
    remote: RemoteStatus | None = None


class ProviderError(Exception):
    """A provider call failed. `accepted_possible` is False only when the provider certainly did not
    take the message (connection refused, an explicit refusal): only then may another provider send it,
    because a second send of an accepted message reaches the customer twice."""

    def __init__(
        self,
        code: str,
        message: str,
        http_status: int,
        accepted_possible: bool,
        retry_after: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.http_status = http_status
        self.accepted_possible = accepted_possible
        self.retry_after = retry_after

    @property
    def may_fall_back(self) -> bool:
        return not self.accepted_possible

    def as_json(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message}


class NotConfigured(ProviderError):
    def __init__(self, provider: WhatsAppProvider, missing: str) -> None:
        super().__init__(
            "provider_not_configured", f"{provider.value} is not configured: set {missing}", 503, False
        )


class WhatsAppService(Protocol):
    provider: WhatsAppProvider

    async def send(self, message: OutgoingMessage) -> SendReceipt: ...

    async def status(self, provider_id: str) -> RemoteStatus: ...

    async def find_send(self, idempotency_key: str) -> SendLookup:
        """What became of the send made with this key (our message id)."""
        ...

    async def check_contact(self, phone: str) -> bool | None:
        """True/False when the provider can tell whether the number is on WhatsApp; None when it cannot."""
        ...

    async def describe(self) -> dict[str, Any]: ...


class WhatsAppServices:
    """Both providers of this process; `get_whatsapp_service` hands out the one a request asks for."""

    def __init__(self, services: dict[WhatsAppProvider, WhatsAppService], default: WhatsAppProvider) -> None:
        self._services = services
        self.default = default

    def get_whatsapp_service(self, provider: WhatsAppProvider | str | None = None) -> WhatsAppService:
        chosen = self.default if provider is None else WhatsAppProvider(provider)
        return self._services[chosen]

    def other_than(self, provider: WhatsAppProvider) -> WhatsAppService:
        return next(s for p, s in self._services.items() if p is not provider)

    def all(self) -> list[WhatsAppService]:
        return list(self._services.values())
