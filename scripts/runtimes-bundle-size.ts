/**
 * What a Worker pays for keyward: esbuild bundles (minified, browser/workerd conditions) of a
 * Worker that verifies API keys, with the core alone and with the Hono adapter, and their gzip
 * size; and whether jose is in them. Measures the BUILT package: run `npm run build` first.
 * Usage: tsx scripts/runtimes-bundle-size.ts   (figures go to bench/NOTES.md, "Worker bundle weight", by hand)
 */
import { gzipSync } from 'node:zlib'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const root = fileURLToPath(new URL('..', import.meta.url))

const workers: Record<string, string> = {
  'API keys, core only': `
    import { createKeyward } from 'keyward'
    const kw = createKeyward({ prefix: 'bsk' })
    export default { async fetch(request) {
      const r = await kw.verify({ headers: request.headers })
      return r.ok ? Response.json(r.auth) : Response.json(r.error.toJSON(), { status: r.error.status })
    } }`,
  'API keys, Hono adapter (hono itself included)': `
    import { Hono } from 'hono'
    import { createKeyward } from 'keyward'
    import { authenticate } from 'keyward/hono'
    const kw = createKeyward({ prefix: 'bsk' })
    export default new Hono().get('/me', authenticate(kw), (c) => c.json(c.get('auth')))`,
  'Hono alone (the baseline of the line above)': `
    import { Hono } from 'hono'
    export default new Hono().get('/me', (c) => c.json({}))`,
  'API keys and JWT (jwt option set)': `
    import { createKeyward } from 'keyward'
    const kw = createKeyward({
      prefix: 'bsk',
      jwt: { issuer: 'https://api.example', audience: 'api', signingKey: { alg: 'HS256', secret: 'x'.repeat(32) } },
    })
    export default { async fetch(request) {
      const r = await kw.verify({ headers: request.headers })
      return r.ok ? Response.json(r.auth) : new Response(null, { status: r.error.status })
    } }`,
}

const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`
console.log('| Worker | minified | gzipped | jose in it |')
console.log('|---|---:|---:|---|')
for (const [name, contents] of Object.entries(workers)) {
  const result = await build({
    absWorkingDir: root,
    stdin: { contents, loader: 'js', resolveDir: root, sourcefile: 'worker.js' },
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    conditions: ['workerd', 'worker', 'browser'],
    target: 'es2022',
    // No tsconfig paths: they point `keyward` at src/; this measures dist/.
    tsconfigRaw: {},
    write: false,
    metafile: true,
    logLevel: 'error',
  })
  const code = result.outputFiles[0]!.contents
  const jose = Object.keys(result.metafile.inputs).filter((path) => path.includes('node_modules/jose/'))
  const joseBytes = jose.reduce(
    (sum, path) => sum + (result.metafile.outputs[Object.keys(result.metafile.outputs)[0]!]!.inputs[path]?.bytesInOutput ?? 0),
    0,
  )
  console.log(
    `| ${name} | ${kib(code.length)} | ${kib(gzipSync(code, { level: 9 }).length)} | ` +
      `${jose.length === 0 ? 'no' : `yes, ${jose.length} modules, ${kib(joseBytes)} minified`} |`,
  )
}
