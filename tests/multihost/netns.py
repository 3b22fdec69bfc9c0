"""Hosts for the multi-host test: a network namespace each, on one bridge, when this machine allows it
(root and `ip netns`); else loopback addresses of this one network stack.

With namespaces every process has its own network stack: its own loopback, its own address on the
bridge, nothing reachable but what the bridge carries. The test's own processes (PostgreSQL, the DNS
server, the stand-in for Twilio's API, the test itself) stay in this namespace on the bridge's address.
The addresses are a private /24 that exists only on this bridge, made and removed by the test.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

SUBNET = "10.219.{n}"


@dataclass(frozen=True)
class Host:
    address: str
    netns: str | None  # None: a loopback address in this namespace

    def argv(self, argv: list[str]) -> list[str]:
        return ["ip", "netns", "exec", self.netns, *argv] if self.netns else argv


@dataclass(frozen=True)
class Lab:
    here: str  # the address this namespace (PostgreSQL, DNS, the test) has for the hosts
    hosts: tuple[Host, ...]
    namespaces: bool


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True, timeout=30)


def namespaces_allowed() -> bool:
    if os.geteuid() != 0 or shutil.which("ip") is None:
        return False
    probe = f"al19probe{os.getpid()}"
    try:
        _ip("netns", "add", probe)
        _ip("netns", "del", probe)
    except (subprocess.CalledProcessError, OSError):
        return False
    return True


@contextmanager
def lab(count: int) -> Iterator[Lab]:
    if not namespaces_allowed():
        yield Lab("127.0.0.1", tuple(Host(f"127.0.0.{n + 2}", None) for n in range(count)), False)
        return
    tag = f"{os.getpid() % 100000}"
    bridge = f"al19b{tag}"
    net = SUBNET.format(n=os.getpid() % 200 + 20)
    made: list[str] = []
    try:
        _ip("link", "add", bridge, "type", "bridge")
        _ip("addr", "add", f"{net}.1/24", "dev", bridge)
        _ip("link", "set", bridge, "up")
        hosts = []
        for n in range(count):
            netns, outside, inside = f"al19h{tag}-{n}", f"al19v{tag}{n}", "eth0"
            _ip("netns", "add", netns)
            made.append(netns)
            _ip("link", "add", outside, "type", "veth", "peer", "name", f"al19p{tag}{n}")
            _ip("link", "set", f"al19p{tag}{n}", "netns", netns)
            _ip("-n", netns, "link", "set", f"al19p{tag}{n}", "name", inside)
            _ip("-n", netns, "addr", "add", f"{net}.{n + 2}/24", "dev", inside)
            _ip("-n", netns, "link", "set", inside, "up")
            _ip("-n", netns, "link", "set", "lo", "up")
            _ip("link", "set", outside, "master", bridge)
            _ip("link", "set", outside, "up")
            hosts.append(Host(f"{net}.{n + 2}", netns))
        yield Lab(f"{net}.1", tuple(hosts), True)
    finally:
        for netns in made:
            subprocess.run(["ip", "netns", "del", netns], capture_output=True, timeout=30)
        subprocess.run(["ip", "link", "del", bridge], capture_output=True, timeout=30)
