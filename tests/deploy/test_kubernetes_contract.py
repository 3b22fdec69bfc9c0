"""deploy/kubernetes/ against the code: probes hit endpoints the services serve, ports are the settings'
defaults, every setting the code reads is set or documented, secrets live only in Secrets, every
container runs as non-root on a read-only root filesystem, and the grace periods cover the drains."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import pytest

from agent_service.settings import AgentSettings
from tests.deploy.kubernetes_manifests import (
    OVERLAYS,
    Rendered,
    agent_env_names,
    all_containers,
    bridge_default_port,
    bridge_env_names,
    every_overlay,
    gateway_env_names,
    pod_spec,
    rendered,
)
from tests.procs import ROOT
from voice_gateway.agent_client import AGENT_SERVICE
from voice_gateway.settings import Settings

README = (ROOT / "README.md").read_text()
BRIDGE_README = (ROOT / "baileys-bridge" / "README.md").read_text()
CODE_ENV = {"gateway": gateway_env_names, "agent": agent_env_names, "baileys-bridge": bridge_env_names}
# What each service cannot go without on Kubernetes: shared state and the addresses the layout decides.
REQUIRED = {
    "gateway": {
        "PORT",
        "BIND_HOST",
        "DATABASE_URL",
        "CALL_TOKEN_SECRET",
        "TWILIO_AUTH_TOKEN",
        "API_TOKEN",
        "AGENT_ADDR",
        "BAILEYS_BRIDGE_URL",
        "BRIDGE_API_KEY",
        "BRIDGE_WEBHOOK_SECRET",
        "PUBLIC_BASE_URL",
        "TRUST_PROXY_HEADERS",
        "KNOWLEDGE_FILE",
        "WS_MODE",
    },
    "agent": {
        "AGENT_LISTEN",
        "AGENT_METRICS_LISTEN",
        "AGENT_DATA_DIR",
        "AGENT_DATABASE_URL",
        "KNOWLEDGE_FILE",
    },
    "baileys-bridge": {
        "BRIDGE_HOST",
        "BRIDGE_PORT",
        "BRIDGE_DATA_DIR",
        "BRIDGE_API_KEY",
        "BRIDGE_WEBHOOK_URL",
        "BRIDGE_WEBHOOK_SECRET",
    },
}
SECRET_LOOKING = re.compile(
    r"TOKEN|SECRET|PASSWORD|PASSWD|_KEY$|^KEY$|DATABASE_URL|CREDENTIAL", re.IGNORECASE
)


def port_named(container: dict[str, Any], port: int | str) -> int:
    if isinstance(port, int):
        assert port in {p["containerPort"] for p in container["ports"]}, f"{port} is not a container port"
        return port
    return next(p["containerPort"] for p in container["ports"] if p["name"] == port)


def gateway_routes() -> set[str]:
    source = (ROOT / "voice_gateway" / "app.py").read_text()
    return set(re.findall(r'@app\.(?:get|route)\("([^"]+)"', source))


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_gateway_listens_on_its_default_port_and_probes_its_own_health_endpoints(overlay: str) -> None:
    manifests = rendered(overlay)
    container = manifests.container("gateway")
    env = manifests.environment("gateway")
    assert env["PORT"] == str(Settings().port) == str(port_named(container, "http"))
    assert {"/healthz", "/readyz"} <= gateway_routes()
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
    # 503 while the gateway drains; the agent is left out, so that with every agent down the gateways stay
    # in the Service and callers hear the apology rather than Twilio's application error.
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz?exclude=agent"
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        assert port_named(container, container[probe]["httpGet"]["port"]) == Settings().port
    # /readyz waits up to AGENT_HEALTH_TIMEOUT_S for the agent: the probe must wait longer.
    assert container["readinessProbe"]["timeoutSeconds"] > Settings().agent_health_timeout_s


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_agent_serves_grpc_on_its_default_port_with_native_grpc_health_probes(overlay: str) -> None:
    manifests = rendered(overlay)
    container = manifests.container("agent")
    env = manifests.environment("agent")
    default_port = int(AgentSettings().listen.rsplit(":", 1)[1])
    assert env["AGENT_LISTEN"] == f"0.0.0.0:{default_port}" and port_named(container, "grpc") == default_port
    assert env["AGENT_METRICS_LISTEN"] == "0.0.0.0:9464" and port_named(container, "metrics") == 9464
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        assert container[probe]["grpc"]["port"] == default_port, probe
    # Ready means "takes calls": the service the gateway itself asks about, NOT_SERVING once draining.
    assert container["readinessProbe"]["grpc"]["service"] == AGENT_SERVICE
    assert container["livenessProbe"]["grpc"].get("service", "") == ""


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_gateway_reaches_every_agent_replica_through_a_headless_service(overlay: str) -> None:
    manifests = rendered(overlay)
    host, _, port = manifests.environment("gateway")["AGENT_ADDR"].partition(":")  # type: ignore[union-attr]
    service = manifests.get("Service", host)
    # Headless: DNS answers every pod's address and the gateway's channel balances over them; a
    # ClusterIP would hand the one HTTP/2 connection to one replica for good.
    assert service["spec"]["clusterIP"] == "None"
    assert service["spec"].get("sessionAffinity", "None") == "None"
    (service_port,) = [p for p in service["spec"]["ports"] if p["port"] == int(port)]
    agent = manifests.workload("agent")
    assert service["spec"]["selector"].items() <= agent["spec"]["template"]["metadata"]["labels"].items()
    assert port_named(manifests.container("agent"), service_port["targetPort"]) == int(port)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_gateway_and_sidecar_reach_each_other_by_service_on_the_ports_they_listen_on(overlay: str) -> None:
    manifests = rendered(overlay)
    bridge_env = manifests.environment("baileys-bridge")
    assert bridge_env["BRIDGE_PORT"] == str(bridge_default_port())
    assert port_named(manifests.container("baileys-bridge"), "http") == bridge_default_port()
    for url, workload in (
        (manifests.environment("gateway")["BAILEYS_BRIDGE_URL"], "baileys-bridge"),
        (bridge_env["BRIDGE_WEBHOOK_URL"], "gateway"),
    ):
        parts = urlsplit(str(url))
        service = manifests.get("Service", str(parts.hostname))
        labels = manifests.workload(workload)["spec"]["template"]["metadata"]["labels"]
        assert service["spec"]["selector"].items() <= labels.items(), url
        (port,) = [p for p in service["spec"]["ports"] if p["port"] == parts.port]
        assert port_named(manifests.container(workload), port["targetPort"]) == parts.port
    webhook_path = urlsplit(str(bridge_env["BRIDGE_WEBHOOK_URL"])).path
    routes = (ROOT / "voice_gateway" / "whatsapp").rglob("*.py")
    assert any(f'"{webhook_path}"' in path.read_text() for path in routes), webhook_path
    assert "/health" in (ROOT / "baileys-bridge" / "src" / "http-api.js").read_text()
    for probe in ("livenessProbe", "readinessProbe"):
        assert manifests.container("baileys-bridge")[probe]["httpGet"]["path"] == "/health"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_ingress_sends_everything_to_the_gateway_with_websockets_and_long_timeouts(overlay: str) -> None:
    manifests = rendered(overlay)
    ingress = manifests.get("Ingress", "gateway")
    annotations = ingress["metadata"]["annotations"]
    # A Media Streams WebSocket lasts as long as its call; the proxy must not cut it at its 60 s default.
    for name in ("proxy-read-timeout", "proxy-send-timeout"):
        assert int(annotations[f"nginx.ingress.kubernetes.io/{name}"]) >= 3600
    assert not any("affinity" in key for key in annotations), "no session affinity: any gateway serves"
    (rule,) = ingress["spec"]["rules"]
    (path,) = rule["http"]["paths"]
    assert path["path"] == "/" and path["pathType"] == "Prefix"
    backend = path["backend"]["service"]
    service = manifests.get("Service", backend["name"])
    assert backend["port"]["name"] in {p["name"] for p in service["spec"]["ports"]}
    assert service["spec"].get("sessionAffinity", "None") == "None"
    assert manifests.environment("gateway")["PUBLIC_BASE_URL"] == f"https://{rule['host']}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_setting_the_code_reads_is_set_or_documented_and_nothing_else_is_set(overlay: str) -> None:
    manifests = rendered(overlay)
    for workload, read_by_code in CODE_ENV.items():
        env = manifests.environment(workload)
        readme = BRIDGE_README if workload == "baileys-bridge" else README
        undocumented = sorted(n for n in read_by_code() if n not in env and f"`{n}`" not in readme)
        assert not undocumented, f"{workload}: neither set nor documented with a default: {undocumented}"
        # The other way round catches a misspelt name, which the service would silently ignore.
        unknown = sorted(set(env) - read_by_code())
        assert not unknown, f"{workload}: sets variables its code never reads: {unknown}"
        missing = sorted(REQUIRED[workload] - set(env))
        assert not missing, f"{workload}: {missing} must be set on Kubernetes"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_secrets_come_only_from_the_secret_and_every_key_asked_for_exists(overlay: str) -> None:
    manifests = rendered(overlay)
    for configmap in manifests.of_kind("ConfigMap"):
        leaked = [key for key in configmap.get("data", {}) if SECRET_LOOKING.search(key)]
        assert not leaked, f"ConfigMap {configmap['metadata']['name']} holds secret-looking keys {leaked}"
    secrets = {s["metadata"]["name"]: s for s in manifests.of_kind("Secret")}
    for workload in manifests.workloads():
        for container in all_containers(workload):
            for entry in container.get("env", []):
                if SECRET_LOOKING.search(entry["name"]):
                    assert "secretKeyRef" in entry.get("valueFrom", {}), (
                        f"{entry['name']} is not from a Secret"
                    )
                ref = entry.get("valueFrom", {}).get("secretKeyRef")
                if ref is not None and not ref.get("optional"):
                    assert ref["key"] in secrets[ref["name"]]["data"], f"{ref['key']} is not in the Secret"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_shared_state_is_postgresql_for_the_gateways_and_the_agents_calendar(overlay: str) -> None:
    import base64

    secret = rendered(overlay).generated("Secret", "agentlocator")["data"]
    for key in ("DATABASE_URL", "AGENT_DATABASE_URL"):
        # SQLite on a pod's disk would give each replica its own calls, cap, sessions and calendar.
        assert base64.b64decode(secret[key]).decode().startswith("postgresql://"), key


def test_every_container_runs_as_non_root_on_a_read_only_root_filesystem() -> None:
    for manifests in every_overlay():
        for workload in manifests.workloads():
            spec = pod_spec(workload)
            pod = spec.get("securityContext", {})
            assert pod.get("seccompProfile", {}).get("type") == "RuntimeDefault"
            assert spec.get("automountServiceAccountToken") is False, "no pod here talks to the API"
            for container in all_containers(workload):
                name = f"{manifests.overlay}/{workload['metadata']['name']}/{container['name']}"
                security = container.get("securityContext", {})
                assert security.get("runAsNonRoot", pod.get("runAsNonRoot")) is True, name
                assert security.get("runAsUser", pod.get("runAsUser", 0)) != 0, name
                assert security.get("readOnlyRootFilesystem") is True, name
                assert security.get("allowPrivilegeEscalation") is False, name
                assert security.get("capabilities", {}).get("drop") == ["ALL"], name
                resources = container.get("resources", {})
                for bound in ("requests", "limits"):
                    assert {"cpu", "memory"} <= set(resources.get(bound, {})), f"{name}: {bound}"


def writable_mounts(manifests: Rendered, workload: dict[str, Any]) -> dict[str, str]:
    """Mount path -> volume kind, for every mount a container may write to."""
    volumes = {v["name"]: v for v in pod_spec(workload).get("volumes", [])}
    claims = {c["metadata"]["name"] for c in workload["spec"].get("volumeClaimTemplates", [])}
    mounts = {}
    for container in all_containers(workload):
        for mount in container.get("volumeMounts", []):
            if mount.get("readOnly"):
                continue
            kind = (
                "persistentVolumeClaim"
                if mount["name"] in claims
                else next(iter(set(volumes[mount["name"]]) - {"name"}))
            )
            mounts[mount["mountPath"]] = kind
    return mounts


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_paths_the_services_write_are_volumes_and_only_the_sidecar_keeps_its_own(overlay: str) -> None:
    manifests = rendered(overlay)
    for workload in manifests.workloads():
        for path, kind in writable_mounts(manifests, workload).items():
            assert kind in {"emptyDir", "persistentVolumeClaim"}, f"{path}: {kind}"
    under = {
        "agent": manifests.environment("agent")["AGENT_DATA_DIR"],
        "baileys-bridge": manifests.environment("baileys-bridge")["BRIDGE_DATA_DIR"],
    }
    for name, data_dir in under.items():
        mounts = writable_mounts(manifests, manifests.workload(name))
        assert str(data_dir) in mounts, f"{name}: its data directory {data_dir} is not a volume"
    # WhatsApp's pairing must outlive the pod: scanning the QR again is the price of losing it.
    bridge = writable_mounts(manifests, manifests.workload("baileys-bridge"))
    assert bridge[str(under["baileys-bridge"])] == "persistentVolumeClaim"
    bridge_set = manifests.workload("baileys-bridge")
    assert bridge_set["kind"] == "StatefulSet" and bridge_set["spec"]["replicas"] == 1
    for name in ("gateway", "agent", "baileys-bridge"):
        assert "/tmp" in writable_mounts(manifests, manifests.workload(name)), name


def gateway_drain_s(env: dict[str, str | None]) -> float:
    """How long a gateway may take to stop after SIGTERM: its calls' DRAIN_TIMEOUT_S (set, or the
    default), then the time the calls still up get to close once they are ended."""
    cluster = getattr(Settings(), "cluster", None)
    # Before the gateway drained it stopped at once; 30 s is the bound the manifests were sized for.
    drain = float(cluster.drain_timeout_s) if cluster is not None else 30.0
    if env.get("DRAIN_TIMEOUT_S"):
        drain = float(str(env["DRAIN_TIMEOUT_S"]))
    try:
        from voice_gateway.server.drain import END_GRACE_S
    except ImportError:
        return drain
    return drain + END_GRACE_S


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_termination_grace_covers_the_pre_stop_pause_and_each_services_drain(overlay: str) -> None:
    manifests = rendered(overlay)
    gateway = manifests.workload("gateway")
    pause = manifests.container("gateway")["lifecycle"]["preStop"]["sleep"]["seconds"]
    assert (
        pod_spec(gateway)["terminationGracePeriodSeconds"]
        >= pause + gateway_drain_s(manifests.environment("gateway")) + 5
    )
    # The agent's drain: EndCall to every call, then AGENT_SHUTDOWN_GRACE_S for them to finish.
    agent_grace = float(
        manifests.environment("agent").get("AGENT_SHUTDOWN_GRACE_S") or AgentSettings().shutdown_grace_s
    )
    assert pod_spec(manifests.workload("agent"))["terminationGracePeriodSeconds"] >= agent_grace + 5
    # The HPA owns the gateway's replica count; a fixed one would fight it on every apply.
    assert "replicas" not in gateway["spec"]
    hpa = manifests.get("HorizontalPodAutoscaler", "gateway")
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "gateway"}
    assert hpa["spec"]["minReplicas"] >= 2
    for name in ("gateway", "agent"):
        pdb = manifests.get("PodDisruptionBudget", name)
        labels = manifests.workload(name)["spec"]["template"]["metadata"]["labels"]
        assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
