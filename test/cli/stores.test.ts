/**
 * The `keyward` command run as a child process (node --import tsx src/cli/main.ts, what the bin
 * runs once built) against the real PostgreSQL and Redis: a fresh schema / key prefix per run.
 */
import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import Redis from 'ioredis'
import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import { createKeyward, type KeyInfo, type TokenStore } from '../../src/index.js'
import { EXIT } from '../../src/cli/exit-codes.js'
import { PostgresTokenStore } from '../../src/stores/postgres-token-store.js'
import { RedisTokenStore } from '../../src/stores/redis-token-store.js'
import { deleteRedisKeys } from '../management/redis-cleanup.js'
import { CI, POSTGRES, postgresAnswers, REDIS, redisAnswers, warnSkipped } from '../support/servers.js'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const RUN = `kw_cli_${process.pid}_${Date.now().toString(36)}`
const PEPPER = 'cli-test-pepper-0123456789'

interface Result {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs the CLI with a clean environment: only what the test gives (and PATH/HOME). */
function keyward(args: string[], env: Record<string, string> = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', KEYWARD_PEPPER: PEPPER, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

interface Backend {
  name: string
  available: boolean
  /** The store flags for this run. */
  flags: string[]
  /** The same flags given as environment variables instead. */
  env: Record<string, string>
  open(): Promise<{ store: TokenStore; close(): Promise<void> }>
  cleanup(): Promise<void>
}

const pgUrl = `postgres://${POSTGRES.user}@${POSTGRES.host}:${POSTGRES.port}/${POSTGRES.database}`
const redisUrl = `redis://${REDIS.host}:${REDIS.port}`
const schema = RUN.toLowerCase()
const redisPrefix = `kwtest:cli:${randomUUID()}:`

const postgres: Backend = {
  name: 'PostgreSQL',
  available: await postgresAnswers(),
  flags: ['--database-url', pgUrl, '--schema', schema],
  env: { DATABASE_URL: pgUrl },
  async open() {
    const pool = new pg.Pool({ ...POSTGRES, max: 2 })
    const store = new PostgresTokenStore(pool, { schema, listen: false, queryTimeoutMs: 10_000 })
    return { store, close: () => pool.end() }
  },
  async cleanup() {
    const pool = new pg.Pool({ ...POSTGRES, max: 1 })
    await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
    await pool.end()
  },
}

const redis: Backend = {
  name: 'Redis',
  available: await redisAnswers(),
  flags: ['--redis-url', redisUrl, '--redis-prefix', redisPrefix],
  env: { REDIS_URL: redisUrl },
  async open() {
    const client = new Redis({ ...REDIS })
    const store = new RedisTokenStore(client, { prefix: redisPrefix, listen: false, timeoutMs: 10_000 })
    return { store, close: async () => void (await client.quit()) }
  },
  async cleanup() {
    const admin = new Redis({ ...REDIS })
    await deleteRedisKeys(admin, `${redisPrefix}*`)
    await admin.quit()
  },
}

for (const backend of [postgres, redis]) {
  if (!backend.available) warnSkipped(backend.name, `the CLI tests against ${backend.name}`)

  describe(`keyward CLI against ${backend.name}`, () => {
    afterAll(async () => {
      if (backend.available) await backend.cleanup()
    })

    const guard = (skip: (note: string) => void): boolean => {
      if (backend.available) return true
      if (!CI) skip(`no ${backend.name}; skipped outside CI`)
      else expect(backend.available, `${backend.name} must answer in CI`).toBe(true)
      return false
    }
    const flags = [...backend.flags, '--prefix', 'bsk']
    const org = `org_${randomUUID()}`

    /** A keyward instance over the same store, as the application's server would have. */
    async function server() {
      const opened = await backend.open()
      const kw = createKeyward({ prefix: 'bsk', store: opened.store, pepper: PEPPER, cache: false, usageFlushMs: false, lockout: false })
      const works = async (key: string, ip = '203.0.113.10') =>
        (await kw.verify({ headers: { authorization: `Bearer ${key}` }, ip, project: 'prod-site' })).ok
      return { kw, works, close: opened.close }
    }

    it(
      'create, list, show, rotate, revoke: the key printed once, the changes seen by the server',
      { timeout: 60_000 },
      async ({ skip }) => {
        if (!guard(skip)) return
        const app = await server()
        try {
          const before = Date.now()
          const created = await keyward([
            'keys',
            'create',
            '--name',
            'Indexer',
            '--org',
            org,
            '--project',
            'prod-site',
            '--scope',
            'write',
            '--origin',
            'example.com',
            '--ip',
            '203.0.113.10',
            '--rate',
            '5000/h',
            '--expires',
            '30d',
            '--json',
            ...flags,
          ])
          expect(created.stderr).toBe('')
          expect(created.code).toBe(EXIT.ok)
          const { key, info } = JSON.parse(created.stdout) as { key: string; info: KeyInfo }
          expect(created.stdout.split(key).length - 1).toBe(1)
          expect(info).toMatchObject({
            orgId: org,
            name: 'Indexer',
            scopes: ['write'],
            allowedOrigins: ['example.com'],
            allowedIps: ['203.0.113.10'],
            rateLimit: [{ limit: 5000, windowMs: 3_600_000 }],
          })
          const expires = Date.parse(info.expiresAt as unknown as string)
          expect(expires).toBeGreaterThanOrEqual(before + 30 * 86_400_000)
          expect(expires).toBeLessThanOrEqual(Date.now() + 30 * 86_400_000)
          expect(await app.works(key)).toBe(true)
          expect(await app.works(key, '198.51.100.1')).toBe(false)

          // Human output too prints the key once, with its id.
          const human = await keyward(['keys', 'create', '--name', 'Second', '--org', org, '--project', 'prod-site', ...flags])
          expect(human.code).toBe(EXIT.ok)
          const humanKey = /^ {2}(bsk_live_\S+)$/m.exec(human.stdout)?.[1]
          expect(humanKey).toBeDefined()
          expect(await app.works(humanKey!, '198.51.100.1')).toBe(true)

          const listed = await keyward(['keys', 'list', '--org', org, '--json', ...flags])
          expect(listed.code).toBe(EXIT.ok)
          const infos = JSON.parse(listed.stdout) as KeyInfo[]
          expect(infos.map((i) => i.id).sort()).toEqual([info.id, humanKey!.slice(9, 17)].sort())
          expect(listed.stdout).not.toContain(key)
          expect(listed.stdout).not.toMatch(/"hash"/)
          const table = await keyward(['keys', 'list', '--org', org, '--limit', '1', ...flags])
          expect(table.stdout.trim().split('\n')).toHaveLength(2)

          const shown = await keyward(['keys', 'show', info.id, ...flags])
          expect(shown.code).toBe(EXIT.ok)
          expect(shown.stdout).toMatch(/name:\s+Indexer/)
          expect(shown.stdout).toMatch(/^rate limit:\s+5000\/h$/m) // as given to --rate
          expect(shown.stdout).not.toContain(key)

          const rotated = await keyward(['keys', 'rotate', info.id, '--grace', '1h', '--json', ...flags])
          expect(rotated.code).toBe(EXIT.ok)
          const next = JSON.parse(rotated.stdout) as { key: string; info: KeyInfo }
          expect(next.info.rotatedFrom).toBe(info.id)
          expect(await app.works(next.key)).toBe(true)
          expect(await app.works(key)).toBe(true) // in its grace hour

          const revoked = await keyward(['keys', 'revoke', next.info.id, ...flags])
          expect(revoked.code).toBe(EXIT.ok)
          expect(revoked.stdout).toContain(`Revoked ${next.info.id}`)
          expect(await app.works(next.key)).toBe(false)
        } finally {
          await app.close()
        }
      },
    )

    it('revoke --successors: the key and every key rotated from it are refused', { timeout: 60_000 }, async ({ skip }) => {
      if (!guard(skip)) return
      const app = await server()
      try {
        const created = await app.kw.keys.create({ name: 'Stolen', orgId: org, projects: ['prod-site'] })
        const rotated = await app.kw.keys.rotate(created.info.id, { gracePeriodMs: 3_600_000 })
        const plain = await app.kw.keys.create({ name: 'Plain', orgId: org, projects: ['prod-site'] })
        const plainNext = await app.kw.keys.rotate(plain.info.id, { gracePeriodMs: 3_600_000 })
        expect((await keyward(['keys', 'revoke', plain.info.id, ...flags])).code).toBe(EXIT.ok)
        expect(await app.works(plainNext.key)).toBe(true)
        const revoked = await keyward(['keys', 'revoke', created.info.id, '--successors', ...flags])
        expect(revoked.code).toBe(EXIT.ok)
        expect(revoked.stdout).toContain('Every key rotated from it is revoked too')
        expect(await app.works(created.key)).toBe(false)
        expect(await app.works(rotated.key)).toBe(false)
      } finally {
        await app.close()
      }
    })

    it(
      'create --credits --refill, update --credits / --no-credits: the server spends what the CLI set',
      { timeout: 60_000 },
      async ({ skip }) => {
        if (!guard(skip)) return
        const app = await server()
        try {
          const created = await keyward([
            'keys',
            'create',
            '--name',
            'Metered',
            '--org',
            org,
            '--project',
            'prod-site',
            '--credits',
            '2',
            '--refill',
            '1000/d',
            '--json',
            ...flags,
          ])
          expect(created.code, created.stderr).toBe(EXIT.ok)
          const { key, info } = JSON.parse(created.stdout) as { key: string; info: KeyInfo }
          expect(info.credits).toEqual({ remaining: 2, refill: { amount: 1000, intervalMs: 86_400_000 } })
          expect(await app.works(key)).toBe(true)
          expect(await app.works(key)).toBe(true)
          expect(await app.works(key)).toBe(false)
          const shown = await keyward(['keys', 'show', info.id, ...flags])
          expect(shown.stdout).toMatch(/credits: +2, refilled to 1000\/d/)
          // --credits alone sets the balance and keeps the refill; --no-refill removes it.
          const kept = await keyward(['keys', 'update', info.id, '--credits', '3', '--json', ...flags])
          expect(kept.code, kept.stderr).toBe(EXIT.ok)
          expect((JSON.parse(kept.stdout) as KeyInfo).credits).toEqual({ remaining: 3, refill: { amount: 1000, intervalMs: 86_400_000 } })
          const set = await keyward(['keys', 'update', info.id, '--credits', '1', '--no-refill', '--json', ...flags])
          expect(set.code, set.stderr).toBe(EXIT.ok)
          expect((JSON.parse(set.stdout) as KeyInfo).credits).toEqual({ remaining: 1, refill: null })
          expect(await app.works(key)).toBe(true)
          expect(await app.works(key)).toBe(false)
          expect((await keyward(['keys', 'update', info.id, '--no-credits', ...flags])).code).toBe(EXIT.ok)
          expect(await app.works(key)).toBe(true)
          const bad = await keyward(['keys', 'update', info.id, '--credits', '-5', ...flags])
          expect(bad.code).toBe(EXIT.usage)
          const huge = await keyward(['keys', 'update', info.id, '--credits', '9999999999999999', ...flags])
          expect(huge.code).toBe(EXIT.rejected)
          expect(huge.stderr).toContain('--credits')
        } finally {
          await app.close()
        }
      },
    )

    it('invalid input and unknown ids: exit 2, every bad field named, nothing stored', { timeout: 60_000 }, async ({ skip }) => {
      if (!guard(skip)) return
      const otherOrg = `org_${randomUUID()}`
      const bad = await keyward([
        'keys',
        'create',
        '--name',
        '',
        '--org',
        otherOrg,
        '--project',
        'p',
        '--ip',
        '999.0.0.1',
        '--origin',
        '*.example.com',
        ...flags,
      ])
      expect(bad.code).toBe(EXIT.rejected)
      expect(bad.stdout).toBe('')
      // Named as the user typed them: the flag and its value, never the library's field path.
      for (const flag of ['--name:', '--ip "999.0.0.1":', '--origin "*.example.com":']) expect(bad.stderr).toContain(flag)
      expect(bad.stderr).not.toMatch(/allowedIps|allowedOrigins/)
      const listed = await keyward(['keys', 'list', '--org', otherOrg, '--json', ...flags])
      expect(JSON.parse(listed.stdout)).toEqual([])
      for (const command of ['show', 'rotate', 'revoke']) {
        const missing = await keyward(['keys', command, 'AAAAAAAA', ...flags])
        expect(missing.code, command).toBe(EXIT.rejected)
        expect(missing.stderr).toMatch(/no (such )?key/)
      }
    })

    it('reads the store and prefix from the environment', { timeout: 60_000 }, async ({ skip }) => {
      if (!guard(skip)) return
      const storeScope = backend === postgres ? ['--schema', schema] : ['--redis-prefix', redisPrefix]
      const reply = await keyward(['keys', 'list', '--org', org, '--json', ...storeScope], { ...backend.env, KEYWARD_PREFIX: 'bsk' })
      expect(reply.stderr).toBe('')
      expect(reply.code).toBe(EXIT.ok)
      expect((JSON.parse(reply.stdout) as unknown[]).length).toBeGreaterThan(0)
    })
  })
}
