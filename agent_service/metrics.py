"""The agent's Prometheus metrics, served over plain HTTP on AGENT_METRICS_LISTEN (not the gRPC port).

Counters are bumped where things happen (call.py counts frames, servicer.py counts calls); the
active-calls gauge reads the servicer's own admission count at scrape time, so it cannot drift.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from wsgiref.simple_server import WSGIServer

from prometheus_client import Counter, Gauge, Histogram, start_http_server

log = logging.getLogger(__name__)

ACTIVE_CALLS = Gauge("agentlocator_agent_active_calls", "Converse streams admitted and not yet finished")
CALLS = Counter("agentlocator_agent_calls", "Converse streams by how they ended", ["outcome"])
CALLS_REJECTED = Counter(
    "agentlocator_agent_calls_rejected", "Converse streams refused before admission", ["code"]
)
CHATS_REFUSED = Counter(
    "agentlocator_agent_chats_refused",
    "Chat requests refused as INVALID_ARGUMENT, by the field "
    "(conversation_id, text, from_address, request_id, metadata)",
    ["field"],
)
MESSAGES_TAKEN = Counter(
    "agentlocator_agent_messages_taken", "Messages taken for the business, by channel", ["channel"]
)
MESSAGES_ACKNOWLEDGED = Counter(
    "agentlocator_agent_messages_acknowledged", "Messages taken on calls that the gateway confirmed storing"
)
MESSAGES_UNACKNOWLEDGED = Counter(
    "agentlocator_agent_messages_unacknowledged",
    "Messages taken on calls written off unacknowledged (kept in the agent's journal only)",
)
LLM_TOOL_CALLS = Counter(
    "agentlocator_agent_llm_tool_calls",
    "LLM tool calls by tool (a registered name or 'unknown') and status "
    "(ok, invalid, refused, unknown, failed, over_limit)",
    ["tool", "status"],
)
LLM_TOOL_ROUND_LIMITS = Counter(
    "agentlocator_agent_llm_tool_round_limits",
    "Turns whose LLM was still calling tools after the last round allowed (the caller got a polite stop)",
)
KNOWLEDGE_VERSIONS = Counter(
    "agentlocator_agent_knowledge_versions",
    "Knowledge versions the gateway sent, by what became of them: built (validated and its brain built), "
    "refused (invalid: the request is answered from the start-up knowledge)",
    ["outcome"],
)
FRAMES = Counter("agentlocator_agent_frames", "Converse audio frames", ["direction"])
FRAMES_IN = FRAMES.labels("in")
FRAMES_OUT = FRAMES.labels("out")
TURN_STAGES = Histogram(
    "agentlocator_agent_turn_stage_seconds",
    "Per-turn voice latency by stage: endpointing, stt (stt_queue: its wait for a worker),"
    " llm_first_token, tts_first_audio, voice_to_voice",
    ["stage"],
    buckets=(0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0),
)
SPECULATIVE_STT = Counter(
    "agentlocator_agent_speculative_stt",
    "Transcriptions started at a caller's pause: hit (the turn ended there and used it), miss (the turn"
    " ended elsewhere and was transcribed again), dropped (the caller went on speaking)",
    ["outcome"],
)
END_OF_TURN = Counter(
    "agentlocator_agent_end_of_turn",
    "User turns by what ended them: silence (the fixed hangover; with AGENT_END_OF_TURN=text also a"
    " fragment too short to judge), complete / incomplete (the end-of-turn model's or the transcript's"
    " answer), undecided (no answer in time), fallback (the model failed), max_length",
    ["decision"],
)
TTS_CACHE = Counter(
    "agentlocator_agent_tts_cache",
    "Sentences to say: hit (kept from an earlier time, no synthesis), miss (synthesised)",
    ["outcome"],
)


def observe_turn(stages: dict[str, float]) -> None:
    """Record one turn's stage latencies (seconds); stages the turn never reached are absent."""
    for stage, seconds in stages.items():
        TURN_STAGES.labels(stage).observe(seconds)


# Call.end_reason starts with one of these (call.py, servicer.py); anything else is "other".
_OUTCOME_PREFIXES = (
    ("hangup", "hangup"),
    ("client closed stream", "client_closed"),
    ("cancelled", "cancelled"),
    ("agent ended the call", "agent_ended"),
    ("server shutting down", "shutdown"),
    ("error", "error"),
)


def outcome_of(end_reason: str) -> str:
    """A bounded label for a call's free-text end reason."""
    return next((label for prefix, label in _OUTCOME_PREFIXES if end_reason.startswith(prefix)), "other")


def track_active_calls(count: Callable[[], int]) -> None:
    ACTIVE_CALLS.set_function(lambda: float(count()))


@dataclass(frozen=True, slots=True)
class MetricsServer:
    server: WSGIServer
    thread: threading.Thread
    port: int

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def start_metrics_server(listen: str) -> MetricsServer:
    """Serve /metrics on HOST:PORT in a daemon thread (port 0 picks a free one); raise OSError if taken."""
    host, _, port = listen.rpartition(":")
    server, thread = start_http_server(int(port), host.strip("[]"))
    return MetricsServer(server=server, thread=thread, port=int(server.server_port))
