"""compose/: what CI can check without a Docker engine - the file parses, and everything it names exists."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.deploy.compose_file import (
    APP_SERVICES,
    COMPOSE_DIR,
    COMPOSE_FILE,
    DOCKERFILE,
    ENV_EXAMPLE,
    load_compose,
    read_env_file,
    referenced_variables,
    service,
)
from tests.procs import ROOT

BRIDGE_ENTRY = ROOT / "baileys-bridge" / "src" / "index.js"


def docker_compose_config(tmp_path: Path) -> dict[str, object]:
    """`docker-compose config` on a copy of compose/ whose .env is .env.example, as a new user runs it."""
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.skip("docker-compose is not installed (`make system-deps` installs Debian's package)")
    work = tmp_path / "repo" / "compose"
    work.mkdir(parents=True)
    for path in (COMPOSE_FILE, DOCKERFILE):
        shutil.copy(path, work / path.name)
    shutil.copy(ENV_EXAMPLE, work / ".env")
    result = subprocess.run(
        [binary, "-f", str(work / COMPOSE_FILE.name), "--profile", "postgres", "config"],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    parsed = yaml.safe_load(result.stdout)
    assert isinstance(parsed, dict)
    return parsed


def test_docker_compose_config_accepts_the_file_with_the_example_env(tmp_path: Path) -> None:
    config = docker_compose_config(tmp_path)
    services = config["services"]
    assert isinstance(services, dict)
    assert set(services) == {"gateway", "agent", "baileys-bridge", "postgres"}


def test_our_reading_of_each_service_matches_docker_compose(tmp_path: Path) -> None:
    # The stack test below trusts tests/deploy/compose_file.py; this pins it to the real tool's reading.
    services = docker_compose_config(tmp_path)["services"]
    assert isinstance(services, dict)
    for name in APP_SERVICES:
        ours = service(name)
        theirs = services[name]
        assert theirs["command"] == ours.command, name
        resolved = {key: "" if value is None else str(value) for key, value in theirs["environment"].items()}
        assert resolved == ours.environment, name
        assert theirs["healthcheck"]["test"] == ["CMD", *ours.healthcheck], name


def test_every_app_service_has_a_healthcheck_a_restart_policy_and_the_env_file() -> None:
    services = load_compose()["services"]
    for name in APP_SERVICES:
        spec = services[name]
        assert spec["restart"] == "unless-stopped", name
        assert spec["env_file"] == ".env", name
        assert spec["healthcheck"]["test"][0] == "CMD", name
        assert "container_name" not in spec, f"{name}: a fixed container name forbids --scale"


def test_startup_order_waits_for_healthy_dependencies() -> None:
    services = load_compose()["services"]
    assert services["gateway"]["depends_on"] == {"agent": {"condition": "service_healthy"}}
    assert services["baileys-bridge"]["depends_on"] == {"gateway": {"condition": "service_healthy"}}


def test_the_gateway_reaches_agent_replicas_by_service_name_so_scaling_needs_no_edit() -> None:
    services = load_compose()["services"]
    assert services["gateway"]["environment"]["AGENT_ADDR"] == "agent:50051"
    # Published host ports would make a second replica fail to bind; replicas are reached by name only.
    assert "ports" not in services["agent"]
    assert services["agent"]["environment"]["AGENT_LISTEN"] == "0.0.0.0:50051"


def test_postgres_is_opt_in_behind_a_profile_and_sqlite_is_the_default() -> None:
    compose = load_compose()
    assert compose["services"]["postgres"]["profiles"] == ["postgres"]
    assert compose["services"]["gateway"]["environment"]["DATABASE_URL"].startswith("sqlite:")
    assert "postgres" not in compose["services"]["gateway"].get("depends_on", {})


def test_baileys_auth_state_and_sqlite_data_live_in_named_volumes() -> None:
    compose = load_compose()
    assert {"baileys-auth", "app-data"} <= set(compose["volumes"])
    bridge = compose["services"]["baileys-bridge"]
    data_dir = bridge["environment"]["BRIDGE_DATA_DIR"]
    assert f"baileys-auth:{data_dir}" in bridge["volumes"]
    assert "app-data:/data" in compose["services"]["gateway"]["volumes"]
    assert compose["services"]["gateway"]["environment"]["DATABASE_URL"] == "sqlite:////data/agentlocator.db"


def test_every_python_service_command_is_a_module_in_the_repo() -> None:
    for name in ("gateway", "agent"):
        command = service(name).command
        assert command[:2] == ["python", "-m"], name
        assert (ROOT / command[2] / "__main__.py").is_file(), f"{name}: no {command[2]}/__main__.py"


def test_the_bridge_command_is_the_sidecar_entry_point() -> None:
    command = service("baileys-bridge").command
    assert command == ["node", "src/index.js"]
    assert (ROOT / "baileys-bridge" / "package.json").is_file()
    if not BRIDGE_ENTRY.is_file():
        pytest.skip("baileys-bridge/src/index.js does not exist yet (issue 6 is writing it)")
    package = (ROOT / "baileys-bridge" / "package.json").read_text()
    assert '"start": "node src/index.js"' in package


def test_every_build_target_exists_in_the_dockerfile_and_runs_as_a_non_root_user() -> None:
    dockerfile = DOCKERFILE.read_text()
    stages = re.findall(r"^FROM \S+ AS (\S+)$", dockerfile, re.MULTILINE)
    for name in APP_SERVICES:
        build = service(name).spec["build"]
        assert build == {"context": "..", "dockerfile": "compose/Dockerfile", "target": build["target"]}
        assert build["target"] in stages, name
        # The USER of the stage a service runs is the last USER line before the next FROM.
        stage_text = dockerfile.split(f" AS {build['target']}\n", 1)[1].split("\nFROM ", 1)[0]
        users = re.findall(r"^USER (\S+)$", stage_text, re.MULTILINE)
        assert users and users[-1] not in {"root", "0"}, f"{build['target']} runs as root"


def test_the_image_generates_the_grpc_code_and_bakes_in_no_secret() -> None:
    dockerfile = DOCKERFILE.read_text()
    assert "protos/generate.py" in dockerfile
    for secret in ("TWILIO_AUTH_TOKEN", "BRIDGE_API_KEY", "BRIDGE_WEBHOOK_SECRET", "POSTGRES_PASSWORD"):
        assert secret not in dockerfile
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert "**/.env" in ignored and "**/node_modules" in ignored and ".venv/" in ignored


def test_the_example_env_documents_every_variable_the_compose_file_uses() -> None:
    documented = read_env_file()
    used = referenced_variables(COMPOSE_FILE.read_text())
    for name in APP_SERVICES:
        used |= set(service(name).spec.get("environment") or {})
    # Variables pinned by the compose file are documented in comments; the rest are KEY= lines.
    comments = ENV_EXAMPLE.read_text()
    missing = sorted(v for v in used if v not in documented and v not in comments)
    assert not missing, f"compose/.env.example does not mention {missing}"
    assert (COMPOSE_DIR / ".env").exists() is False or ".env" in (ROOT / ".gitignore").read_text()
