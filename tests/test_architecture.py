"""The layout's promises, checked from the source: who imports whom, and how big a module may grow."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SERVICES = ("voice_gateway", "agent_service")
# A module past this is doing two jobs; split it by responsibility rather than raise the number.
MAX_MODULE_LINES = 320


def _imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_never_imports_the_other(service: str) -> None:
    other = next(name for name in SERVICES if name != service)
    offenders = [str(p.relative_to(ROOT)) for p in _modules(service) if other in _imported_packages(p)]
    assert offenders == [], f"{service} imports {other} in {offenders}"


def test_the_common_package_imports_neither_service() -> None:
    offenders = [
        str(p.relative_to(ROOT))
        for p in _modules("agentlocator_common")
        if _imported_packages(p) & set(SERVICES)
    ]
    assert offenders == []


@pytest.mark.parametrize("package", [*SERVICES, "agentlocator_common"])
def test_no_module_is_too_long_to_read(package: str) -> None:
    long = {
        str(p.relative_to(ROOT)): n
        for p in _modules(package)
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}
