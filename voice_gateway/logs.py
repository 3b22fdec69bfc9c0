"""Log set-up: one readable line per event, so `grep WS_` tells the story of a call."""

from __future__ import annotations

import logging
import sys


def configure(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Hypercorn's access log would print one line per webhook on top of ours.
    logging.getLogger("hypercorn.access").setLevel(logging.WARNING)
