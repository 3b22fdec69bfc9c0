"""The operator console served at `/console` (see routes.py)."""

from __future__ import annotations

from voice_gateway.console.routes import console_blueprint

__all__ = ["console_blueprint"]
