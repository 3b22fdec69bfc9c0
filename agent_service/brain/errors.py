"""Brain failures. `retryable` says whether the same request may succeed if tried again (timeouts, 5xx,
rate limits); the hybrid brain falls back to the receptionist engine on any of them."""

from __future__ import annotations


class BrainError(Exception):
    retryable_by_default = False

    def __init__(self, message: str, *, retryable: bool | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = self.retryable_by_default if retryable is None else retryable


class ProviderUnavailable(BrainError):
    """The LLM could not be reached, timed out, or answered 429/5xx."""

    retryable_by_default = True


class ProviderRejected(BrainError):
    """The LLM refused the request (401, 400, unknown model): retrying the same request cannot help."""


class ModelLoadError(BrainError):
    """A local model file is missing, unverified or not loadable."""
