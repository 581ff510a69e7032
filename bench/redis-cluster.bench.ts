/**
 * keyward on one Redis beside a three-master Redis Cluster (both servers of the run's own:
 * redis-server on a free port, and scripts/redis-cluster.sh), in the same run: verify and limiter
 * checks per second (wall clock: the work is in Redis), and cross-instance revocation latency,
 * from the revoking `update` call to the other instance's store hearing it (median and max over
 * 100 revocations; two stores on connections of their own stand for two instances).
 * Run alone: `npx tsx bench/redis-cluster.bench.ts` (BENCH_SMOKE=1 for a quick run).
 */
import { execFileSync, spawn } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import Redis, { Cluster } from 'ioredis'
import { createKeyward } from '../src/index.js'
import { RedisRateLimiter } from '../src/limiters/redis-rate-limiter.js'
import { RedisTokenStore } from '../src/stores/redis-token-store.js'
import type { KeyRecord } from '../src/types.js'
import { emit, measure, median, smoke, type Row } from './harness.js'
import { freePort } from '../scripts/free-port.js'

const SCRIPT = fileURLToPath(new URL('../scripts/redis-cluster.sh', import.meta.url))

const port = await freePort()
const single = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
  stdio: 'ignore',
})
const clusterDir = mkdtempSync(join(tmpdir(), 'kw-bench-cluster-'))
const ports = execFileSync('bash', [SCRIPT, 'start', clusterDir], { encoding: 'utf8' }).trim().split(/\s+/).map(Number)
const nodes = ports.map((p) => ({ host: '127.0.0.1', port: p }))

type Client = Redis | Cluster
async function ready(client: Client): Promise<Client> {
  client.on('error', () => {})
  if (client.status !== 'ready') await new Promise((resolve) => client.once('ready', resolve))
  return client
}
const deployments: Array<{ name: string; open: () => Promise<Client> }> = [
  { name: 'one Redis', open: () => ready(new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 1 })) },
  { name: 'Redis Cluster (3 masters)', open: () => ready(new Cluster(nodes, { redisOptions: { maxRetriesPerRequest: 1 } })) },
]

const throughput: Row[] = []
const limiterRows: Row[] = []
const latency: Row[] = []
const opened: Client[] = []
const open = async (d: (typeof deployments)[number]) => {
  const client = await d.open()
  opened.push(client)
  return client
}

for (const deployment of deployments) {
  const prefix = `kwbench:${Date.now()}:`
  const a = await open(deployment)
  const b = await open(deployment)
  const storeA = new RedisTokenStore(a as never, { prefix, timeoutMs: 5000 })
  const storeB = new RedisTokenStore(b as never, { prefix, timeoutMs: 5000 })
  const limiter = new RedisRateLimiter({ client: a as never, prefix, timeoutMs: 5000 })

  // verify: a key checked against its quota and the address's lockout, every call (the key itself is cached).
  const kw = createKeyward({ prefix: 'bsk', store: storeA, limiter, usageFlushMs: false })
  const { key } = await kw.keys.create({ name: 'bench', orgId: 'org_1', projects: ['p'], rateLimit: { limit: 1e9, windowMs: 60_000 } })
  const headers = { authorization: `Bearer ${key}` }
  const verified = await measure(deployment.name, () => kw.verify({ headers, ip: '203.0.113.1', project: 'p' }), { clock: 'wall' })
  throughput.push({ name: deployment.name, value: verified.opsPerSec })

  const rules = [
    { limit: 1e9, windowMs: 60_000 },
    { limit: 1e9, windowMs: 3_600_000 },
  ]
  const checked = await measure(deployment.name, () => limiter.limit({ key: 'k1', rules, blockKey: '203.0.113.1', now: 0 }), {
    clock: 'wall',
  })
  limiterRows.push({ name: deployment.name, value: checked.opsPerSec })

  // Revocation: A revokes, B's store hears it. Sequential, so each figure is one revocation alone.
  let heard: ((id: string) => void) | undefined
  const unsubscribe = storeB.subscribe((event) => {
    if (event.type === 'key') heard?.(event.id)
  })
  await storeB.listening()
  const samples: number[] = []
  const count = smoke ? 5 : 100
  for (let i = 0; i < count; i++) {
    const { info } = await kw.keys.create({ name: `r${i}`, orgId: 'org_1', projects: ['p'] })
    const arrived = new Promise<void>((resolve) => (heard = (id) => id === info.id && resolve()))
    const start = performance.now()
    await storeA.update(info.id, { revokedAt: Date.now() } as Partial<KeyRecord>)
    await arrived
    samples.push(performance.now() - start)
  }
  unsubscribe()
  latency.push({
    name: deployment.name,
    value: smoke ? NaN : median(samples),
    extra: { 'max ms': smoke ? '-' : Math.max(...samples).toFixed(2), revocations: count },
  })
  await kw.close()
  await storeA.close()
  await storeB.close()
}

for (const client of opened) client.disconnect()
single.kill()
execFileSync('bash', [SCRIPT, 'stop', clusterDir])

emit({
  id: 'redis-cluster',
  title: 'Redis: one server beside a three-master Cluster (servers of the run’s own, loopback)',
  order: 55,
  note:
    'Wall-clock figures (the work is in Redis), one client per instance, calls one after the other. ' +
    'On a Cluster the limiter checks the lockout (address slot) before the quota (key slot): two ' +
    'round trips where one server needs one. Revocation latency is from the revoking update call ' +
    'to the other instance’s store hearing the announcement.',
  tables: [
    { title: 'verify (API key, cached; quota and lockout on Redis)', unit: 'verifies/s', reference: 'one Redis', rows: throughput },
    { title: 'RedisRateLimiter.limit (2 rules + lockout)', unit: 'checks/s', reference: 'one Redis', rows: limiterRows },
    {
      title: 'cross-instance revocation latency',
      unit: 'median ms',
      higherIsBetter: false,
      columns: ['max ms', 'revocations'],
      rows: latency,
    },
  ],
})
