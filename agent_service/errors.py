"""The agent service's errors, and the one place they become gRPC status codes.

Code below the servicer raises these; the servicer turns them into a status with `grpc_status`, so a
status code always means the same thing to the gateway: INVALID_ARGUMENT is its bug, RESOURCE_EXHAUSTED
and UNAVAILABLE are worth retrying elsewhere, INTERNAL is ours.
"""

from __future__ import annotations

import grpc


class AgentError(Exception):
    """Base class. `retryable` tells a client whether the same request may succeed elsewhere or later."""

    retryable_by_default = False

    def __init__(self, message: str, *, retryable: bool | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = self.retryable_by_default if retryable is None else retryable


class ProtocolError(AgentError):
    """The client broke the Converse/Chat contract (wrong first message, missing field, bad value)."""


class TooManyCallsError(AgentError):
    """More concurrent calls than AGENT_MAX_CALLS."""

    retryable_by_default = True


class DrainingError(AgentError):
    """The server is shutting down and takes no new work."""

    retryable_by_default = True


class PipelineError(AgentError):
    """A pipeline or one of its providers failed; retryable when the provider said so (timeouts, 5xx)."""


def grpc_status(error: AgentError) -> grpc.StatusCode:
    """The status a Converse or Chat call ends with when `error` escapes the pipeline."""
    if isinstance(error, ProtocolError):
        return grpc.StatusCode.INVALID_ARGUMENT
    if isinstance(error, TooManyCallsError):
        return grpc.StatusCode.RESOURCE_EXHAUSTED
    if isinstance(error, DrainingError):
        return grpc.StatusCode.UNAVAILABLE
    if isinstance(error, PipelineError) and error.retryable:
        return grpc.StatusCode.UNAVAILABLE
    return grpc.StatusCode.INTERNAL
