"""Read compose/docker-compose.yml the way docker compose does, for tests that run without Docker.

Only what the stack uses is implemented: `env_file` (KEY=VALUE lines), `environment` as a mapping,
`${VAR}` / `${VAR:-default}` / `$$` interpolation from the .env file, YAML merge keys, and the exec
form of healthchecks. test_compose_config checks this reading against `docker-compose config`.
"""

from __future__ import annotations

import functools
import importlib.util
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

from tests.procs import ROOT

COMPOSE_DIR = ROOT / "compose"
COMPOSE_FILE = COMPOSE_DIR / "docker-compose.yml"
ENV_EXAMPLE = COMPOSE_DIR / ".env.example"
DOCKERFILE = COMPOSE_DIR / "Dockerfile"
APP_SERVICES = ("gateway", "agent", "baileys-bridge")

_VARIABLE = re.compile(r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\}")


def read_env_file(path: Path = ENV_EXAMPLE) -> dict[str, str]:
    values: dict[str, str] = {}
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"{path.name}:{number}: expected KEY=VALUE, got {raw!r}")
        values[name.strip()] = value.strip()
    return values


def interpolate(text: str, env: Mapping[str, str]) -> str:
    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        value = env.get(match.group("name"), "")
        default = match.group("default")
        return value if value or default is None else default

    return _VARIABLE.sub(substitute, text)


def referenced_variables(text: str) -> set[str]:
    return {m.group("name") for m in _VARIABLE.finditer(text) if m.group("name")}


def load_compose(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    text = interpolate(COMPOSE_FILE.read_text(), read_env_file() if env is None else env)
    document = yaml.safe_load(text)
    assert isinstance(document, dict)
    return document


@dataclass(frozen=True)
class Service:
    name: str
    command: list[str]
    environment: dict[str, str]
    healthcheck: list[str]
    spec: dict[str, Any]


def service(name: str, env_file: Mapping[str, str] | None = None) -> Service:
    """A service's command, its environment as the container sees it, and its healthcheck argv."""
    dotenv = read_env_file() if env_file is None else dict(env_file)
    spec = load_compose(dotenv)["services"][name]
    environment = dict(dotenv) if spec.get("env_file") == ".env" else {}
    environment.update({key: str(value) for key, value in (spec.get("environment") or {}).items()})
    test = list(spec["healthcheck"]["test"])
    if test[0] != "CMD":
        raise AssertionError(f"{name}: the healthcheck must use the exec form ['CMD', ...], got {test[0]!r}")
    return Service(name, list(spec["command"]), environment, test[1:], spec)


@dataclass(frozen=True)
class Stage:
    name: str
    base: str  # the FROM image or the stage it builds on
    text: str  # its instructions, FROM line excluded


def dockerfile_stages(text: str | None = None) -> dict[str, Stage]:
    """compose/Dockerfile's stages by name (every stage here is named: `FROM base AS name`)."""
    text = DOCKERFILE.read_text() if text is None else text
    stages: dict[str, Stage] = {}
    for chunk in re.split(r"^(?=FROM )", text, flags=re.MULTILINE)[1:]:
        header, _, body = chunk.partition("\n")
        match = re.fullmatch(r"FROM (\S+) AS (\S+)", header.strip())
        if match is None:
            raise AssertionError(f"every Dockerfile stage must be named: {header!r}")
        stages[match.group(2)] = Stage(match.group(2), match.group(1), body)
    return stages


def stage_chain(name: str, stages: Mapping[str, Stage]) -> list[Stage]:
    """A stage and the stages it builds on, nearest first."""
    chain = [stages[name]]
    while chain[-1].base in stages:
        chain.append(stages[chain[-1].base])
    return chain


@functools.cache
def licences_script() -> ModuleType:
    """docs/licences.py (a script, not a package): the dependency closures and licence tables."""
    path = ROOT / "docs" / "licences.py"
    spec = importlib.util.spec_from_file_location("agentlocator_docs_licences", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is created
    spec.loader.exec_module(module)
    return module
