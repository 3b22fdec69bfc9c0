"""A real PostgreSQL for tests: Debian's server binaries on loopback, with a throwaway data directory."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import uuid
from pathlib import Path

import pytest


class PostgresServer:
    """Debian's PostgreSQL binaries, run as the `postgres` user on 127.0.0.1 with a throwaway data dir."""

    def __init__(self, listen: tuple[str, ...] = ("127.0.0.1",), trust: tuple[str, ...] = ()) -> None:
        """`listen`: addresses to accept connections on; `trust`: networks (CIDR) besides loopback
        allowed in without a password (a multi-host test's bridge)."""
        self.listen = listen
        self.trust = trust
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not found:
            pytest.fail(
                "PostgreSQL is not installed: run `make install` (it installs the postgresql package)"
            )
        self.bin = Path(found[-1]).parent
        self.root = Path(tempfile.mkdtemp(prefix="agentlocator-pg-"))
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_user:
            shutil.chown(self.root, "postgres", "postgres")
        self.port = _free_port()
        self.proc: subprocess.Popen[str] | None = None
        self.log: list[str] = []
        self._drainer: threading.Thread | None = None

    def start(self) -> PostgresServer:
        data = self.root / "data"
        subprocess.run(
            [
                *self.as_user,
                str(self.bin / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "--no-sync",
            ],
            check=True,
            capture_output=True,
        )
        if self.trust:
            with (data / "pg_hba.conf").open("a") as hba:
                hba.writelines(f"host all all {network} trust\n" for network in self.trust)
        self.proc = subprocess.Popen(
            [
                *self.as_user,
                str(self.bin / "postgres"),
                "-D",
                str(data),
                "-h",
                ",".join(self.listen),
                "-p",
                str(self.port),
                "-k",
                str(self.root),
                "-c",
                "fsync=off",
            ],  # fmt: skip
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.log.append(line)
            if "database system is ready to accept connections" in line:
                break
        else:
            raise RuntimeError("postgres exited:\n" + "".join(self.log))
        self._drainer = threading.Thread(target=self._drain, daemon=True)
        self._drainer.start()
        return self

    def _drain(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            self.log.append(line)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        name = "wa_" + uuid.uuid4().hex[:12]
        createdb = [
            str(self.bin / "createdb"),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            "postgres",
            name,
        ]
        subprocess.run(createdb, check=True, capture_output=True)
        return self.url(name)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(30)
            if self._drainer is not None:
                self._drainer.join(10)
            if self.proc.stdout is not None:
                self.proc.stdout.close()
        shutil.rmtree(self.root, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
