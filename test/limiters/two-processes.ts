/**
 * Two server processes sharing PostgreSQL (the keys) and Redis (quotas and lockout), on one Redis
 * or on a Redis Cluster: a lockout earned on one process holds on the other, and a key's quota is
 * one quota across both. Used by test/limiters/redis-two-process.test.ts and redis-cluster.test.ts.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createKeyward } from '../../src/index.js'
import { PostgresTokenStore } from '../../src/stores/postgres-token-store.js'
import { deleteKeys } from '../stores/redis-harness.js'
import { POSTGRES } from '../support/servers.js'

const PG = POSTGRES
const FIXTURE = fileURLToPath(new URL('./fixtures/redis-two-process-server.ts', import.meta.url))
const ROOT = fileURLToPath(new URL('../..', import.meta.url))

/** Where the processes' limiters live: one Redis, or a cluster's masters (ioredis `Cluster`). */
export interface TwoProcessRedis {
  nodes: ReadonlyArray<{ host: string; port: number }>
  cluster: boolean
}

interface ServerProcess {
  child: ChildProcessWithoutNullStreams
  exited: Promise<number | null>
  base: string
}

/** Starts one server process and resolves once it wrote its `listening` line (or rejects if it exits first). */
function startServer(schema: string, prefix: string, redis: TwoProcessRedis, spawned: ServerProcess['child'][]): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE], {
    // tsx reads tsconfig.json's paths from here, so the adapter's `keyward` is the source too.
    cwd: ROOT,
    env: {
      ...process.env,
      KW_PG: JSON.stringify(PG),
      KW_SCHEMA: schema,
      [redis.cluster ? 'KW_REDIS_CLUSTER' : 'KW_REDIS']: JSON.stringify(redis.cluster ? redis.nodes : redis.nodes[0]),
      KW_PREFIX: prefix,
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  spawned.push(child)
  child.stderr.pipe(process.stderr)
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve))
  return new Promise<ServerProcess>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      const message = JSON.parse(line) as { listening?: number }
      if (typeof message.listening === 'number') resolve({ child, exited, base: `http://127.0.0.1:${message.listening}` })
    })
    void exited.then((code) => reject(new Error(`the server process exited (${code}) before listening`)))
  })
}

/**
 * Defines the two-process lockout and quota tests on `redis` (`label` names it in the output).
 */
export function describeTwoProcesses(label: string, redis: TwoProcessRedis): void {
  describe(`two server processes sharing PostgreSQL and ${label}`, () => {
    /** This run's schema and Redis key prefix: a crashed run's leftovers are recognisable. */
    const schema = `kw_test_2p_${process.pid}_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6)}`
    const prefix = `kwtest2p:${randomUUID()}:`
    let admin: pg.Pool
    let pool: pg.Pool
    let store: PostgresTokenStore
    /** Every child, from the moment it is spawned, so afterAll kills it whatever happened since. */
    const spawned: ServerProcess['child'][] = []
    let a: ServerProcess
    let b: ServerProcess

    beforeAll(async () => {
      admin = new pg.Pool({ ...PG, max: 2 })
      await admin.query(`CREATE SCHEMA ${schema}`)
      pool = new pg.Pool({ ...PG, max: 4 })
      store = new PostgresTokenStore(pool, { schema, queryTimeoutMs: 10_000 })
      await store.migrate()
      ;[a, b] = await Promise.all([startServer(schema, prefix, redis, spawned), startServer(schema, prefix, redis, spawned)])
    }, 60_000)

    afterAll(async () => {
      const exits = spawned.map((child) => (child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : once(child, 'exit')))
      for (const child of spawned) child.kill('SIGTERM')
      await Promise.all(exits)
      await store?.close()
      await pool?.end()
      if (admin !== undefined) {
        await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
        await admin.end()
      }
      await deleteKeys(redis.nodes, redis.cluster, `${prefix}*`)
    }, 60_000)

    const here = () => createKeyward({ prefix: 'bsk', store, usageFlushMs: false })

    async function call(server: ServerProcess, key: string, address: string) {
      const response = await fetch(`${server.base}/api/stats`, { headers: { authorization: `Bearer ${key}`, 'x-forwarded-for': address } })
      const text = await response.text()
      return { status: response.status, headers: response.headers, body: JSON.parse(text) as Record<string, unknown> }
    }

    it('10 failures on one process lock the address out on the other, and only that address', { timeout: 60_000 }, async () => {
      const kw = here()
      try {
        const { key, info } = await kw.keys.create({ name: 'Valid', orgId: 'org_1', projects: ['prod-site'] })
        // Well formed, but never issued by these servers: a throwaway keyward on its own memory store.
        const stranger = createKeyward({ prefix: 'bsk', usageFlushMs: false })
        const { key: unknown } = await stranger.keys.create({ name: 'Never issued here', orgId: 'org_1', projects: ['prod-site'] })
        await stranger.close()

        const x = '203.0.113.7'
        const y = '198.51.100.9'
        // Before: the valid key passes on B from X.
        expect((await call(b, key, x)).status).toBe(200)
        for (let i = 0; i < 10; i++) {
          const reply = await call(a, unknown, x)
          expect(reply.status).toBe(401)
          expect(reply.body.code).toBe('invalid_token')
        }

        // B never saw a failure from X: only Redis can tell it X is locked out.
        const blocked = await call(b, key, x)
        expect(blocked.status).toBe(429)
        expect(blocked.body.code).toBe('ip_blocked')
        expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
        expect(JSON.stringify(blocked.body)).not.toContain(key)

        const other = await call(b, key, y)
        expect(other.status).toBe(200)
        expect(other.body.keyId).toBe(info.id)
      } finally {
        await kw.close()
      }
    })

    it('a key limited to 3 calls a minute gets exactly 3 across both processes together', { timeout: 60_000 }, async () => {
      const kw = here()
      try {
        const { key } = await kw.keys.create({
          name: 'Quota',
          orgId: 'org_1',
          projects: ['prod-site'],
          rateLimit: { limit: 3, windowMs: 60_000 },
        })
        const z = '192.0.2.44'
        const replies = []
        for (const server of [a, b, a, b, a, b]) replies.push(await call(server, key, z))
        expect(replies.map((r) => r.status)).toStrictEqual([200, 200, 200, 429, 429, 429])
        for (const refused of replies.slice(3)) {
          expect(refused.body.code).toBe('rate_limited')
          expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
        }
      } finally {
        await kw.close()
      }
    })
  })
}
