"""`python -m agent_service`: configure from the environment, serve, stop cleanly on SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import signal
import sys

from agent_service.errors import ProviderError
from agent_service.server import serve
from agent_service.settings import AgentSettings, SettingsError
from agentlocator_common import logs


def main() -> int:
    try:
        settings = AgentSettings.from_env()
    except SettingsError as e:
        print(f"agent_service: configuration error: {e}", file=sys.stderr, flush=True)
        return 2
    # The gateway's log set-up, so both services' lines look alike (and carry call_sid/stream_sid).
    logs.configure(settings.log_level, settings.log_format)
    try:
        asyncio.run(_run(settings))
        # asyncio.run restored the default handlers; a supervisor repeating SIGTERM while the interpreter
        # tears down must not turn a clean drain into exit code -15.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    except RuntimeError as e:
        # grpc reports a failed bind as RuntimeError; one line beats a traceback for an operator.
        print(
            f"agent_service: cannot serve on AGENT_LISTEN={settings.listen}: {e}", file=sys.stderr, flush=True
        )
        return 1
    except OSError as e:
        print(
            f"agent_service: cannot serve metrics on AGENT_METRICS_LISTEN={settings.metrics_listen}: {e}",
            file=sys.stderr,
            flush=True,
        )
        return 1
    except ProviderError as e:
        # E.g. LLM_PROVIDER=local before `make local-llm`: the message says what to run.
        print(
            f"agent_service: the brain cannot start (LLM_PROVIDER={settings.llm_provider}): {e.message}",
            file=sys.stderr,
            flush=True,
        )
        return 2
    return 0


async def _run(settings: AgentSettings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await serve(settings, stop)


if __name__ == "__main__":
    sys.exit(main())
