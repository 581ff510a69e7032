/**
 * Bundles the runtime checks (test/runtimes) against the BUILT package: `keyward` resolves to
 * dist/ through the package's own exports, and the Hono and fetch adapters the checks import by
 * source path are swapped for dist/hono.js and dist/fetch.js. Run after `npm run build`. Usage: tsx scripts/runtimes-bundle.ts <outdir>
 */
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { build, type Plugin } from 'esbuild'

const root = fileURLToPath(new URL('..', import.meta.url))
const outdir = process.argv[2]
if (outdir === undefined) throw new Error('usage: tsx scripts/runtimes-bundle.ts <outdir>')
if (!existsSync(`${root}dist/index.js`)) throw new Error('dist/ is missing: run npm run build first')

// The checks import the adapters by path so that they type-check before a build; the bundle
// must hold the built ones.
const builtAdapter: Plugin = {
  name: 'built-adapter',
  setup(b) {
    b.onResolve({ filter: /adapters\/(hono|fetch)\.js$/ }, (args) => ({
      path: `${root}dist/${/(hono|fetch)\.js$/.exec(args.path)![1]}.js`,
    }))
  },
}

const common = {
  absWorkingDir: root,
  bundle: true,
  format: 'esm' as const,
  target: 'es2022',
  // No tsconfig paths: they point `keyward` at src/, and these bundles must test dist/.
  tsconfigRaw: {},
  plugins: [builtAdapter],
  logLevel: 'warning' as const,
}

await build({
  ...common,
  entryPoints: { bun: 'test/runtimes/bun.ts', deno: 'test/runtimes/deno.ts' },
  outdir,
  platform: 'neutral',
  mainFields: ['module', 'main'],
})
await build({
  ...common,
  entryPoints: { worker: 'test/runtimes/worker.ts' },
  outdir,
  platform: 'browser',
  conditions: ['workerd', 'worker', 'browser'],
})
await build({ ...common, entryPoints: { 'workerd-driver': 'test/runtimes/workerd-driver.ts' }, outdir, platform: 'node' })
