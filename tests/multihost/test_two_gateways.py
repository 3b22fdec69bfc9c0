"""Two gateway processes and three agent replicas on separate hosts, one PostgreSQL, one name for the agents.

Each host is a network namespace of its own on one bridge (tests/multihost/netns.py; as root where `ip
netns` works, else a loopback address each), as a Kubernetes Service of two gateway pods and a headless
Service of three agent pods would be. PostgreSQL, the DNS server and the stand-in for Twilio's API run
beside the test on the bridge's own address. Twilio (this test) reaches either gateway under one public
name (PUBLIC_BASE_URL, signed as Twilio signs it), the name `agent` resolves to every agent through the
DNS server, and the gateways share nothing but the database and CALL_TOKEN_SECRET.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import signal
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from dnslib.server import DNSLogger, DNSServer  # type: ignore[import-untyped]
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.deploy.test_compose_stack import ServiceNames
from tests.multihost.netns import Lab, lab
from tests.postgres import PostgresServer
from tests.procs import ServerProcess, python_module, start_fake_twilio_api
from voice_gateway.tools.simulate.twiml_check import parse_connect_stream
from voice_gateway.twilio.media_streams import TwilioStream
from voice_gateway.twilio.public_url import websocket_url
from voice_gateway.twilio.signatures import TwilioSignatures
from voice_gateway.twilio.twiml import STREAM_PATH

pytestmark = pytest.mark.integration

PUBLIC = "https://voice.example.test"  # the load balancer in front of both gateways
AUTH_TOKEN = "multihost-twilio-auth-token"
PASSWORD = "multihost-console-password"
ACCOUNT_SID = "AC" + "1" * 32
GOODBYE = "We are moving your call, please call again. Goodbye."
MAX_CALLS = 4
DEAD_AFTER_S = 2.0
AGENTS = 3
SIDS = (f"CA{n:032x}" for n in itertools.count(0x19000))


@pytest.fixture
def network() -> Iterator[Lab]:
    with lab(2 + AGENTS) as made:
        yield made


@pytest.fixture
def database(network: Lab) -> Iterator[str]:
    """A PostgreSQL of its own, reachable from the hosts' namespaces."""
    trust = (network.here.rsplit(".", 1)[0] + ".0/24",) if network.namespaces else ()
    server = PostgresServer(listen=tuple(dict.fromkeys(("127.0.0.1", network.here))), trust=trust).start()
    try:
        yield server.create_database().replace("@127.0.0.1:", f"@{network.here}:")
    finally:
        server.stop()


@pytest.fixture
def agent_name(network: Lab) -> Iterator[tuple[int, dict[str, list[str]]]]:
    records = {"agent": [host.address for host in network.hosts[2:]]}
    quiet = DNSLogger("-request,-reply")
    server = DNSServer(ServiceNames(records), port=0, address=network.here, logger=quiet)
    server.start_thread()
    yield int(server.server.server_address[1]), records
    server.stop()
    server.server.server_close()


@dataclass
class Hosts:
    network: Lab
    gateways: list[ServerProcess]
    agents: list[ServerProcess]
    twilio_api: ServerProcess
    started: list[ServerProcess] = field(default_factory=list)

    def http(self, n: int) -> str:
        return f"http://{self.network.hosts[n].address}:{self.gateways[n].port}"

    def ws(self, n: int) -> str:
        return f"ws://{self.network.hosts[n].address}:{self.gateways[n].port}{STREAM_PATH}"

    def agent_of(self, call_sid: str) -> int:
        """The replica that took the call (its log line may trail the audio it already sent back)."""
        deadline = time.monotonic() + 10
        while True:
            needle = f"CALL_START call={call_sid} "
            found = [n for n, agent in enumerate(self.agents) if agent.matching(needle)]
            if found or time.monotonic() > deadline:
                assert len(found) == 1, (call_sid, found)
                return found[0]
            time.sleep(0.02)


@pytest.fixture
def hosts(network: Lab, database: str, agent_name: tuple[int, dict[str, list[str]]]) -> Iterator[Hosts]:
    dns_port, _ = agent_name
    here = network.here
    started: list[ServerProcess] = []
    try:
        twilio_api = start_fake_twilio_api(f"{ACCOUNT_SID}:{AUTH_TOKEN}", LOOPBACK_SERVER_HOST=here)
        started.append(twilio_api)
        agents: list[ServerProcess] = []
        port = 0
        for host in network.hosts[2:]:
            env = {"AGENT_LISTEN": f"{host.address}:{port}", "AGENT_PIPELINE": "echo"}
            env |= {"AGENT_SHUTDOWN_GRACE_S": "5", "AGENT_METRICS_PORT": "0", "LOG_LEVEL": "INFO"}
            agent = ServerProcess(host.argv(python_module("agent_service")), env, "AGENT_LISTENING")
            started.append(agent)
            agents.append(agent.start())
            port = agent.port  # every replica on the same port, as pods behind a headless Service
        gateways = []
        for n, host in enumerate(network.hosts[:2]):
            env = {
                "PORT": "0",
                "BIND_HOST": host.address,
                "WS_MODE": "AI",
                "DATABASE_URL": database,
                "AGENT_ADDR": f"dns://{here}:{dns_port}/agent:{port}",
                "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
                "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
                "TWILIO_API_BASE_URL": f"http://{here}:{twilio_api.port}",
                "CALL_TOKEN_SECRET": "multihost-call-token-secret-shared",
                "PUBLIC_BASE_URL": PUBLIC,
                "CONSOLE_PASSWORD": PASSWORD,
                "GATEWAY_ID": f"gateway-{n + 1}",
                "GATEWAY_HEARTBEAT_S": "0.5",
                "GATEWAY_DEAD_AFTER_S": str(DEAD_AFTER_S),
                "MAX_CONCURRENT_CALLS": str(MAX_CALLS),
                "DRAIN_TIMEOUT_S": "3",
                "DRAIN_GOODBYE_TEXT": GOODBYE,
                "LOG_LEVEL": "INFO",
            }
            gateway = ServerProcess(host.argv(python_module("voice_gateway")), env, "GATEWAY_LISTENING")
            started.append(gateway)
            gateways.append(gateway.start())
        yield Hosts(network, gateways, agents, twilio_api, started)
    finally:
        for proc in reversed(started):
            proc.stop()


class Call:
    """One phone call as Twilio places it: the webhook on one gateway, the stream on any."""

    def __init__(self, hosts: Hosts, http: httpx.AsyncClient) -> None:
        self.hosts = hosts
        self.http = http
        self.sid = next(SIDS)
        self.stream = TwilioStream("MZ" + self.sid[2:], self.sid, "AC" + "1" * 32)
        self.parameters: dict[str, str] = {}
        self.ws: ClientConnection | None = None
        self.carrier = -1  # the gateway its stream is on

    async def webhook(self, gateway: int) -> bool:
        """POST /incoming_call; True when the answer is a <Stream>, False for the busy message."""
        form = {
            "CallSid": self.sid,
            "From": "+15005550006",
            "To": "+15005550001",
            "AccountSid": "AC" + "1" * 32,
        }
        signature = TwilioSignatures(AUTH_TOKEN).sign(PUBLIC + "/incoming_call", form)
        answer = await self.http.post(
            self.hosts.http(gateway) + "/incoming_call", data=form, headers={"X-Twilio-Signature": signature}
        )
        assert answer.status_code == 200, answer.text
        if "<Stream" not in answer.text:
            assert "<Say>" in answer.text and "<Hangup" in answer.text
            return False
        self.parameters = dict(parse_connect_stream(answer.text).parameters)
        return True

    async def stream_on(self, gateway: int) -> None:
        self.carrier = gateway
        signature = TwilioSignatures(AUTH_TOKEN).sign(websocket_url(PUBLIC, STREAM_PATH), {})
        self.ws = await connect(self.hosts.ws(gateway), additional_headers={"X-Twilio-Signature": signature})
        OPEN.append(self)
        await self.ws.send(self.stream.connected())
        await self.ws.send(self.stream.start(self.parameters))

    async def heard_back(self) -> None:
        """Say something and hear the agent (the echo pipeline) say it back."""
        assert self.ws is not None
        await self.ws.send(self.stream.media(b"\x33" * 160))
        async with asyncio.timeout(30):
            while json.loads(await self.ws.recv()).get("event") != "media":
                await self.ws.send(self.stream.media(b"\x33" * 160))

    async def ended_by_gateway(self) -> tuple[int, str]:
        """Listen, as Twilio does (each mark echoed once its audio has played), until the gateway closes."""
        assert self.ws is not None
        with pytest.raises(ConnectionClosed) as closed:
            async with asyncio.timeout(30):
                while True:
                    event = json.loads(await self.ws.recv())
                    if event.get("event") == "mark":
                        await self.ws.send(self.stream.mark(event["mark"]["name"]))
        assert closed.value.rcvd is not None
        return closed.value.rcvd.code, closed.value.rcvd.reason

    async def hang_up(self) -> None:
        assert self.ws is not None
        await self.ws.send(self.stream.stop())
        await self.ws.close()


OPEN: list[Call] = []  # sockets a failed test left open, closed at its end


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30) as client:
        yield client
    for call in OPEN:
        if call.ws is not None:
            await call.ws.close()
    OPEN.clear()


async def placed(hosts: Hosts, http: httpx.AsyncClient, webhook_on: int, stream_on: int) -> Call:
    call = Call(hosts, http)
    assert await call.webhook(webhook_on)
    await call.stream_on(stream_on)
    await call.heard_back()
    return call


class Console:
    """The operator's browser on one gateway. PUBLIC_BASE_URL is https, so the console's cookies are
    Secure, which a client sends only over https: this one carries them itself."""

    def __init__(self, http: httpx.AsyncClient, base: str) -> None:
        self.http = http
        self.base = base
        self.cookies: dict[str, str] = {}
        self.csrf = ""

    def _keep(self, response: httpx.Response) -> httpx.Response:
        self.cookies |= {cookie.name: cookie.value or "" for cookie in response.cookies.jar}
        return response

    def _headers(self) -> dict[str, str]:
        return {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}

    async def get(self, path: str) -> httpx.Response:
        return self._keep(await self.http.get(self.base + path, headers=self._headers()))

    async def post(self, path: str, form: dict[str, str]) -> httpx.Response:
        return self._keep(await self.http.post(self.base + path, data=form, headers=self._headers()))

    async def sign_in(self) -> None:
        login = {"password": PASSWORD, "csrf_token": _csrf((await self.get("/console/login")).text)}
        signed = await self.post("/console/login", login)
        assert signed.status_code == 303, signed.text
        self.csrf = _csrf((await self.get("/console")).text)

    async def live_until(self, until: Callable[[list[dict[str, object]]], bool]) -> list[dict[str, object]]:
        """Read the live calls (server-sent events) until `until(calls)` holds; those calls."""
        url = self.base + "/console/calls/live"
        async with asyncio.timeout(30), self.http.stream("GET", url, headers=self._headers()) as events:
            assert events.status_code == 200
            async for line in events.aiter_lines():
                if line.startswith("data: "):
                    calls: list[dict[str, object]] = json.loads(line[6:])
                    if until(calls):
                        return calls
        raise AssertionError("the live view ended")


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None, html
    return found.group(1)


async def test_calls_spread_over_both_gateways_and_every_agent_and_a_webhook_on_one_streams_on_the_other(
    hosts: Hosts, http: httpx.AsyncClient
) -> None:
    calls = []
    for n in range(6):
        calls.append(await placed(hosts, http, webhook_on=n % 2, stream_on=(n + 1) % 2))
        await calls[-1].hang_up()
    for n, call in enumerate(calls):
        carrier = hosts.gateways[(n + 1) % 2]
        await asyncio.to_thread(carrier.wait_for, f"AI_CALL_END call={call.sid}")
        assert not hosts.gateways[n % 2].matching(f"AI_CALL_START call={call.sid}")
    # Round-robin over the three addresses the one name resolves to.
    assert sorted({hosts.agent_of(call.sid) for call in calls}) == [0, 1, 2]


async def test_max_concurrent_calls_holds_across_both_gateways_under_a_burst(
    hosts: Hosts, http: httpx.AsyncClient
) -> None:
    burst = [Call(hosts, http) for _ in range(3 * MAX_CALLS)]
    admitted = await asyncio.gather(*(call.webhook(n % 2) for n, call in enumerate(burst)))
    assert sum(admitted) == MAX_CALLS
    live = [call for call, ok in zip(burst, admitted, strict=True) if ok]
    for n, call in enumerate(live):
        await call.stream_on(n % 2)
        await call.heard_back()
    late = Call(hosts, http)
    assert not await late.webhook(0) and not await late.webhook(1)
    await live[0].hang_up()
    await asyncio.to_thread(hosts.gateways[0].wait_for, f"LINE_FREED call={live[0].sid}")
    assert await late.webhook(1)  # the line freed on one gateway admits a call on the other
    for call in live[1:]:
        await call.hang_up()


async def test_the_console_on_one_gateway_shows_a_call_carried_by_the_other_and_hangs_it_up(
    hosts: Hosts, http: httpx.AsyncClient
) -> None:
    call = await placed(hosts, http, webhook_on=0, stream_on=1)
    console = Console(http, hosts.http(0))
    await console.sign_in()
    shown = await console.live_until(lambda calls: any(c["call_sid"] == call.sid for c in calls))
    (entry,) = [c for c in shown if c["call_sid"] == call.sid]
    assert entry["gateway"] == "gateway-2" and entry["caller"] == "+15005550006"
    hung_up = await console.post(f"/console/calls/{call.sid}/hangup", {"csrf_token": console.csrf})
    assert hung_up.status_code < 400, hung_up.text
    assert await call.ended_by_gateway() == (1000, "call ended by operator")
    await console.live_until(lambda calls: all(c["call_sid"] != call.sid for c in calls))
    assert hosts.gateways[1].wait_for(f"OPERATOR_HANGUP call={call.sid}")


async def test_a_gateway_killed_mid_call_leaves_the_others_calls_alone_and_its_own_leave_the_live_view(
    hosts: Hosts, http: httpx.AsyncClient
) -> None:
    survivor = await placed(hosts, http, webhook_on=1, stream_on=0)
    victim = await placed(hosts, http, webhook_on=0, stream_on=1)
    console = Console(http, hosts.http(0))
    await console.sign_in()
    both = {survivor.sid, victim.sid}
    await console.live_until(lambda calls: both <= {str(c["call_sid"]) for c in calls})
    hosts.gateways[1].kill()  # SIGKILL: no drain, no goodbye row
    await console.live_until(lambda calls: [c["call_sid"] for c in calls] == [survivor.sid])
    await survivor.heard_back()  # unaffected
    await survivor.hang_up()
    await asyncio.to_thread(hosts.gateways[0].wait_for, f"LINE_FREED call={survivor.sid}")
    # Both calls' records are stored (the dead gateway's up to its last write), and its line came back.
    for sid in both:
        page = await console.get(f"/console/calls/{sid}")
        assert page.status_code == 200 and "+15005550006" in page.text
    admitted = [await Call(hosts, http).webhook(0) for _ in range(MAX_CALLS + 1)]
    assert admitted == [True] * MAX_CALLS + [False]


async def test_an_agent_drained_with_sigterm_ends_its_calls_politely_and_new_calls_go_to_the_others(
    hosts: Hosts, http: httpx.AsyncClient
) -> None:
    by_agent: dict[int, Call] = {}  # one call on each replica; the others hung up (MAX_CALLS lines)
    for n in range(12):
        call = await placed(hosts, http, webhook_on=n % 2, stream_on=n % 2)
        agent = hosts.agent_of(call.sid)
        if agent not in by_agent:
            by_agent[agent] = call
            if len(by_agent) == AGENTS:
                break
            continue
        await call.hang_up()
        await asyncio.to_thread(hosts.gateways[call.carrier].wait_for, f"LINE_FREED call={call.sid}")
    on_drained = [by_agent[0]]
    elsewhere = [by_agent[1], by_agent[2]]
    drained = hosts.agents[0]
    drained.signal(signal.SIGTERM)
    for call in on_drained:
        assert await call.ended_by_gateway() == (1000, "call ended by agent")
    assert await asyncio.to_thread(drained.wait_exit) == 0
    for call in elsewhere:
        await call.heard_back()
        await call.hang_up()
    for call in [*on_drained, *elsewhere]:
        await asyncio.to_thread(hosts.gateways[call.carrier].wait_for, f"LINE_FREED call={call.sid}")
    later = [await placed(hosts, http, webhook_on=n % 2, stream_on=n % 2) for n in range(4)]
    assert 0 not in {hosts.agent_of(call.sid) for call in later}
    for call in later:
        await call.hang_up()


async def test_a_gateway_drained_with_sigterm_takes_no_new_call_says_goodbye_to_its_own_and_exits(
    hosts: Hosts, http: httpx.AsyncClient
) -> None:
    ours = await placed(hosts, http, webhook_on=0, stream_on=1)
    leaving = hosts.gateways[1]
    leaving.signal(signal.SIGTERM)
    await asyncio.to_thread(leaving.wait_for, "DRAIN_STARTED streams=1")
    assert (await http.get(hosts.http(1) + "/readyz")).status_code == 503
    assert not await Call(hosts, http).webhook(1)  # the busy message: Twilio's next call goes elsewhere
    other = await placed(hosts, http, webhook_on=0, stream_on=0)
    await ours.heard_back()  # within DRAIN_TIMEOUT_S the call goes on
    # Past it, Twilio is asked to say the goodbye, and then ends the stream, as Twilio does.
    line = await asyncio.to_thread(hosts.twilio_api.wait_for, f"/Calls/{ours.sid}.json", 30)
    twiml = json.loads(line.split(" ", 1)[1])["form"]["Twiml"]
    assert f"<Say>{GOODBYE}</Say><Hangup />" in twiml
    await ours.hang_up()
    assert await asyncio.to_thread(leaving.wait_exit) == 0
    assert leaving.matching("DRAIN_DONE left=0")
    console = Console(http, hosts.http(0))
    await console.sign_in()
    page = await console.get(f"/console/calls/{ours.sid}")
    assert page.status_code == 200 and "gateway shutting down" in page.text
    await other.heard_back()
    await other.hang_up()
