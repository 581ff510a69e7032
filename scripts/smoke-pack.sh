#!/usr/bin/env bash
# Installs the packed tarball in a scratch project and loads every entry point both ways, as a
# user would: `import('keyward')` and `require('keyward')`; and runs the `keyward` bin.
set -euo pipefail
cd "$(dirname "$0")/.."
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
tarball=$(npm pack --silent --pack-destination "$scratch" | tail -n 1)
cd "$scratch"
npm init -y >/dev/null
# keyward/hono builds its management router on Hono itself: install the peer, as its users have it.
hono_version=$(node -p "require('$OLDPWD/package.json').devDependencies.hono")
npm install --no-audit --no-fund "./$tarball" "hono@$hono_version" >/dev/null
node --input-type=module -e "
  const kw = await import('keyward')
  const k = kw.createKeyward({ prefix: 'bsk' })
  const { key } = await k.keys.create({ name: 'smoke', orgId: 'o', projects: ['p'] })
  const r = await k.verify({ headers: { authorization: 'Bearer ' + key } })
  if (!r.ok) throw new Error('ESM verify failed')
  const j = kw.createKeyward({ prefix: 'bsk', jwt: { issuer: 'https://i', audience: 'a', signingKey: { alg: 'HS256', secret: 'x'.repeat(32) } } })
  const t = await j.tokens.issue({ subject: 's', org: 'o' })
  if (!(await j.verify({ headers: { authorization: 'Bearer ' + t.accessToken } })).ok) throw new Error('ESM JWT verify failed')
  for (const entry of ['keyward/express', 'keyward/koa', 'keyward/hono', 'keyward/postgres', 'keyward/redis']) await import(entry)
  console.log('import ok')
"
node -e "
  const kw = require('keyward')
  if (typeof kw.createKeyward !== 'function' || typeof kw.KeywardError !== 'function') throw new Error('CJS exports missing')
  for (const entry of ['keyward/express', 'keyward/koa', 'keyward/hono', 'keyward/postgres', 'keyward/redis']) require(entry)
  // jose is ESM-only: this proves require(esm) of it works on the supported Node versions.
  const j = kw.createKeyward({ prefix: 'bsk', jwt: { issuer: 'https://i', audience: 'a', signingKey: { alg: 'HS256', secret: 'x'.repeat(32) } } })
  j.tokens.issue({ subject: 's', org: 'o' })
    .then((t) => j.verify({ headers: { authorization: 'Bearer ' + t.accessToken } }))
    .then((r) => { if (!r.ok) throw new Error('CJS JWT verify failed'); console.log('require ok') })
    .catch((e) => { console.error(e); process.exit(1) })
"
# The packed `keyward` command: installed as a bin, runs from dist, answers --help.
npx --no-install keyward keys --help | grep -q '^Usage: keyward keys' || { echo 'packed keyward bin did not answer --help'; exit 1; }
npx --no-install keyward keys create --name x 2>/dev/null && { echo 'keyward keys create without a store should fail'; exit 1; }
echo 'bin ok'
