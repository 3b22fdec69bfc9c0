#!/usr/bin/env bash
# Start the whole stack on this machine: agent service, Baileys sidecar (once installed), and the gateway.
# Ctrl-C or SIGTERM stops them all; if one of them dies, the others are stopped too.
set -uo pipefail
cd "$(dirname "$0")"
export WS_MODE=${WS_MODE:-ECHO}
# The agent talks (heard with WS_MODE=AI); AGENT_PIPELINE=echo is the diagnostic that returns audio.
export AGENT_PIPELINE=${AGENT_PIPELINE:-conversation}
export PORT=${PORT:-8080}
PY=.venv/bin/python
[ -x "$PY" ] || PY=python3

pids=()
stop_all() {
  trap - INT TERM
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  wait
}
trap 'stop_all; exit 0' INT TERM

if [ -f agent_service/__main__.py ]; then
  "$PY" -m agent_service &
  pids+=($!)
fi
if [ -f baileys-bridge/package.json ] && [ -d baileys-bridge/node_modules ]; then
  npm --prefix baileys-bridge start --silent &
  pids+=($!)
fi
"$PY" -m voice_gateway &
pids+=($!)

wait -n "${pids[@]}"
status=$?
echo "start_all: a process exited (status $status); stopping the rest" >&2
stop_all
exit "$status"
