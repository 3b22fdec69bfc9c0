"""Radicale, the real CalDAV server, on a free loopback port: `python -m tests.calendar.radicale_server
STORAGE_DIR HTPASSWD_FILE`. Radicale's own server takes no port 0, so its WSGI application is served
here with the standard library's threading server; it prints RADICALE_LISTENING port=N once bound.
Test-only: Radicale is GPL-3.0 and sits in the dev extra, never in an image.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import radicale
import radicale.config


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the base class's name)
        pass


def main() -> None:
    storage, users = Path(sys.argv[1]), Path(sys.argv[2])
    config = f"""
[auth]
type = htpasswd
htpasswd_filename = {users}
htpasswd_encryption = plain
[storage]
filesystem_folder = {storage}
[logging]
level = warning
"""
    with tempfile.NamedTemporaryFile("w", suffix=".ini", delete=False) as f:
        f.write(config)
    app = radicale.Application(radicale.config.load([(f.name, False)]))
    server = make_server("127.0.0.1", 0, app, server_class=_Server, handler_class=_QuietHandler)
    print(f"RADICALE_LISTENING port={server.server_port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
