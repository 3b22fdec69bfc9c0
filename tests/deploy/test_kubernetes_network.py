"""deploy/kubernetes/'s NetworkPolicies, evaluated as the API defines them: every pod is covered both ways,
the flows the architecture needs are open and the rest are shut."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.deploy.kubernetes_manifests import OVERLAYS, Rendered, all_containers, rendered

INGRESS_NAMESPACE = "ingress-nginx"
TWILIO = "203.0.113.10"  # any public address: Twilio's API, WhatsApp, an LLM provider
METADATA = "169.254.169.254"  # the cloud's instance metadata: the node's credentials
DATABASE = "192.0.2.10"  # production's external PostgreSQL (overlays/production/database-egress.yaml)


@dataclass(frozen=True)
class Peer:
    name: str
    namespace: str | None = None  # None: outside the cluster, known by its address only
    labels: dict[str, str] = field(default_factory=dict)
    ip: str = "10.244.0.1"
    ports: dict[str, int] = field(default_factory=dict)  # named container ports


def selects(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    if selector is None:
        return True
    if any(labels.get(key) != value for key, value in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        key, operator, values = expression["key"], expression["operator"], expression.get("values", [])
        present = key in labels
        ok = {
            "In": present and labels.get(key) in values,
            "NotIn": not present or labels.get(key) not in values,
            "Exists": present,
            "DoesNotExist": not present,
        }[operator]
        if not ok:
            return False
    return True


def peer_matches(entry: dict[str, Any], other: Peer, policy_namespace: str) -> bool:
    if "ipBlock" in entry:
        address = ipaddress.ip_address(other.ip)
        block = entry["ipBlock"]
        if address not in ipaddress.ip_network(block["cidr"]):
            return False
        return not any(address in ipaddress.ip_network(cidr) for cidr in block.get("except", []))
    if other.namespace is None:
        return False
    if "namespaceSelector" in entry:
        namespace_labels = {"kubernetes.io/metadata.name": other.namespace}
        if not selects(entry["namespaceSelector"], namespace_labels):
            return False
    elif other.namespace != policy_namespace:
        return False
    return selects(entry.get("podSelector"), other.labels)


def port_matches(ports: list[dict[str, Any]] | None, port: int, protocol: str, target: Peer) -> bool:
    if not ports:
        return True
    for entry in ports:
        wanted = entry.get("port")
        named = target.ports.get(wanted) if isinstance(wanted, str) else wanted
        if entry.get("protocol", "TCP") == protocol and (wanted is None or named == port):
            return True
    return False


class Cluster:
    def __init__(self, manifests: Rendered) -> None:
        self.policies = manifests.of_kind("NetworkPolicy")
        self.namespace = manifests.of_kind("Namespace")[0]["metadata"]["name"]
        self.pods = {}
        for number, workload in enumerate(manifests.workloads(), 2):
            ports = {
                p["name"]: p["containerPort"] for c in all_containers(workload) for p in c.get("ports", [])
            }
            labels = workload["spec"]["template"]["metadata"]["labels"]
            name = workload["metadata"]["name"]
            self.pods[name] = Peer(name, self.namespace, labels, f"10.244.1.{number}", ports)
        self.pods["ingress-controller"] = Peer(
            "ingress-controller", INGRESS_NAMESPACE, {"app.kubernetes.io/name": "ingress-nginx"}, "10.244.9.1"
        )
        self.pods["elsewhere"] = Peer(
            "elsewhere", "default", {"app.kubernetes.io/name": "gateway"}, "10.244.9.2"
        )

    def applying(self, pod: Peer, direction: str) -> list[dict[str, Any]]:
        if pod.namespace != self.namespace:
            return []  # other namespaces' policies are not ours to model
        return [
            p
            for p in self.policies
            if direction in p["spec"]["policyTypes"] and selects(p["spec"]["podSelector"], pod.labels)
        ]

    def allowed(self, source: Peer, target: Peer, port: int, protocol: str = "TCP") -> bool:
        egress = self.applying(source, "Egress")
        if egress and not any(
            port_matches(rule.get("ports"), port, protocol, target)
            and (not rule.get("to") or any(peer_matches(e, target, self.namespace) for e in rule["to"]))
            for policy in egress
            for rule in policy["spec"].get("egress", [])
        ):
            return False
        ingress = self.applying(target, "Ingress")
        return not ingress or any(
            port_matches(rule.get("ports"), port, protocol, target)
            and (not rule.get("from") or any(peer_matches(e, source, self.namespace) for e in rule["from"]))
            for policy in ingress
            for rule in policy["spec"].get("ingress", [])
        )


def outside(ip: str) -> Peer:
    return Peer(ip, None, {}, ip)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_pod_is_covered_by_policies_in_both_directions(overlay: str) -> None:
    cluster = Cluster(rendered(overlay))
    default_deny = [p for p in cluster.policies if p["spec"]["podSelector"] == {}]
    assert default_deny and all(
        not p["spec"].get("ingress") and not p["spec"].get("egress") for p in default_deny
    )
    for name, pod in cluster.pods.items():
        if pod.namespace == cluster.namespace:
            assert cluster.applying(pod, "Ingress") and cluster.applying(pod, "Egress"), name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_flows_the_architecture_needs_are_open(overlay: str) -> None:
    cluster = Cluster(rendered(overlay))
    pods = cluster.pods
    gateway, agent, bridge = pods["gateway"], pods["agent"], pods["baileys-bridge"]
    dns = outside("10.96.0.10")
    needed = [
        (pods["ingress-controller"], gateway, 8080, "TCP"),
        (gateway, agent, 50051, "TCP"),
        (gateway, bridge, 3001, "TCP"),
        (bridge, gateway, 8080, "TCP"),
    ]
    for pod in (gateway, agent, bridge):
        needed += [(pod, outside(TWILIO), 443, "TCP"), (pod, dns, 53, "UDP"), (pod, dns, 53, "TCP")]
    database = pods.get("postgres") or outside(DATABASE)
    needed += [(gateway, database, 5432, "TCP"), (agent, database, 5432, "TCP")]
    shut = [
        f"{s.name} -> {t.name}:{port}/{proto}"
        for s, t, port, proto in needed
        if not cluster.allowed(s, t, port, proto)
    ]
    assert not shut, shut


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_other_flow_is_shut(overlay: str) -> None:
    cluster = Cluster(rendered(overlay))
    pods = cluster.pods
    gateway, agent, bridge = pods["gateway"], pods["agent"], pods["baileys-bridge"]
    shut = [
        (agent, gateway, 8080),
        (agent, bridge, 3001),
        (bridge, agent, 50051),
        (gateway, agent, 9464),
        (pods["ingress-controller"], agent, 50051),
        (pods["ingress-controller"], bridge, 3001),
        (pods["elsewhere"], gateway, 8080),
        (outside(TWILIO), gateway, 8080),
        (gateway, outside(TWILIO), 80),
        (bridge, outside(DATABASE), 5432),
    ]
    for pod in (gateway, agent, bridge):
        shut += [(pod, outside(METADATA), 80), (pod, outside(METADATA), 443), (pod, outside("10.1.2.3"), 443)]
    if "postgres" in pods:
        postgres = pods["postgres"]
        shut += [(bridge, postgres, 5432), (pods["ingress-controller"], postgres, 5432)]
        shut += [(postgres, outside(TWILIO), 443), (postgres, gateway, 8080)]
    opened = [f"{s.name} -> {t.name}:{port}" for s, t, port in shut if cluster.allowed(s, t, port)]
    assert not opened, opened
