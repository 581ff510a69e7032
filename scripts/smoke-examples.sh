#!/usr/bin/env bash
# Starts each example server (Express, Koa, Hono) on a free port, makes one allowed and one
# refused request against it, then runs the demo and every curl line it prints. Exits non-zero on
# any mismatch. Then runs the login example's walkthrough (2FA, tokens, refresh, logout). Kills the servers it started, and only those, on the way out.
set -uo pipefail
cd "$(dirname "$0")/.."
logs=$(mktemp -d)
pids=()
failures=0
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  rm -rf "$logs"
}
trap cleanup EXIT

fail() { echo "FAIL $*"; failures=$((failures + 1)); }

# Starts `file` with PORT=0 (the OS picks a free port); sets `url` and `key` from what it prints.
launch() {
  local name=$1 file=$2 log="$logs/$1.log"
  url='' key=''
  PORT=0 node --import tsx "$file" >"$log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 150); do
    grep -qs 'listening on\|demo:' "$log" && grep -qs 'bsk_live_' "$log" && break
    kill -0 "${pids[-1]}" 2>/dev/null || break
    sleep 0.2
  done
  url=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$log" | head -n 1)
  key=$(grep -o 'bsk_live_[A-Za-z0-9]*' "$log" | head -n 1)
  if [ -z "$url" ] || [ -z "$key" ]; then
    fail "$name did not start:"
    cat "$log"
    return 1
  fi
}

# expect <label> <status> <curl args...>
expect() {
  local label=$1 want=$2
  shift 2
  local got
  got=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$@")
  if [ "$got" = "$want" ]; then echo "ok   $label: $got"; else fail "$label: expected $want, got $got"; fi
}

for name in express koa hono; do
  launch "$name" "examples/$name-server.ts" || continue
  expect "$name allowed (stats with the key)" 200 "$url/api/projects/prod-site/stats" -H "Authorization: Bearer $key"
  expect "$name refused (track without a key)" 401 -X POST "$url/api/track" -H 'Content-Type: application/json' -d '{"projectId":"prod-site"}'
  kill "${pids[-1]}" 2>/dev/null
done

# The demo: every printed curl line must give the status its `# expect` comment announces.
if launch demo examples/demo.ts; then
  want=''
  while IFS= read -r line; do
    case "$line" in
      '# expect '*) want=${line#\# expect }; want=${want%%:*} ;;
      curl*|for*)
        [ -n "$want" ] || continue
        got=$(bash -c "$line" | tail -n 1 | xargs)
        if [ "$got" = "$want" ]; then echo "ok   demo: $got"; else fail "demo line gave '$got', expected '$want': $line"; fi
        want=''
        ;;
    esac
  done <"$logs/demo.log"
  [ "$(grep -c '^# expect ' "$logs/demo.log")" -ge 6 ] || fail 'demo printed fewer than 6 curl lines'
fi

# The login example: its walkthrough starts the server and checks every step of the flow.
if node --import tsx examples/login-server/walkthrough.ts; then echo 'ok   login walkthrough'; else fail 'login walkthrough'; fi

if [ "$failures" -gt 0 ]; then
  echo "$failures smoke check(s) failed"
  exit 1
fi
echo 'examples smoke: all good'
