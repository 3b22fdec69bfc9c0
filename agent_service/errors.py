"""The agent's one error hierarchy. Everything below the servicer raises these; `grpc_status.py` is the
one place they become status codes.

Classes say what went wrong, not where: the message names the part (the LLM, the Piper voice, a model
file). `retryable` says whether the same request may succeed later or on another instance; the hybrid
brain falls back on any provider error, and a retryable one becomes UNAVAILABLE rather than INTERNAL.
"""

from __future__ import annotations


class AgentError(Exception):
    """Base class; on its own it means a bug or an unexpected failure of ours."""

    retryable_by_default = False

    def __init__(self, message: str, *, retryable: bool | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = self.retryable_by_default if retryable is None else retryable


class ProtocolError(AgentError):
    """The client broke the contract (wrong first message, missing field, value out of range)."""


class TooManyCallsError(AgentError):
    """More concurrent calls than AGENT_MAX_CALLS."""

    retryable_by_default = True


class DrainingError(AgentError):
    """The server is shutting down and takes no new work."""

    retryable_by_default = True


class ProviderError(AgentError):
    """A model or service the agent depends on (LLM, speech) failed; retryable when it said so."""


class ProviderUnavailable(ProviderError):
    """The provider could not be reached, timed out, or answered 429/5xx."""

    retryable_by_default = True


class ProviderRejected(ProviderError):
    """The provider refused the request (401, 400, unknown model): retrying the same request cannot help."""


class ModelLoadError(ProviderError):
    """A local model file is missing, unverified or not loadable."""


class CalendarError(AgentError):
    """The business's calendar could not do what was asked (calendar/: CalDAV or the embedded one)."""


class CalendarUnavailable(CalendarError):
    """The calendar could not be reached, timed out, or answered 5xx: nothing was written."""

    retryable_by_default = True


class CalendarRejected(CalendarError):
    """The calendar refused the request (a 4xx other than a lost race): retrying it cannot help."""


class SlotTaken(CalendarError):
    """The time is no longer free: another booking (or the owner) got there first."""

    retryable_by_default = True


class BookingOff(CalendarError):
    """The knowledge file has no opening_hours, so the agent keeps no appointments."""


class AppointmentNotFound(CalendarError):
    """No appointment with that id (cancelled or moved elsewhere meanwhile)."""
