/**
 * Cross-instance revocation latency: instance A revokes a key that instance B has cached; how long
 * until B refuses it. B keeps verifying the key every 2 ms, as a busy server would, and the time
 * is taken from the start of A's `revoke()` to B's first refusal (so it includes A's write).
 * Median and max over 100 revocations per deployment (3 in smoke runs), wall clock.
 *
 * Deployments: PostgreSQL direct; through a transaction-mode PgBouncer (scripts/pgbouncer.sh,
 * started by this bench) with a direct `listener`; and through it with none, where the self-test
 * fails and the cache falls back to `cache.degradedTtlMs` (800 ms by default): A revokes at a random
 * moment of B's cache entry's life, so that row's latencies spread over 0–0.8 s.
 * Run alone: `npx tsx bench/revocation.bench.ts` (BENCH_SMOKE=1 for a quick run).
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { createKeyward, type Keyward } from '../src/index.js'
import { PostgresTokenStore, type PostgresTokenStoreOptions } from '../src/stores/postgres-token-store.js'
import { emit, median, smoke, type Row } from './harness.js'

const POSTGRES_URL = process.env.BENCH_DATABASE_URL ?? process.env.KEYWARD_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const SAMPLES = smoke ? 3 : 100
const schema = `kw_bench_revocation_${process.pid}`
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** A transaction-mode PgBouncer of this run's own, or undefined (the pooled rows are then left out). */
function startBouncer(): { port: number; stop(): void } | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'kw-bench-pgbouncer-'))
  const script = fileURLToPath(new URL('../scripts/pgbouncer.sh', import.meta.url))
  try {
    const port = Number(execFileSync(script, ['start', dir], { encoding: 'utf8' }).trim())
    return {
      port,
      stop: () => {
        execFileSync(script, ['stop', dir])
        rmSync(dir, { recursive: true, force: true })
      },
    }
  } catch (error) {
    console.error(`pgbouncer did not start (${String(error)}): the pooled rows are left out`)
    rmSync(dir, { recursive: true, force: true })
    return undefined
  }
}

interface Deployment {
  name: string
  url: string
  options: PostgresTokenStoreOptions
  /** Revoke at a random moment within this many ms after B cached the key. */
  spreadMs: number
}

async function measureDeployment(deployment: Deployment): Promise<Row> {
  const pools: pg.Pool[] = []
  const open = () => {
    const pool = new pg.Pool({ connectionString: deployment.url, max: 4 })
    pools.push(pool)
    return new PostgresTokenStore(pool, { schema, ...deployment.options })
  }
  const [storeA, storeB] = [open(), open()]
  const a: Keyward = createKeyward({ prefix: 'bsk', store: storeA, usageFlushMs: false, lockout: false })
  const b: Keyward = createKeyward({ prefix: 'bsk', store: storeB, usageFlushMs: false, lockout: false })
  const state = await storeB.listening().then(
    () => 'listening',
    (error: unknown) => `degraded: ${String(error).slice(0, 80)}...`,
  )
  console.log(`${deployment.name}: B is ${state}`)
  const latencies: number[] = []
  /** From the moment A's revoke() resolved (the change committed) to B's refusal; 0 when B refused first. */
  const afterCommit: number[] = []
  try {
    for (let i = 0; i < SAMPLES; i++) {
      const { key, info } = await a.keys.create({ name: `r${i}`, orgId: 'org_bench', projects: ['p'] })
      const request = { headers: { authorization: `Bearer ${key}` }, project: 'p' }
      if (!(await b.verify(request)).ok) throw new Error('B refused a fresh key')
      const revokeAt = performance.now() + Math.random() * deployment.spreadMs
      while (performance.now() < revokeAt) {
        await b.verify(request)
        await sleep(2)
      }
      const started = performance.now()
      let committed = Infinity
      const revoked = a.keys.revoke(info.id).then(() => (committed = performance.now()))
      while ((await b.verify(request)).ok) await sleep(2)
      const refused = performance.now()
      latencies.push(refused - started)
      await revoked
      afterCommit.push(Math.max(0, refused - committed))
    }
  } finally {
    await a.close()
    await b.close()
    await storeA.close()
    await storeB.close()
    for (const pool of pools) await pool.end()
  }
  const round = (ms: number) => Math.round(ms * 10) / 10
  return {
    name: deployment.name,
    value: smoke ? NaN : round(median(latencies)),
    extra: {
      'max ms': smoke ? 'n/a' : round(Math.max(...latencies)),
      'max ms after commit': smoke ? 'n/a' : round(Math.max(...afterCommit)),
      B: state.startsWith('degraded') ? 'degraded (self-test)' : 'listening',
    },
  }
}

const admin = new pg.Pool({ connectionString: POSTGRES_URL, max: 1 })
await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
await admin.query(`CREATE SCHEMA ${schema}`)
await new PostgresTokenStore(admin, { schema, listen: false }).migrate()
const bouncer = startBouncer()
const bounced = bouncer === undefined ? undefined : POSTGRES_URL.replace(/:\d+\//, `:${bouncer.port}/`)
const deployments: Deployment[] = [
  { name: 'PostgreSQL, direct', url: POSTGRES_URL, options: {}, spreadMs: 20 },
  ...(bounced === undefined
    ? []
    : [
        { name: 'PgBouncer (transaction mode) + direct listener', url: bounced, options: { listener: POSTGRES_URL }, spreadMs: 20 },
        { name: 'PgBouncer (transaction mode), no listener', url: bounced, options: {}, spreadMs: 1000 },
      ]),
]
const rows: Row[] = []
try {
  for (const deployment of deployments) rows.push(await measureDeployment(deployment))
} finally {
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
  await admin.end()
  bouncer?.stop()
}

emit({
  id: 'revocation',
  title: 'Cross-instance revocation latency',
  order: 55,
  note:
    `Instance A revokes a key instance B has cached; B verifies it every 2 ms. Time from A's revoke() to B's first ` +
    `refusal, over ${SAMPLES} revocations per deployment, wall clock (a loaded machine adds its own delays).`,
  tables: [
    {
      title: 'Revocation seen by another instance',
      unit: 'median ms',
      higherIsBetter: false,
      columns: ['max ms', 'max ms after commit', 'B'],
      note:
        'Without a direct listener, LISTEN through a transaction-mode PgBouncer hears nothing: the self-test fails, ' +
        'B reports it and keeps cached keys for cache.degradedTtlMs (800 ms by default), so the revocation lands when the ' +
        'entry expires: at most 800 ms after a read that came before the commit.',
      rows,
    },
  ],
})
