"""The one place an AgentError becomes a gRPC status, so a code always means the same to the gateway:
INVALID_ARGUMENT is its bug, RESOURCE_EXHAUSTED and UNAVAILABLE are worth retrying elsewhere or later,
INTERNAL is ours (or a provider's that retrying cannot fix)."""

from __future__ import annotations

from typing import Any, NoReturn

import grpc

from agent_service.errors import (
    AgentError,
    AppointmentNotFound,
    BookingOff,
    DrainingError,
    ProtocolError,
    TooManyCallsError,
)


def grpc_status(error: AgentError) -> grpc.StatusCode:
    """The status a Converse, Chat or Synthesize call ends with when `error` escapes."""
    if isinstance(error, ProtocolError):
        return grpc.StatusCode.INVALID_ARGUMENT
    if isinstance(error, TooManyCallsError):
        return grpc.StatusCode.RESOURCE_EXHAUSTED
    if isinstance(error, AppointmentNotFound):
        return grpc.StatusCode.NOT_FOUND
    if isinstance(error, BookingOff):
        return grpc.StatusCode.FAILED_PRECONDITION
    if isinstance(error, DrainingError) or error.retryable:
        return grpc.StatusCode.UNAVAILABLE
    return grpc.StatusCode.INTERNAL


async def abort(context: Any, error: AgentError) -> NoReturn:
    """End the RPC with `error`'s status and message (grpc.aio's abort raises; so does this)."""
    await context.abort(grpc_status(error), error.message)
    raise AssertionError("context.abort() returned")  # it always raises; this tells the type checker
