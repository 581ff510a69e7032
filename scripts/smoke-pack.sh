#!/usr/bin/env bash
# The package as a user gets it, from a fresh `git clone` of the current commit with no prior build:
#   1. `npm ci` in the clone: it must build nothing (scripts/prepare.mjs skips `npm ci`, so it
#      stays fast; tests and examples run from the source);
#   2. `npm install --install-links <clone>` in a scratch project: npm runs only `prepare` in the
#      clone, packs it and installs that, as it does for `npm install github:keyward/keyward`
#      after cloning and installing; so `prepare` must build dist/;
#   3. `npm pack` with dist/ removed, so the tarball's dist/ can only come from `prepack`, installed
#      in another scratch project;
#   after 2 and 3: `import`, `require`, a key created and verified, a JWT issued and verified,
#   every entry point loaded both ways, the `keyward` bin run (--version, --help, a usage error).
# SMOKE_PACK_GIT=1 adds the full git path, `npm install git+file://<clone>#<commit>` (npm clones,
# runs `npm install` there with every devDependency, then prepare and pack): minutes more.
# Only committed work is tested: uncommitted changes are not in the clone (a note says so).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
commit=$(git -C "$repo" rev-parse HEAD)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ -n "$(git -C "$repo" status --porcelain)" ]; then echo "note: uncommitted changes are not tested; this checks commit $commit"; fi

say() { printf -- "-- [%3ss] %s\n" "$SECONDS" "$*"; }
die() { echo "smoke-pack: $*" >&2; exit 1; }

say "fresh clone of $commit"
git clone --quiet --no-local --no-checkout "$repo" "$work/clone"
git -C "$work/clone" checkout --quiet --detach "$commit"
cd "$work/clone"
[ ! -e dist ] || die 'the clone has a dist/ before any build'
version=$(node -p "require('./package.json').version")
hono_version=$(node -p "require('./package.json').devDependencies.hono")
fastify_plugin_version=$(node -p "require('./package.json').devDependencies['fastify-plugin']")
vitest_version=$(node -p "require('./package.json').devDependencies.vitest")
otel_version=$(node -p "require('./package.json').devDependencies['@opentelemetry/api']")

say 'npm ci'
npm ci --no-audit --no-fund --prefer-offline --loglevel=error >"$work/ci.log" 2>&1 || { cat "$work/ci.log"; die 'npm ci failed in the fresh clone'; }
[ ! -e dist ] || die 'npm ci built dist/: prepare should leave that to pack (npm ci stays fast)'


# Loads keyward as a user does and runs the round trips; $1 names the install for the messages.
check_install() {
  local how=$1
  node --input-type=module -e "
    const kw = await import('keyward')
    const k = kw.createKeyward({ prefix: 'bsk' })
    const { key, info } = await k.keys.create({ name: 'smoke', orgId: 'o', projects: ['p'] })
    const r = await k.verify({ headers: { authorization: 'Bearer ' + key } })
    if (!r.ok || r.auth.keyId !== info.id) throw new Error('$how: ESM create + verify failed')
    if ((await k.verify({ headers: { authorization: 'Bearer ' + key.slice(0, -1) + (key.endsWith('A') ? 'B' : 'A') } })).ok) throw new Error('$how: a wrong key passed')
    const j = kw.createKeyward({ prefix: 'bsk', jwt: { issuer: 'https://i', audience: 'a', signingKey: { alg: 'HS256', secret: 'x'.repeat(32) } } })
    const t = await j.tokens.issue({ subject: 's', org: 'o' })
    if (!(await j.verify({ headers: { authorization: 'Bearer ' + t.accessToken } })).ok) throw new Error('$how: ESM JWT verify failed')
    for (const entry of ['keyward/express', 'keyward/koa', 'keyward/hono', 'keyward/fastify', 'keyward/fetch', 'keyward/postgres', 'keyward/redis', 'keyward/cloudflare', 'keyward/otel', 'keyward/testing']) await import(entry)
    const fetchAdapter = await import('keyward/fetch')
    const guarded = fetchAdapter.withAuth(k, () => new Response('hello'))
    if ((await guarded(new Request('http://x/', { headers: { authorization: 'Bearer ' + key } }))).status !== 200) throw new Error('$how: keyward/fetch withAuth refused a valid key')
    if ((await guarded(new Request('http://x/'))).status !== 401) throw new Error('$how: keyward/fetch withAuth let a request without a key through')
    if (typeof (await import('keyward/fastify')).default !== 'function') throw new Error('$how: keyward/fastify has no default plugin')
    const traced = (await import('keyward/otel')).instrumentKeyward(k)
    if (!(await traced.verify({ headers: { authorization: 'Bearer ' + key } })).ok) throw new Error('$how: keyward/otel instrumentKeyward refused a valid key')
    console.log('$how: import ok')
  "
  node -e "
    const kw = require('keyward')
    if (typeof kw.createKeyward !== 'function' || typeof kw.KeywardError !== 'function') throw new Error('$how: CJS exports missing')
    for (const entry of ['keyward/express', 'keyward/koa', 'keyward/hono', 'keyward/fastify', 'keyward/fetch', 'keyward/postgres', 'keyward/redis', 'keyward/cloudflare', 'keyward/otel']) require(entry)
    if (typeof require('keyward/fastify').keyward !== 'function' || typeof require('keyward/fetch').withAuth !== 'function') throw new Error('$how: CJS adapter exports missing')
    // jose is ESM-only: this proves require(esm) of it works on the supported Node versions.
    const k = kw.createKeyward({ prefix: 'bsk' })
    k.keys.create({ name: 'smoke', orgId: 'o', projects: ['p'] })
      .then(({ key }) => k.verify({ headers: { authorization: 'Bearer ' + key } }))
      .then((r) => { if (!r.ok) throw new Error('$how: CJS create + verify failed') })
      .then(() => {
        const j = kw.createKeyward({ prefix: 'bsk', jwt: { issuer: 'https://i', audience: 'a', signingKey: { alg: 'HS256', secret: 'x'.repeat(32) } } })
        return j.tokens.issue({ subject: 's', org: 'o' }).then((t) => j.verify({ headers: { authorization: 'Bearer ' + t.accessToken } }))
      })
      .then((r) => { if (!r.ok) throw new Error('$how: CJS JWT verify failed'); console.log('$how: require ok') })
      .catch((e) => { console.error(e); process.exit(1) })
  "
  # Only keyward/otel may load the optional OpenTelemetry peer: the core must work without it.
  ! grep -l '@opentelemetry' node_modules/keyward/dist/index.js node_modules/keyward/dist/index.cjs >/dev/null || die "$how: the core entry imports @opentelemetry"
  # The `keyward` command, installed as a bin and run from dist.
  [ "$(npx --no-install keyward --version)" = "$version" ] || die "$how: keyward --version did not print $version"
  npx --no-install keyward --help | grep -q '^Usage: keyward keys' || die "$how: keyward --help did not answer"
  npx --no-install keyward keys create --help | grep -q '^Usage: keyward keys create' || die "$how: keyward keys create --help did not answer"
  local code=0
  env -u DATABASE_URL -u REDIS_URL npx --no-install keyward keys create --name x --org o --project p --prefix bsk >/dev/null 2>&1 || code=$?
  [ "$code" -eq 1 ] || die "$how: keyward keys create without a store exited $code, not 1 (usage)"
  echo "$how: bin ok"
}


say 'npm install --install-links <clone> (prepare builds dist/, as for a git dependency)'
mkdir "$work/from-dir" && cd "$work/from-dir"
npm init -y >/dev/null
npm install --no-audit --no-fund --prefer-offline --loglevel=error --install-links "$work/clone" "hono@$hono_version" "fastify-plugin@$fastify_plugin_version" "vitest@$vitest_version" "@opentelemetry/api@$otel_version" >"$work/dir.log" 2>&1 || { cat "$work/dir.log"; die 'npm install <clone> failed'; }
[ -f node_modules/keyward/dist/index.js ] && [ ! -L node_modules/keyward ] || die 'the directory install has no dist/ (prepare) or is a link'
check_install directory

say 'npm pack with dist/ removed (prepack builds it)'
cd "$work/clone"
rm -rf dist
mkdir "$work/pack"
npm pack --pack-destination "$work/pack" --loglevel=error >"$work/pack.log" 2>&1 || { cat "$work/pack.log"; die 'npm pack failed'; }
tarballs=("$work"/pack/*.tgz)
[ "${#tarballs[@]}" -eq 1 ] && [ -f "${tarballs[0]}" ] || die 'npm pack made no tarball'
tarball=${tarballs[0]}
listing=$(tar -tzf "$tarball")
for file in package/dist/index.js package/dist/index.cjs package/dist/index.d.ts package/dist/index.d.cts package/dist/cli.js package/dist/express.js package/dist/postgres.cjs package/dist/cloudflare.js package/dist/cloudflare.cjs package/sql/d1/0001_keyward.sql package/dist/testing.js package/dist/testing.d.ts package/sql; do
  grep -q "^$file" <<<"$listing" || die "the tarball lacks $file"
done
grep -q '^package/src/' <<<"$listing" && die 'the tarball ships src/'
echo "tarball: $(basename "$tarball"), $(wc -l <<<"$listing") files"

say 'the tarball in a scratch project'
mkdir "$work/scratch" && cd "$work/scratch"
npm init -y >/dev/null
# keyward/hono builds its management router on Hono itself, keyward/fastify registers through
# fastify-plugin, keyward/testing defines vitest tests, keyward/otel reports through
# @opentelemetry/api: install those peers, as their users have them.
npm install --no-audit --no-fund --prefer-offline --loglevel=error "$tarball" "hono@$hono_version" "fastify-plugin@$fastify_plugin_version" "vitest@$vitest_version" "@opentelemetry/api@$otel_version" >/dev/null
check_install tarball

if [ "${SMOKE_PACK_GIT:-}" = 1 ]; then
  say 'npm install git+file://<clone>#<commit>, as from GitHub'
  mkdir "$work/from-git" && cd "$work/from-git"
  npm init -y >/dev/null
  npm install --no-audit --no-fund --prefer-offline --loglevel=error "git+file://$work/clone#$commit" "hono@$hono_version" "fastify-plugin@$fastify_plugin_version" "vitest@$vitest_version" "@opentelemetry/api@$otel_version" >"$work/git.log" 2>&1 || { cat "$work/git.log"; die 'npm install from git failed'; }
  [ -f node_modules/keyward/dist/index.js ] || die 'the git install has no dist/'
  check_install git
fi
say 'done'
echo 'pack smoke: all good'
