#!/usr/bin/env bash
# The runtime checks (test/runtimes) on Bun, Deno and workerd, against the BUILT package: run
# `npm run build` first. Each runtime comes from its npm package (devDependencies). Prints one
# line per check, how long each runtime took, and exits non-zero when any runtime failed.
# Usage: scripts/runtimes.sh [bun] [deno] [workerd]   (default: all three)
set -uo pipefail
cd "$(dirname "$0")/.."

[ -f dist/index.js ] && [ -f dist/hono.js ] && [ -f dist/fetch.js ] && [ -f dist/cloudflare.js ] || { echo "runtimes: dist/ is missing, run npm run build first" >&2; exit 2; }
runtimes=("$@")
[ ${#runtimes[@]} -gt 0 ] || runtimes=(bun deno workerd)

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
npx tsx scripts/runtimes-bundle.ts "$out" || { echo "runtimes: FAIL bundling the checks" >&2; exit 1; }

# The package's bin, which its postinstall links to the platform binary; when install scripts
# were skipped (npm --ignore-scripts) that is a placeholder, so fall back to the binary of the
# platform package npm installed as an optional dependency. Never a download.
binary() {
  local name=$1 candidate
  shift
  for candidate in "node_modules/.bin/$name" "$@"; do
    if [ -x "$candidate" ] && "$candidate" --version >/dev/null 2>&1; then
      echo "$candidate"
      return 0
    fi
  done
  echo "runtimes: no working $name binary (npm ci installs it from the npm package '$name')" >&2
  return 1
}

failed=()
timings=()
for runtime in "${runtimes[@]}"; do
  printf '\n-- %s\n' "$runtime"
  start=$(date +%s%N)
  case $runtime in
    bun) bin=$(binary bun node_modules/@oven/bun-*/bin/bun) && "$bin" --version && "$bin" "$out/bun.js" ;;
    deno) bin=$(binary deno node_modules/@deno/*/deno) && "$bin" --version | head -1 && "$bin" run --allow-net "$out/deno.js" ;;
    workerd) bin=$(binary workerd node_modules/@cloudflare/workerd-*/bin/workerd) && "$bin" --version && node "$out/workerd-driver.js" "$bin" ;;
    *) echo "runtimes: unknown runtime $runtime (bun, deno or workerd)" >&2; false ;;
  esac
  status=$?
  seconds=$(( ($(date +%s%N) - start) / 1000000 ))
  timings+=("$runtime $(printf '%d.%03d' $((seconds / 1000)) $((seconds % 1000))) s")
  [ $status -eq 0 ] || failed+=("$runtime")
done

printf '\nruntimes: time per runtime (bundle excluded): %s\n' "$(printf "%s; " "${timings[@]}")"
if [ ${#failed[@]} -gt 0 ]; then
  echo "runtimes: FAILED on ${failed[*]} (see the FAIL lines above)"
  exit 1
fi
echo "runtimes: all checks passed on ${runtimes[*]}"
