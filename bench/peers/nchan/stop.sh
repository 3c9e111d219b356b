#!/usr/bin/env bash
# Stops the nginx + nchan peer started by start.sh: signals exactly the master PID in its pid
# file and waits until it and its workers have exited. The run dir (config, error log) stays.
#
#   bench/peers/nchan/stop.sh [port]         port: $1, else $NCHAN_PORT, else 8081
set -euo pipefail

port="${1:-${NCHAN_PORT:-8081}}"
run_dir="${NCHAN_RUN_DIR:-${TMPDIR:-/tmp}/ssehub-nchan-${port}}"
pid_file="${run_dir}/nginx.pid"

if [[ ! -s "$pid_file" ]]; then
  echo "nchan: not running (no pid file at ${pid_file})"
  exit 0
fi
master="$(cat "$pid_file")"
if ! kill -0 "$master" 2>/dev/null; then
  echo "nchan: not running (stale pid file for PID ${master})"
  rm -f "$pid_file" "${run_dir}/pids"
  exit 0
fi
if [[ "$(ps -o comm= -p "$master")" != nginx ]]; then
  echo "nchan: PID ${master} in ${pid_file} is not nginx; leaving it alone" >&2
  exit 1
fi

workers="$(pgrep -P "$master" | tr '\n' ' ' || true)"
# TERM: fast shutdown; open event streams are closed rather than waited for.
kill -TERM "$master"
for _ in $(seq 1 100); do
  alive=0
  for pid in $master $workers; do
    if kill -0 "$pid" 2>/dev/null; then alive=1; fi
  done
  if ((alive == 0)); then
    rm -f "$pid_file" "${run_dir}/pids"
    echo "nchan: stopped (master PID ${master})"
    exit 0
  fi
  sleep 0.1
done
echo "nchan: master PID ${master} still running after 10 s" >&2
exit 1
