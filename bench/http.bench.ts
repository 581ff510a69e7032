/**
 * HTTP overhead: autocannon against hello-world servers on 127.0.0.1, in processes of their own
 * (bench/http-server.ts, one per framework): bare, behind keyward, behind the nearest peer, for
 * Express, Koa and Hono (node-server). All servers start first; then rounds run every case once,
 * in an order that rotates each round, and the best round per case is reported: a noisy moment
 * lands on one round of one case, not on all of one case, and other load only takes away.
 * Run alone: `npx tsx bench/http.bench.ts` (BENCH_SMOKE=1: 300 requests per case).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'
import { emit, smoke, type Row, type Table, type Target } from './harness.js'

const CONNECTIONS = 50
const SECONDS = 3
const ROUNDS = 4

interface Case {
  framework: 'express' | 'koa' | 'hono'
  guard: string
  label: string
}
const cases: Case[] = [
  { framework: 'express', guard: 'bare', label: 'Express: bare route' },
  { framework: 'express', guard: 'keyward', label: 'Express: keyward authenticate()' },
  { framework: 'express', guard: 'keyward-unlimited', label: 'Express: keyward authenticate(), key without a rate limit' },
  { framework: 'express', guard: 'express-jwt', label: 'Express: express-jwt (HS256)' },
  { framework: 'koa', guard: 'bare', label: 'Koa: bare route' },
  { framework: 'koa', guard: 'keyward', label: 'Koa: keyward authenticate()' },
  { framework: 'koa', guard: 'keyward-unlimited', label: 'Koa: keyward authenticate(), key without a rate limit' },
  { framework: 'koa', guard: 'koa-jwt', label: 'Koa: koa-jwt (HS256)' },
  { framework: 'hono', guard: 'bare', label: 'Hono: bare route' },
  { framework: 'hono', guard: 'keyward', label: 'Hono: keyward authenticate()' },
  { framework: 'hono', guard: 'keyward-unlimited', label: 'Hono: keyward authenticate(), key without a rate limit' },
  { framework: 'hono', guard: 'hono-bearer', label: 'Hono: bearerAuth({ verifyToken }), SHA-256 + Map' },
  { framework: 'hono', guard: 'hono-jwt', label: 'Hono: hono/jwt (HS256)' },
]

interface Server {
  url: string
  authorization: string | undefined
}

const serverFile = fileURLToPath(new URL('./http-server.ts', import.meta.url))
/** One process per framework, holding one server per guard (bench/http-server.ts). */
function startFramework(framework: Case['framework']): Promise<{ child: ChildProcess; servers: Map<string, Server> }> {
  const guards = cases.filter((c) => c.framework === framework).map((c) => c.guard)
  const child = spawn(process.execPath, ['--import', 'tsx', serverFile, framework, guards.join(',')], { stdio: ['ignore', 'pipe', 'inherit'] })
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${framework}: server process exited with ${code}`)))
    createInterface({ input: child.stdout! }).once('line', (line) => {
      const ports = JSON.parse(line) as Record<string, { port: number; authorization?: string }>
      const servers = new Map(Object.entries(ports).map(([guard, { port, authorization }]) => [guard, { url: `http://127.0.0.1:${port}/`, authorization }]))
      resolve({ child, servers })
    })
  })
}

async function load(server: Server, label: string): Promise<number> {
  const headers: Record<string, string> = server.authorization === undefined ? {} : { authorization: server.authorization }
  const run = smoke ? { amount: 300 } : { duration: SECONDS }
  const result = await autocannon({ url: server.url, connections: smoke ? 10 : CONNECTIONS, headers, ...run })
  // A refused or failed request would make a guard look cheap: every response must be a 200.
  if (result.errors > 0 || result.timeouts > 0 || result.non2xx > 0) throw new Error(`${label}: ${result.errors} errors, ${result.timeouts} timeouts, ${result.non2xx} non-2xx`)
  return result.requests.average
}

const frameworks = ['express', 'koa', 'hono'] as const
const processes = await Promise.all(frameworks.map(startFramework))
const servers = cases.map((c) => processes[frameworks.indexOf(c.framework)]!.servers.get(c.guard)!)
const perCase = cases.map(() => [] as number[])
try {
  // Warm-up: JIT and connection set-up, not counted.
  if (!smoke) for (const [i, s] of servers.entries()) await autocannon({ url: s.url, connections: CONNECTIONS, duration: 1, headers: s.authorization ? { authorization: s.authorization } : {} }).then(() => i)
  const rounds = smoke ? 1 : ROUNDS
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < cases.length; k++) {
      const i = (k + round * 3) % cases.length
      perCase[i]!.push(await load(servers[i]!, cases[i]!.label))
    }
  }
} finally {
  for (const p of processes) p.child.kill()
}

// The best round: load from other processes only ever takes throughput away.
const reqPerSec = perCase.map((values) => (smoke ? NaN : Math.max(...values)))
const tables: Table[] = []
const targets: Target[] = []
for (const framework of frameworks) {
  const rows: Row[] = []
  for (const [i, c] of cases.entries()) {
    if (c.framework !== framework) continue
    rows.push({ name: c.label, value: reqPerSec[i]!, extra: { 'rounds (req/s)': smoke ? 'smoke' : perCase[i]!.map((v) => Math.round(v).toLocaleString('en-US')).join(' / ') } })
  }
  const bare = rows[0]!.value
  const ours = rows[1]!.value
  tables.push({ title: rows[0]!.name.split(':')[0]!, unit: 'req/s', reference: rows[0]!.name, columns: ['rounds (req/s)'], rows })
  targets.push({
    name: `HTTP ${rows[0]!.name.split(':')[0]}: keyward keeps ≥ 90% of the bare route's req/s`,
    met: smoke ? undefined : ours / bare >= 0.9,
    detail: smoke
      ? 'smoke'
      : `${((ours / bare) * 100).toFixed(1)}% (${Math.round(ours).toLocaleString('en-US')} vs ${Math.round(bare).toLocaleString('en-US')} req/s); key without a rate limit: ${((rows[2]!.value / bare) * 100).toFixed(1)}%`,
  })
}

emit({
  id: 'http',
  title: 'HTTP overhead (autocannon, 127.0.0.1)',
  order: 30,
  note: `autocannon, ${CONNECTIONS} connections, ${SECONDS} s per case after a 1 s warm-up, ${ROUNDS} rounds with the order rotating each round; the best round is shown (load from other processes only takes throughput away), all rounds beside it. The servers of each framework run in a process of their own (one server under load at a time); the load generator shares the machine's cores with it, identically for every case. The route answers "hello"; keyward checks a valid key (cached after the first request) with the in-memory store and limiter, lockout on and a per-key rate limit no run reaches (so RateLimit headers are added to every response); the "without a rate limit" row is the same with a key that has none (no limiter call for the quota, no headers); the JWT peers check an HS256 token; bearerAuth checks the key by SHA-256 + Map lookup. Every response is checked to be a 200.`,
  tables,
  targets,
})
