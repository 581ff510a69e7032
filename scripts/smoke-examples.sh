#!/usr/bin/env bash
# Starts each example server (Express, Koa, Hono, the login server, the key management UI) and the demo on a free port,
# and runs every curl line it prints, checking the status its `# expect` comment announces (plus
# one allowed and one refused request of its own on the three tracking servers). Then runs the
# login example's walkthrough (2FA, tokens, refresh, logout). Exits non-zero on any mismatch.
# Kills the servers it started, and only those, on the way out.
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

# Starts `file` with PORT=0 (the OS picks a free port); sets `url` (and `key`, when it prints an
# API key) from what it prints. Every example prints "Paste these:" once it is ready.
launch() {
  local name=$1 file=$2 log="$logs/$1.log"
  url='' key=''
  PORT=0 node --import tsx "$file" >"$log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 150); do
    grep -qs '^Paste these' "$log" && break
    kill -0 "${pids[-1]}" 2>/dev/null || break
    sleep 0.2
  done
  url=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$log" | head -n 1)
  key=$(grep -o 'bsk_live_[A-Za-z0-9]*' "$log" | head -n 1)
  if [ -z "$url" ] || ! grep -qs '^Paste these' "$log"; then
    fail "$name did not start:"
    cat "$log"
    return 1
  fi
}

# Runs every curl line `name` printed: each must give the status its `# expect` comment announces;
# at least `min` of them.
check_curl_lines() {
  local name=$1 min=$2 log="$logs/$1.log" want='' got line
  while IFS= read -r line; do
    case "$line" in
      '# expect '*) want=${line#\# expect }; want=${want%%:*} ;;
      curl*|for*)
        [ -n "$want" ] || continue
        got=$(bash -c "$line" | tail -n 1 | xargs)
        if [ "$got" = "$want" ]; then echo "ok   $name: $got"; else fail "$name line gave '$got', expected '$want': $line"; fi
        want=''
        ;;
    esac
  done <"$log"
  [ "$(grep -c '^# expect ' "$log")" -ge "$min" ] || fail "$name printed fewer than $min curl lines"
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
  [ -n "$key" ] || fail "$name printed no key"
  expect "$name allowed (stats with the key)" 200 "$url/api/projects/prod-site/stats" -H "Authorization: Bearer $key"
  expect "$name refused (track without a key)" 401 -X POST "$url/api/track" -H 'Content-Type: application/json' -d '{"projectId":"prod-site"}'
  check_curl_lines "$name" 4
  kill "${pids[-1]}" 2>/dev/null
done

if launch login examples/login-server/server.ts; then
  check_curl_lines login 5
  kill "${pids[-1]}" 2>/dev/null
fi

# The key management UI example (`npm run example:ui`): sign-in page, the component's script, CSRF header.
if launch ui examples/ui/server.ts; then
  check_curl_lines ui 5
  kill "${pids[-1]}" 2>/dev/null
fi

# The demo (`npm start`).
if launch demo examples/demo.ts; then check_curl_lines demo 6; fi

# The login example: its walkthrough starts the server and checks every step of the flow.
if node --import tsx examples/login-server/walkthrough.ts; then echo 'ok   login walkthrough'; else fail 'login walkthrough'; fi

if [ "$failures" -gt 0 ]; then
  echo "$failures smoke check(s) failed"
  exit 1
fi
echo 'examples smoke: all good'
