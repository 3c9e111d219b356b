#!/usr/bin/env bash
# Starts the better-sse peer (server.mjs) on 127.0.0.1 in the background, with a pid file and
# a log in its run dir. Prints its PID.
#
#   bench/peers/better-sse/start.sh [port]   port: $1, else $BETTER_SSE_PORT, else 8082
#
# Env: BETTER_SSE_RUN_DIR (default ${TMPDIR:-/tmp}/ssehub-better-sse-<port>), NODE_BIN (default
# node). Needs `npm install --prefix bench` once.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bench_dir="$(cd "${here}/../.." && pwd)"
port="${1:-${BETTER_SSE_PORT:-8082}}"
run_dir="${BETTER_SSE_RUN_DIR:-${TMPDIR:-/tmp}/ssehub-better-sse-${port}}"
node_bin="${NODE_BIN:-node}"
pid_file="${run_dir}/server.pid"
log_file="${run_dir}/server.log"

if ! [[ "$port" =~ ^[0-9]+$ ]] || ((port < 1 || port > 65535)); then
  echo "better-sse: port must be a number from 1 to 65535, got '${port}'" >&2
  exit 2
fi
if [[ ! -d "${bench_dir}/node_modules/better-sse" ]]; then
  echo "better-sse: not installed; run: npm install --prefix ${bench_dir}" >&2
  exit 1
fi
if [[ -f "$pid_file" ]] && kill -0 "$(cat "$pid_file")" 2>/dev/null; then
  echo "better-sse: already running with PID $(cat "$pid_file") (stop it with ${here}/stop.sh ${port})" >&2
  exit 1
fi

mkdir -p "$run_dir"
rm -f "$pid_file"
nohup "$node_bin" "${here}/server.mjs" "$port" >"$log_file" 2>&1 </dev/null &
pid=$!
echo "$pid" >"$pid_file"

# Ready once it has logged that it listens.
for _ in $(seq 1 100); do
  if grep -q "listening" "$log_file" 2>/dev/null; then
    echo "better-sse listening on http://127.0.0.1:${port} (GET /events/<topic>, POST /publish/<topic>)"
    echo "run dir: ${run_dir}"
    echo "pid: ${pid}"
    exit 0
  fi
  if ! kill -0 "$pid" 2>/dev/null; then break; fi
  sleep 0.05
done
echo "better-sse: server did not start; ${log_file}:" >&2
tail -n 20 "$log_file" >&2 || true
if kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid"; fi
rm -f "$pid_file"
exit 1
