/**
 * Runs the Worker bundle (worker.js, next to this bundle) on workerd and checks it over real HTTP
 * from Node: the core checks the Worker runs inside a request, the Hono and fetch adapters' contract, and the Workers
 * specifics (key creation at module scope, last-used writes through waitUntil).
 * Usage: node workerd-driver.js <path to the workerd binary>. Exits non-zero on any failure.
 */
import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { assert, report, runChecks, type Check, type CheckResult } from './checks.js'
import { FETCH_BASE } from './fetch-checks.js'
import { httpChecks } from './http-checks.js'
import { freePort } from '../../scripts/free-port.js'

const workerd = process.argv[2]
if (workerd === undefined) throw new Error('usage: node workerd-driver.js <workerd binary>')
const here = dirname(fileURLToPath(import.meta.url))

const port = await freePort()
const config = join(here, 'workerd.capnp')
writeFileSync(
  config,
  `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ (name = "main", worker = .worker) ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "main") ],
);
const worker :Workerd.Worker = (
  modules = [ (name = "worker.js", esModule = embed "worker.js") ],
  compatibilityDate = "2025-09-01",
  bindings = [ (name = "LIMITER", durableObjectNamespace = "KeywardRateLimiterObject") ],
  durableObjectNamespaces = [ (className = "KeywardRateLimiterObject", uniqueKey = "keyward-runtimes-limiter") ],
  durableObjectStorage = (inMemory = void),
);
`,
)
const child = spawn(workerd, ['serve', config], { stdio: ['ignore', 'inherit', 'inherit'] })
const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
const base = `http://127.0.0.1:${port}`

async function waitUntilUp(): Promise<void> {
  // A readiness poll, not a timing assertion: workerd has up to a minute to start listening.
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`workerd exited with ${child.exitCode} before listening`)
    try {
      await fetch(`${base}/__module-scope`)
      return
    } catch {
      await new Promise((r) => setTimeout(r, 100))
    }
  }
  throw new Error('workerd did not listen within 60 s')
}

const workersChecks: Check[] = [
  {
    name: 'workers: kw.keys.create() at module scope fails with a keyward TypeError that says why',
    async run() {
      const seen = (await (await fetch(`${base}/__module-scope`)).json()) as { name: string; message: string }
      assert(
        seen.name === 'TypeError' && /^keyward: .*module scope.*request handler/.test(seen.message),
        `got ${seen.name}: ${seen.message}`,
      )
    },
  },
  {
    name: 'workers: last-used times are written through waitUntil by the next request after the interval',
    async run() {
      const { key, id } = (await (await fetch(`${base}/__usage/key`)).json()) as { key: string; id: string }
      const me = async () => {
        const response = await fetch(`${base}/__usage/me`, { headers: { authorization: `Bearer ${key}` } })
        assert(response.status === 200, `a valid key got ${response.status}`)
      }
      await me()
      await fetch(`${base}/__usage/advance?ms=600000`)
      await me()
      // The write was handed to waitUntil; it runs after the response, so poll for it (bounded).
      let seen: { lastUsedAt: string | null; waitUntilCalls: number } = { lastUsedAt: null, waitUntilCalls: 0 }
      for (let i = 0; i < 50 && seen.lastUsedAt === null; i++) {
        seen = (await (await fetch(`${base}/__usage/last-used?id=${id}`)).json()) as typeof seen
      }
      assert(seen.waitUntilCalls >= 1, 'waitUntil was never called')
      assert(seen.lastUsedAt !== null, 'lastUsedAt was never written')
    },
  },
]

let failed = 0
try {
  await waitUntilUp()
  const core = (await (await fetch(`${base}/__core`)).json()) as CheckResult[]
  failed += report('workerd', core)
  failed += report('workerd http', await runChecks(httpChecks(base)))
  failed += report('workerd fetch', await runChecks(httpChecks(`${base}${FETCH_BASE}`, 'fetch')))
  failed += report('workerd workers', await runChecks(workersChecks))
  failed += report('workerd keyward/cloudflare', (await (await fetch(`${base}/__limiter`)).json()) as CheckResult[])
} catch (error) {
  console.log(`FAIL  workerd: ${error instanceof Error ? error.message : String(error)}`)
  failed++
} finally {
  child.kill('SIGTERM')
  await exited
}
process.exit(failed === 0 ? 0 : 1)
