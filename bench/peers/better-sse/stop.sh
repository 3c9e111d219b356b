#!/usr/bin/env bash
# Stops the better-sse peer started by start.sh: signals exactly the PID in its pid file and
# waits until it has exited. The run dir (log) stays.
#
#   bench/peers/better-sse/stop.sh [port]    port: $1, else $BETTER_SSE_PORT, else 8082
set -euo pipefail

port="${1:-${BETTER_SSE_PORT:-8082}}"
run_dir="${BETTER_SSE_RUN_DIR:-${TMPDIR:-/tmp}/ssehub-better-sse-${port}}"
pid_file="${run_dir}/server.pid"

if [[ ! -s "$pid_file" ]]; then
  echo "better-sse: not running (no pid file at ${pid_file})"
  exit 0
fi
pid="$(cat "$pid_file")"
if ! kill -0 "$pid" 2>/dev/null; then
  echo "better-sse: not running (stale pid file for PID ${pid})"
  rm -f "$pid_file"
  exit 0
fi
if [[ "$(ps -o args= -p "$pid")" != *better-sse/server.mjs* ]]; then
  echo "better-sse: PID ${pid} in ${pid_file} is not the better-sse peer; leaving it alone" >&2
  exit 1
fi

kill -TERM "$pid"
for _ in $(seq 1 100); do
  if ! kill -0 "$pid" 2>/dev/null; then
    rm -f "$pid_file"
    echo "better-sse: stopped (PID ${pid})"
    exit 0
  fi
  sleep 0.1
done
echo "better-sse: PID ${pid} still running after 10 s" >&2
exit 1
