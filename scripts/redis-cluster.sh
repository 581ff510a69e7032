#!/usr/bin/env bash
# A throwaway local Redis Cluster of three masters (no replicas, nothing persisted), for tests and benches.
#   scripts/redis-cluster.sh start [dir]   starts it on three free ports; prints the ports, one line, space-separated
#   scripts/redis-cluster.sh stop  [dir]   stops it and removes its directory
# dir defaults to $KEYWARD_REDIS_CLUSTER_DIR or /tmp/keyward-redis-cluster; the ports are written to dir/ports.
set -euo pipefail
command=${1:-}
dir=${2:-${KEYWARD_REDIS_CLUSTER_DIR:-/tmp/keyward-redis-cluster}}

free_port() {
  # Ask the kernel for a free port (bind to 0), as the tests do.
  node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"
}

stop() {
  [ -f "$dir/ports" ] || { rm -rf "$dir"; return 0; }
  for port in $(cat "$dir/ports"); do
    redis-cli -h 127.0.0.1 -p "$port" shutdown nosave >/dev/null 2>&1 || true
  done
  for port in $(cat "$dir/ports"); do
    [ -f "$dir/$port/pid" ] && kill "$(cat "$dir/$port/pid")" 2>/dev/null || true
  done
  rm -rf "$dir"
}

start() {
  stop
  mkdir -p "$dir"
  ports=""
  while [ "$(echo $ports | wc -w)" -lt 3 ]; do
    port=$(free_port)
    # Cluster nodes also listen on port + 10000 (the cluster bus): that must be free too.
    [ "$port" -lt 55535 ] || continue
    case " $ports " in *" $port "*) continue ;; esac
    ports="$ports $port"
  done
  ports=$(echo $ports)
  echo "$ports" >"$dir/ports"
  for port in $ports; do
    mkdir -p "$dir/$port"
    redis-server --port "$port" --bind 127.0.0.1 --cluster-enabled yes --cluster-config-file "$dir/$port/nodes.conf" \
      --cluster-node-timeout 5000 --save "" --appendonly no --dir "$dir/$port" --daemonize yes \
      --pidfile "$dir/$port/pid" --logfile "$dir/$port/log"
  done
  for port in $ports; do
    for _ in $(seq 1 50); do redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  done
  # shellcheck disable=SC2046
  redis-cli --cluster create $(for p in $ports; do printf '127.0.0.1:%s ' "$p"; done) --cluster-replicas 0 --cluster-yes >"$dir/create.log" 2>&1 ||
    { cat "$dir/create.log" >&2; stop; exit 1; }
  for port in $ports; do
    ok=""
    for _ in $(seq 1 100); do
      if redis-cli -h 127.0.0.1 -p "$port" cluster info 2>/dev/null | grep -q '^cluster_state:ok'; then ok=1; break; fi
      sleep 0.1
    done
    [ -n "$ok" ] || { echo "redis-cluster: node $port never reached cluster_state:ok" >&2; stop; exit 1; }
  done
  echo "$ports"
}

case "$command" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop [dir]" >&2; exit 2 ;;
esac
