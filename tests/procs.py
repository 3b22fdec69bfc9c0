"""Start the project's real server processes for tests, on port 0, and read what they log.

Each server prints one `..._LISTENING ... port=N` line once its socket is bound; the fixture waits for
that line (no sleeping) and keeps every later log line so tests can assert on them.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_PORT_RE = re.compile(r"\bport=(\d+)")


class ServerProcess:
    """A child process whose combined output is collected line by line in a background thread."""

    def __init__(self, argv: Sequence[str], env: Mapping[str, str], ready_marker: str) -> None:
        self.argv = list(argv)
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **env}
        self.ready_marker = ready_marker
        self.lines: list[str] = []
        self.port = 0
        self._cond = threading.Condition()
        self._proc: subprocess.Popen[str] | None = None
        self._pump_thread: threading.Thread | None = None

    def start(self, timeout: float = 30.0) -> ServerProcess:
        self._proc = subprocess.Popen(
            self.argv,
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
        )
        self._pump_thread = threading.Thread(target=self._pump, daemon=True)
        self._pump_thread.start()
        line = self.wait_for(self.ready_marker, timeout=timeout)
        match = _PORT_RE.search(line)
        if match is None:
            raise RuntimeError(f"ready line has no port=: {line!r}")
        self.port = int(match.group(1))
        return self

    def _pump(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        try:
            for raw in self._proc.stdout:
                with self._cond:
                    self.lines.append(raw.rstrip("\n"))
                    self._cond.notify_all()
        finally:
            # Closed here, after the last read, so it can never race that read.
            self._proc.stdout.close()
            with self._cond:
                self._cond.notify_all()

    @property
    def pid(self) -> int:
        assert self._proc is not None
        return self._proc.pid

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def wait_for(self, needle: str | re.Pattern[str], timeout: float = 10.0, start: int = 0) -> str:
        """Block until a log line (from index `start` on) contains `needle`; return that line."""
        deadline = time.monotonic() + timeout
        pattern = needle if isinstance(needle, re.Pattern) else re.compile(re.escape(needle))
        index = start
        with self._cond:
            while True:
                while index < len(self.lines):
                    if pattern.search(self.lines[index]):
                        return self.lines[index]
                    index += 1
                if not self.running and index >= len(self.lines):
                    raise RuntimeError(f"process exited before logging {needle!r}:\n" + "\n".join(self.lines))
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    tail = "\n".join(self.lines[-15:])
                    raise TimeoutError(
                        f"no log line matching {needle!r} within {timeout}s; last lines:\n{tail}"
                    )
                self._cond.wait(remaining)

    def matching(self, needle: str) -> list[str]:
        with self._cond:
            return [line for line in self.lines if needle in line]

    def signal(self, sig: int) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(sig)

    def stop(self, timeout: float = 10.0) -> int:
        if self._proc is None:
            return 0
        self.signal(signal.SIGTERM)
        try:
            code = self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            code = self._proc.wait(timeout)
        self._close_output()
        return code

    def kill(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait(10)
        self._close_output()

    def _close_output(self) -> None:
        # The pump thread reaches EOF once the process is gone, and closes the pipe.
        if self._pump_thread is not None:
            self._pump_thread.join(10)

    def wait_exit(self, timeout: float = 30.0) -> int:
        """Wait for the process to exit by itself (stop() would send a second SIGTERM); its exit code."""
        assert self._proc is not None
        code = self._proc.wait(timeout)
        self._close_output()
        return code


def python_module(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]


def start_fake_twilio_api(auth: str, **env: str) -> ServerProcess:
    """Twilio's REST API on loopback (tests/fake_twilio_api.py), started; `auth` is ACCOUNT_SID:AUTH_TOKEN."""
    command = python_module("tests.fake_twilio_api")
    return ServerProcess(command, {"FAKE_TWILIO_AUTH": auth, **env}, "FAKE_TWILIO_LISTENING").start()
