"""The pytest side of tests/console/browser.mjs: start it, read its steps, tell it when to go on."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
SCRIPT = Path(__file__).with_name("browser.mjs")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def screenshot_dir(tmp_path: Path) -> Path:
    """docs/screenshots when UPDATE_SCREENSHOTS=1 (for the README), else a throwaway directory."""
    return SCREENSHOTS if os.environ.get("UPDATE_SCREENSHOTS") == "1" else tmp_path


class Browser:
    def __init__(self, scenario: str, base: str, password: str, shots: Path, **extra: object) -> None:
        if not Path(CHROMIUM).exists():
            pytest.fail(f"{CHROMIUM} is missing: run `make install` (it installs Debian's chromium)")
        if shutil.which("node") is None:
            pytest.fail("node is missing: run `make install`")
        config: dict[str, object] = {"scenario": scenario, "base": base, "password": password}
        config["chromium"] = CHROMIUM
        config |= {"shots": str(shots), **extra}
        self.proc = subprocess.Popen(
            ["node", str(SCRIPT), json.dumps(config)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.steps: list[str] = []

    def expect(self, name: str) -> str:
        """Block until the script reports step `name`; its detail text."""
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            line = line.rstrip("\n")
            self.steps.append(line)
            if line.startswith(("STEP PAGE_ERROR", "STEP CONSOLE_ERROR")):
                pytest.fail(f"the page reported an error: {line}")
            if line == f"STEP {name}" or line.startswith(f"STEP {name} "):
                return line.removeprefix(f"STEP {name}").strip()
        pytest.fail(f"the browser script ended before {name}: {self._stderr()} (steps: {self.steps})")

    def go(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def finish(self) -> None:
        self.expect("DONE")
        assert self.proc.wait() == 0, self._stderr()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()

    def _stderr(self) -> str:
        if self.proc.poll() is None:
            self.proc.kill()
        assert self.proc.stderr is not None
        return self.proc.stderr.read()[-4000:]
