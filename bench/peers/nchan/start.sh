#!/usr/bin/env bash
# Starts nginx + nchan as a benchmark peer on 127.0.0.1 with its own prefix, config, logs and
# pid file (never /etc/nginx). Prints the master PID and the worker PIDs.
#
#   bench/peers/nchan/start.sh [port]        port: $1, else $NCHAN_PORT, else 8081
#
# Env: NCHAN_RUN_DIR (default ${TMPDIR:-/tmp}/ssehub-nchan-<port>), NGINX_BIN (default nginx),
# NCHAN_MODULE (default /usr/lib/nginx/modules/ngx_nchan_module.so).
# Needs Debian's packages: apt-get install -y nginx-light libnginx-mod-nchan
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
port="${1:-${NCHAN_PORT:-8081}}"
run_dir="${NCHAN_RUN_DIR:-${TMPDIR:-/tmp}/ssehub-nchan-${port}}"
nginx_bin="${NGINX_BIN:-nginx}"
module="${NCHAN_MODULE:-/usr/lib/nginx/modules/ngx_nchan_module.so}"
pid_file="${run_dir}/nginx.pid"

if ! [[ "$port" =~ ^[0-9]+$ ]] || ((port < 1 || port > 65535)); then
  echo "nchan: port must be a number from 1 to 65535, got '${port}'" >&2
  exit 2
fi
if ! command -v "$nginx_bin" >/dev/null 2>&1; then
  echo "nchan: ${nginx_bin} not found; install it with: apt-get install -y nginx-light libnginx-mod-nchan" >&2
  exit 1
fi
if [[ ! -f "$module" ]]; then
  echo "nchan: module ${module} not found; install it with: apt-get install -y libnginx-mod-nchan" >&2
  exit 1
fi
if [[ -f "$pid_file" ]] && kill -0 "$(cat "$pid_file")" 2>/dev/null; then
  echo "nchan: already running with master PID $(cat "$pid_file") (stop it with ${here}/stop.sh ${port})" >&2
  exit 1
fi

mkdir -p "$run_dir"
# Workers run as an unprivileged user when nginx starts as root: they must reach the run dir.
chmod 755 "$run_dir"
rm -f "$pid_file" "${run_dir}/pids"
sed -e "s|@RUN_DIR@|${run_dir}|g" -e "s|@PORT@|${port}|g" -e "s|@NCHAN_MODULE@|${module}|g" \
  "${here}/nginx.conf.template" >"${run_dir}/nginx.conf"

# -e: the error log nginx uses before it has read the config.
"$nginx_bin" -p "${run_dir}/" -c "${run_dir}/nginx.conf" -e "${run_dir}/error.log"

# With `daemon on` nginx returns once the master has forked; wait for its workers.
master=""
workers=""
for _ in $(seq 1 100); do
  if [[ -s "$pid_file" ]]; then
    master="$(cat "$pid_file")"
    workers="$(pgrep -P "$master" | tr '\n' ' ' | sed 's/ *$//' || true)"
    if [[ $(wc -w <<<"$workers") -ge 2 ]]; then break; fi
  fi
  sleep 0.05
done
if [[ -z "$master" ]] || ! kill -0 "$master" 2>/dev/null; then
  echo "nchan: nginx did not start; see ${run_dir}/error.log:" >&2
  tail -n 20 "${run_dir}/error.log" >&2 || true
  exit 1
fi

echo "$master $workers" >"${run_dir}/pids"
echo "nchan listening on http://127.0.0.1:${port} (GET /sub/<topic>, POST /pub/<topic>)"
echo "run dir: ${run_dir}"
echo "master pid: ${master}"
echo "worker pids: ${workers}"
