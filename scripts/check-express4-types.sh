#!/usr/bin/env bash
# keyward/express type-checked against @types/express@4 (the root installs Express 5's types).
# The fixture has its own lockfile; `npm ci` there is quick and touches nothing at the root.
set -euo pipefail
cd "$(dirname "$0")/.."
npm ci --prefix test/fixtures/express4 --no-audit --no-fund --loglevel=error
npx tsc -p test/fixtures/express4/tsconfig.json
echo "keyward/express types hold under @types/express@4"
