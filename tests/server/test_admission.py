"""The listener's admission, sans-IO: who is counted as one client, the caps, and bounded bookkeeping."""

from __future__ import annotations

import pytest

from voice_gateway.server.admission import Admission, ListenerLimits, client_key, fd_budget


@pytest.mark.parametrize(
    ("host", "key"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("::ffff:203.0.113.7", "203.0.113.7"),  # an IPv4 client on a dual-stack socket
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),  # one subscriber's /64 is one client
        ("fe80::1%eth0", "fe80::/64"),
        ("unknown", "unknown"),
    ],
)
def test_a_client_is_an_ipv4_address_or_an_ipv6_slash_64(host: str, key: str) -> None:
    assert client_key(host) == key


def test_past_the_per_client_cap_only_that_client_is_refused_and_a_release_admits_it_again() -> None:
    admission = Admission(ListenerLimits(max_connections=10, max_connections_per_client=2))
    first, second = admission.admit("192.0.2.1"), admission.admit("192.0.2.1")
    assert first is not None and second is not None
    assert admission.admit("192.0.2.1") is None
    assert admission.admit("192.0.2.2") is not None
    first.release()
    first.release()  # idempotent: a connection is released once however it ends
    assert admission.open == 2 and admission.per_client == {"192.0.2.1": 1, "192.0.2.2": 1}
    assert admission.admit("192.0.2.1") is not None


def test_the_total_cap_and_the_fd_budget_refuse_everyone_and_zero_turns_a_cap_off() -> None:
    total = Admission(ListenerLimits(max_connections=2, max_connections_per_client=0))
    assert [total.admit(f"192.0.2.{i}") is not None for i in range(3)] == [True, True, False]
    unlimited = Admission(ListenerLimits(max_connections=0, max_connections_per_client=0))
    assert all(unlimited.admit("192.0.2.1") is not None for _ in range(5000))
    budget = Admission(ListenerLimits(max_connections=0, max_connections_per_client=0), fd_limit=256)
    admitted = [budget.admit(f"192.0.2.{i % 200}") for i in range(300)]
    assert sum(ticket is not None for ticket in admitted) == fd_budget(256) == 192


@pytest.mark.parametrize(
    ("limit", "budget"), [(256, 192), (1024, 768), (65536, 64512), (1 << 20, (1 << 20) - 1024)]
)
def test_the_fd_budget_keeps_descriptors_back_for_the_process_itself(limit: int, budget: int) -> None:
    assert fd_budget(limit) == budget


def test_refusals_are_logged_once_per_client_a_minute_in_bounded_memory(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [0.0]
    admission = Admission(
        ListenerLimits(max_connections=1, max_connections_per_client=0), clock=lambda: now[0]
    )
    assert admission.admit("192.0.2.1") is not None
    for _ in range(3):
        for i in range(5000):  # a flood from many addresses
            admission.admit(f"10.0.{i // 256}.{i % 256}")
    refused = [r for r in caplog.records if "CONNECTION_REFUSED" in r.getMessage()]
    assert len(refused) == len(admission.logged) == 1024  # the rest only counted
    assert admission.logged.suppressed == 3 * (5000 - 1024)  # repeats of a logged client are not news
    now[0] += 60
    caplog.clear()
    admission.admit("10.0.0.1")
    messages = [r.getMessage() for r in caplog.records]
    assert any("CONNECTION_EVENTS_NOT_LOGGED count=11928" in m for m in messages)
    assert any("CONNECTION_REFUSED reason=total client=10.0.0.1" in m for m in messages)
    assert len(admission.logged) == 1
