"""The agent service's configuration: read from the environment once, at start-up, into a frozen object.

This is the only module that looks at environment variables; everything else receives `AgentSettings`.
A wrong value stops start-up with one line naming the variable, so a typo never becomes a silent default.
It is a leaf: the names it accepts are listed here and the parts that implement them (composition.py,
the brain and speech registries) import this module, never the other way round. The knowledge loader,
itself a leaf, is the one exception, so that a malformed knowledge file stops start-up here too.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from agent_service.knowledge import DEMO_KNOWLEDGE_FILE, KnowledgeError, load_knowledge
from agent_service.settings_calendar import CalendarSettings
from agent_service.settings_turns import TurnSettings
from agent_service.settings_values import boolean, finite_float, fraction, integer, one_of

T = TypeVar("T")

_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
PIPELINES = ("conversation", "echo")
LLM_PROVIDERS = ("receptionist", "local", "openai")
LOCAL_LLMS = ("qwen1.5b", "qwen0.5b")
VAD_PROVIDERS = ("silero",)
STT_PROVIDERS = ("whisper", "openai")
STT_HINTS = ("hotwords", "prompt", "off")
TTS_PROVIDERS = ("piper", "openai")


class SettingsError(ValueError):
    """A configuration value is invalid; the message names the variable."""


@dataclass(frozen=True, slots=True)
class AgentSettings:
    listen: str = "127.0.0.1:50051"
    pipeline: str = "conversation"  # `echo` is the diagnostic: the caller's audio back, no models
    max_calls: int = 100
    shutdown_grace_s: float = 5.0
    echo_utterance_ms: int = 1000
    metrics_interval_s: float = 5.0
    session_start_timeout_s: float = 10.0
    # Server-side HTTP/2 keepalive: ping an idle connection this often, drop it if no ack in time.
    keepalive_time_s: float = 20.0
    keepalive_timeout_s: float = 10.0
    # Clients may ping this often without being sent GOAWAY(too_many_pings); keep it at or below the
    # gateway's keepalive time or its channel gets torn down mid-call.
    keepalive_min_client_ping_s: float = 10.0
    # A graceful GOAWAY after this long makes the gateway find replicas added since (server.py); 0: never.
    max_connection_age_s: float = 120.0
    max_message_bytes: int = 4 * 1024 * 1024
    chat_history_turns: int = 20
    chat_max_conversations: int = 1000
    log_level: str = "INFO"
    log_format: str = "text"
    # Prometheus /metrics (agent_service/metrics.py), on its own port so it never shares the gRPC listener.
    metrics_listen: str = "127.0.0.1:9464"
    # The brain (agent_service/brain): which one, what it knows, where it keeps conversations and messages.
    data_dir: Path = Path("data")
    knowledge_file: Path = DEMO_KNOWLEDGE_FILE
    llm_provider: str = "receptionist"
    llm_hybrid: bool = True  # the receptionist answers what it is sure of; the LLM gets the rest
    brain_confidence: float = 0.6
    local_llm: str = "qwen1.5b"
    local_llm_model: str = ""  # a GGUF path; empty: the verified LOCAL_LLM model under data_dir/models
    local_llm_threads: int = 2
    llm_base_url: str = "https://api.openai.com/v1"
    llm_api_key: str = ""
    llm_model: str = "gpt-4o-mini"
    llm_timeout_s: float = 10.0
    llm_max_retries: int = 2
    llm_max_tokens: int = 120
    # Speech (agent_service/speech, the `conversation` pipeline): providers, endpoints, turn-taking.
    vad_provider: str = "silero"
    stt_provider: str = "whisper"
    tts_provider: str = "piper"
    stt_threads: int = 1
    stt_language: str = "en"
    stt_base_url: str = "https://api.openai.com/v1"
    stt_api_key: str = ""
    stt_model: str = "whisper-1"
    stt_hints: str = "prompt"  # the knowledge file's words given to Whisper: prompt, hotwords or off
    tts_base_url: str = "https://api.openai.com/v1"
    tts_api_key: str = ""
    tts_model: str = "tts-1"
    tts_voice: str = "alloy"
    speech_timeout_s: float = 10.0
    greeting: str = ""  # empty: the knowledge file's greeting
    warm_up: bool = True  # load the pipeline's models right after start-up, not on the first call
    no_input_s: float = 8.0
    hangover_ms: int = 800  # answers come fast now: a shorter one talks over pauses (docs/benchmarks.md)
    barge_in_ms: int = 180
    min_speech_ms: int = 100
    vad_threshold: float = 0.5
    calendar: CalendarSettings = CalendarSettings()  # appointments (settings_calendar.py)
    turns: TurnSettings = TurnSettings()  # how fast a turn is answered (settings_turns.py)

    @property
    def listen_host(self) -> str:
        return self.listen.rsplit(":", 1)[0]

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> AgentSettings:
        env = os.environ if env is None else env
        read = _Reader(env)
        d = cls()  # slots=True turns class attributes into descriptors, so defaults come from an instance
        return cls(
            listen=read.parse("AGENT_LISTEN", _listen, d.listen),
            pipeline=read.parse("AGENT_PIPELINE", one_of(sorted(PIPELINES), "pipeline"), d.pipeline),
            max_calls=read.parse("AGENT_MAX_CALLS", _positive_int, d.max_calls),
            shutdown_grace_s=read.parse("AGENT_SHUTDOWN_GRACE_S", _non_negative_float, d.shutdown_grace_s),
            echo_utterance_ms=read.parse("AGENT_ECHO_UTTERANCE_MS", _positive_int, d.echo_utterance_ms),
            metrics_interval_s=read.parse(
                "AGENT_METRICS_INTERVAL_S", _non_negative_float, d.metrics_interval_s
            ),
            session_start_timeout_s=read.parse(
                "AGENT_SESSION_START_TIMEOUT_S", _positive_float, d.session_start_timeout_s
            ),
            keepalive_time_s=read.parse("AGENT_KEEPALIVE_TIME_S", _positive_float, d.keepalive_time_s),
            keepalive_timeout_s=read.parse(
                "AGENT_KEEPALIVE_TIMEOUT_S", _positive_float, d.keepalive_timeout_s
            ),
            keepalive_min_client_ping_s=read.parse(
                "AGENT_KEEPALIVE_MIN_CLIENT_PING_S", _positive_float, d.keepalive_min_client_ping_s
            ),
            max_connection_age_s=read.parse(
                "AGENT_MAX_CONNECTION_AGE_S", _non_negative_float, d.max_connection_age_s
            ),
            max_message_bytes=read.parse("AGENT_MAX_MESSAGE_BYTES", _positive_int, d.max_message_bytes),
            chat_history_turns=read.parse("AGENT_CHAT_HISTORY_TURNS", _positive_int, d.chat_history_turns),
            chat_max_conversations=read.parse(
                "AGENT_CHAT_MAX_CONVERSATIONS", _positive_int, d.chat_max_conversations
            ),
            log_level=read.parse("LOG_LEVEL", _log_level, d.log_level),
            log_format=read.parse("LOG_FORMAT", _log_format, d.log_format),
            metrics_listen=read.parse(
                "AGENT_METRICS_LISTEN",
                _listen,
                _metrics_listen_for(read.parse("AGENT_LISTEN", _listen, d.listen)),
            ),
            data_dir=read.parse("AGENT_DATA_DIR", Path, d.data_dir),
            knowledge_file=read.parse("KNOWLEDGE_FILE", _knowledge_file, d.knowledge_file),
            llm_provider=read.parse("LLM_PROVIDER", one_of(list(LLM_PROVIDERS), "provider"), d.llm_provider),
            llm_hybrid=read.parse("LLM_HYBRID", boolean, d.llm_hybrid),
            brain_confidence=read.parse("BRAIN_CONFIDENCE", fraction, d.brain_confidence),
            local_llm=read.parse("LOCAL_LLM", one_of(list(LOCAL_LLMS), "local model"), d.local_llm),
            local_llm_model=read.parse("LOCAL_LLM_MODEL", str, d.local_llm_model),
            local_llm_threads=read.parse("LOCAL_LLM_THREADS", _positive_int, d.local_llm_threads),
            llm_base_url=read.parse("LLM_BASE_URL", _http_url, d.llm_base_url),
            llm_api_key=read.parse("LLM_API_KEY", str, d.llm_api_key),
            llm_model=read.parse("LLM_MODEL", str, d.llm_model),
            llm_timeout_s=read.parse("LLM_TIMEOUT_S", _positive_float, d.llm_timeout_s),
            llm_max_retries=read.parse("LLM_MAX_RETRIES", _non_negative_int, d.llm_max_retries),
            llm_max_tokens=read.parse("LLM_MAX_TOKENS", _positive_int, d.llm_max_tokens),
            vad_provider=read.parse("VAD_PROVIDER", one_of(list(VAD_PROVIDERS), "provider"), d.vad_provider),
            stt_provider=read.parse("STT_PROVIDER", one_of(list(STT_PROVIDERS), "provider"), d.stt_provider),
            tts_provider=read.parse("TTS_PROVIDER", one_of(list(TTS_PROVIDERS), "provider"), d.tts_provider),
            stt_threads=read.parse("STT_THREADS", _positive_int, d.stt_threads),
            stt_language=read.parse("STT_LANGUAGE", str, d.stt_language),
            stt_base_url=read.parse("STT_BASE_URL", _http_url, d.stt_base_url),
            stt_api_key=read.parse("STT_API_KEY", str, d.stt_api_key),
            stt_model=read.parse("STT_MODEL", str, d.stt_model),
            stt_hints=read.parse("STT_HINTS", one_of(list(STT_HINTS), "mode"), d.stt_hints),
            tts_base_url=read.parse("TTS_BASE_URL", _http_url, d.tts_base_url),
            tts_api_key=read.parse("TTS_API_KEY", str, d.tts_api_key),
            tts_model=read.parse("TTS_MODEL", str, d.tts_model),
            tts_voice=read.parse("TTS_VOICE", str, d.tts_voice),
            speech_timeout_s=read.parse("SPEECH_TIMEOUT_S", _positive_float, d.speech_timeout_s),
            greeting=read.parse("AGENT_GREETING", str, d.greeting),
            warm_up=read.parse("AGENT_WARM_UP", boolean, d.warm_up),
            no_input_s=read.parse("AGENT_NO_INPUT_S", _positive_float, d.no_input_s),
            hangover_ms=read.parse("AGENT_HANGOVER_MS", _positive_int, d.hangover_ms),
            barge_in_ms=read.parse("AGENT_BARGE_IN_MS", _positive_int, d.barge_in_ms),
            min_speech_ms=read.parse("AGENT_MIN_SPEECH_MS", _positive_int, d.min_speech_ms),
            vad_threshold=read.parse("AGENT_VAD_THRESHOLD", fraction, d.vad_threshold),
            calendar=CalendarSettings.from_env(read),
            turns=TurnSettings.from_env(read),
        )


class _Reader:
    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env

    def parse(self, name: str, parse: Callable[[str], T], default: T) -> T:
        raw = self._env.get(name, "").strip()
        if not raw:
            return default
        try:
            return parse(raw)
        except ValueError as e:
            raise SettingsError(f"{name}={raw!r}: {e}") from None


def _listen(raw: str) -> str:
    host, sep, port = raw.rpartition(":")
    if not sep or not host:
        raise ValueError("expected HOST:PORT, e.g. 127.0.0.1:50051 ([::]:0 picks a free port)")
    _port(port)
    return raw


def _port(raw: str) -> int:
    value = integer(raw)
    if not 0 <= value <= 65535:
        raise ValueError("port must be between 0 and 65535")
    return value


def _positive_int(raw: str) -> int:
    value = integer(raw)
    if value <= 0:
        raise ValueError("must be a positive integer")
    return value


def _non_negative_float(raw: str) -> float:
    value = finite_float(raw)
    if value < 0:
        raise ValueError("must be zero or more")
    return value


def _positive_float(raw: str) -> float:
    value = finite_float(raw)
    if value <= 0:
        raise ValueError("must be more than zero")
    return value


def _metrics_listen_for(listen: str) -> str:
    # Same host as gRPC, port 9464; an agent on an ephemeral gRPC port (tests, several agents on one host)
    # gets an ephemeral metrics port too, so the default never collides.
    host, _, port = listen.rpartition(":")
    return f"{host}:{0 if port == '0' else 9464}"


def _log_format(raw: str) -> str:
    lowered = raw.lower()
    if lowered not in ("text", "json"):
        raise ValueError("expected text or json")
    return lowered


def _log_level(raw: str) -> str:
    level = raw.upper()
    if level not in _LOG_LEVELS:
        raise ValueError(f"expected one of {', '.join(_LOG_LEVELS)}")
    return level


def _knowledge_file(raw: str) -> Path:
    # Parsed here, not first at serve time, so a malformed file stops start-up with one line naming it.
    path = Path(raw)
    try:
        load_knowledge(path)
    except KnowledgeError as e:
        raise ValueError(str(e)) from None
    return path


def _non_negative_int(raw: str) -> int:
    value = integer(raw)
    if value < 0:
        raise ValueError("must be zero or more")
    return value


def _http_url(raw: str) -> str:
    if not raw.startswith(("http://", "https://")):
        raise ValueError("expected an http:// or https:// URL")
    return raw.rstrip("/")
