#!/usr/bin/env bash
# A transaction-mode PgBouncer in front of the test PostgreSQL, for the pooled-PostgreSQL tests.
#   scripts/pgbouncer.sh start DIR   starts it on a free port, writes DIR/port, prints the port
#   scripts/pgbouncer.sh stop DIR    stops the one started with DIR
# Upstream: KEYWARD_PG_HOST (127.0.0.1), KEYWARD_PG_PORT (5432), database `test`, user `postgres`.
# auth_type any: PgBouncer logs in upstream as the configured user whatever the client says.
set -euo pipefail
cmd=${1:-}
dir=${2:-}
if [[ -z "$cmd" || -z "$dir" ]]; then
  echo "usage: $0 start|stop DIR" >&2
  exit 2
fi
case "$cmd" in
  start)
    command -v pgbouncer >/dev/null || { echo "pgbouncer is not installed (apt-get install pgbouncer)" >&2; exit 3; }
    mkdir -p "$dir"
    port=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
    cat >"$dir/pgbouncer.ini" <<INI
[databases]
test = host=${KEYWARD_PG_HOST:-127.0.0.1} port=${KEYWARD_PG_PORT:-5432} dbname=test user=postgres

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = any
pool_mode = transaction
max_client_conn = 500
default_pool_size = 20
ignore_startup_parameters = extra_float_digits,options
pidfile = $dir/pgbouncer.pid
logfile = $dir/pgbouncer.log
INI
    user_args=()
    # PgBouncer refuses to run as root.
    if [[ $(id -u) -eq 0 ]]; then
      chown -R nobody "$dir" 2>/dev/null || chmod -R a+rwX "$dir"
      user_args=(-u nobody)
    fi
    pgbouncer -d "${user_args[@]}" "$dir/pgbouncer.ini"
    for _ in $(seq 1 50); do
      if node -e "require('net').connect($port,'127.0.0.1').on('connect',()=>process.exit(0)).on('error',()=>process.exit(1))" 2>/dev/null; then
        echo "$port" >"$dir/port"
        echo "$port"
        exit 0
      fi
      sleep 0.1
    done
    echo "pgbouncer did not start; its log:" >&2
    cat "$dir/pgbouncer.log" >&2 || true
    exit 1
    ;;
  stop)
    if [[ -f "$dir/pgbouncer.pid" ]]; then
      kill "$(cat "$dir/pgbouncer.pid")" 2>/dev/null || true
      for _ in $(seq 1 50); do
        [[ -f "$dir/pgbouncer.pid" ]] && kill -0 "$(cat "$dir/pgbouncer.pid")" 2>/dev/null || break
        sleep 0.1
      done
    fi
    ;;
  *)
    echo "usage: $0 start|stop DIR" >&2
    exit 2
    ;;
esac
