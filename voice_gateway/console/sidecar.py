"""Pairing actions on the Baileys sidecar (start, restart, log out): the console's only writes to it."""

from __future__ import annotations

import enum

import httpx


class SessionAction(enum.StrEnum):
    START = "start"
    RESTART = "restart"
    LOGOUT = "logout"


async def session_action(base_url: str, api_key: str | None, action: SessionAction, timeout_s: float) -> str:
    """Ask the sidecar to act; a sentence for the operator saying what happened."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        async with httpx.AsyncClient(base_url=base_url, timeout=timeout_s) as client:
            response = await client.post(f"/v1/session/{action.value}", headers=headers)
    except httpx.HTTPError as exc:
        raise SidecarUnavailable(f"the WhatsApp sidecar at {base_url} did not answer: {exc!r}") from exc
    if response.status_code >= 400:
        try:
            message = str(response.json()["error"]["message"])
        except (ValueError, KeyError, TypeError):
            message = response.text[:200]
        raise SidecarRefused(response.status_code, f"the sidecar refused to {action.value}: {message}")
    state = response.json().get("state", "?") if response.content else "?"
    return f"WhatsApp session {action.value}: now {state}"


class SidecarUnavailable(Exception):
    pass


class SidecarRefused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
