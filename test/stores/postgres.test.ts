import { readFileSync } from 'node:fs'
import net from 'node:net'
import { fileURLToPath } from 'node:url'
import { PGlite } from '@electric-sql/pglite'
import pg from 'pg'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { createKeyward, MemoryTokenStore, type InvalidationEvent, type TokenStore } from '../../src/index.js'
import {
  KEYWARD_POSTGRES_CREDITS_SCHEMA,
  KEYWARD_POSTGRES_LIFECYCLE_SCHEMA,
  KEYWARD_POSTGRES_REFRESH_FAMILY_SCHEMA,
  KEYWARD_POSTGRES_SCHEMA,
  postgresLifecycleSql,
  postgresRefreshFamilySql,
  postgresSchemaSql,
  postgresSchemaStatements,
} from '../../src/stores/postgres-schema.js'
import { PostgresTokenStore, type PostgresQueryable } from '../../src/stores/postgres-token-store.js'
import {
  bareRecord,
  describeTokenStoreConformance,
  familyRecord,
  fullRecord,
  startSecondProcess,
  type StoreHarness,
} from '../../testing/index.js'
import { expectFailuresRejected, familyCalls } from './refresh-family-faults.js'
import { CI, POSTGRES, postgresAnswers, warnSkipped } from '../support/servers.js'

const SERVER = POSTGRES
/** Every schema this run creates starts with this, so a crashed run's leftovers are recognisable. */
const RUN = `kw_test_${process.pid}_${Date.now().toString(36)}`
let schemas = 0

const available = await postgresAnswers()
const inCi = CI
if (!available)
  warnSkipped(
    `PostgreSQL on ${SERVER.host}:${SERVER.port} (user ${SERVER.user}, database ${SERVER.database})`,
    'the PostgreSQL store tests',
  )

describe('PostgreSQL server for the integration tests', () => {
  it(`answers on ${SERVER.host}:${SERVER.port}`, ({ skip }) => {
    if (!available && !inCi) return skip('no PostgreSQL server; skipped outside CI')
    expect(available, `PostgreSQL must answer on ${SERVER.host}:${SERVER.port} in CI`).toBe(true)
  })
})

/** A fresh schema with the migrated table, a store on its own pool, and peers on their own pools. */
async function postgresHarness(
  options: { queryTimeoutMs?: number } = {},
): Promise<StoreHarness & { store: PostgresTokenStore; admin: pg.Pool; schema: string }> {
  const schema = `${RUN}_${(schemas += 1)}`
  const admin = new pg.Pool({ ...SERVER, max: 2 })
  await admin.query(`CREATE SCHEMA ${schema}`)
  const pools: pg.Pool[] = [admin]
  const stores: PostgresTokenStore[] = []
  const open = () => {
    const pool = new pg.Pool({ ...SERVER, max: 4 })
    pools.push(pool)
    const store = new PostgresTokenStore(pool, { schema, queryTimeoutMs: options.queryTimeoutMs ?? 5000 })
    stores.push(store)
    return store
  }
  const store = open()
  await store.migrate()
  return {
    store,
    admin,
    schema,
    peer: async () => open(),
    subscribed: (s) => (s as PostgresTokenStore).listening(),
    secondProcess: () =>
      startSecondProcess({
        command: process.execPath,
        args: ['--import', 'tsx', fileURLToPath(new URL('./second-process/postgres.ts', import.meta.url))],
        env: { KW_SERVER: JSON.stringify(SERVER), KW_SCHEMA: schema },
        cwd: new URL('../..', import.meta.url),
      }),
    async close() {
      for (const s of stores) await s.close()
      await admin.query(`DROP SCHEMA ${schema} CASCADE`)
      for (const pool of pools) await pool.end()
    },
  }
}

let pglite: Promise<PGlite> | undefined
/** One in-process PGlite for the file (it takes a moment to start); a fresh schema per test. */
async function pgliteHarness(): Promise<StoreHarness> {
  pglite ??= PGlite.create()
  const db = await pglite
  const schema = `${RUN}_${(schemas += 1)}`
  await db.query(`CREATE SCHEMA ${schema}`)
  const stores: PostgresTokenStore[] = []
  const open = () => {
    const store = new PostgresTokenStore(db, { schema })
    stores.push(store)
    return store
  }
  const store = open()
  await store.migrate()
  return {
    store,
    // PGlite is one database in this process: a second store object on it plays the other instance.
    peer: async () => open(),
    subscribed: (s) => (s as PostgresTokenStore).listening(),
    async close() {
      for (const s of stores) await s.close()
      await db.query(`DROP SCHEMA ${schema} CASCADE`)
    },
  }
}

// PGlite takes seconds to start (over 10 s on a loaded machine): start it once, outside the
// per-test hook timeout.
beforeAll(async () => {
  pglite ??= PGlite.create()
  await pglite
}, 120_000)

afterAll(async () => {
  if (pglite !== undefined) await (await pglite).close()
  if (!available) return
  // A test that timed out never reached its own clean-up: drop whatever this run left behind.
  const admin = new pg.Client(SERVER)
  await admin.connect()
  try {
    const { rows } = await admin.query<{ nspname: string }>('SELECT nspname FROM pg_namespace WHERE starts_with(nspname, $1)', [`${RUN}_`])
    for (const { nspname } of rows) await admin.query(`DROP SCHEMA ${nspname} CASCADE`)
  } finally {
    await admin.end()
  }
})

if (available) describeTokenStoreConformance('PostgresTokenStore on PostgreSQL', () => postgresHarness())
describeTokenStoreConformance('PostgresTokenStore on PGlite', pgliteHarness)

describe('Postgres schema', () => {
  it('ships sql/keyward-001.sql identical to the exported migration', () => {
    const file = readFileSync(new URL('../../sql/keyward-001.sql', import.meta.url), 'utf8')
    expect(file).toBe(KEYWARD_POSTGRES_SCHEMA)
    expect(postgresSchemaSql({ table: 'keyward_keys' })).toBe(file)
  })

  it('ships sql/keyward-002.sql identical to the exported refresh-family migration', () => {
    const file = readFileSync(new URL('../../sql/keyward-002.sql', import.meta.url), 'utf8')
    expect(file).toBe(KEYWARD_POSTGRES_REFRESH_FAMILY_SCHEMA)
    expect(postgresRefreshFamilySql({ table: 'keyward_refresh_families' })).toBe(file)
    expect(postgresRefreshFamilySql({ schema: 'auth' })).toContain('CREATE TABLE IF NOT EXISTS auth.keyward_refresh_families (')
  })

  it('ships sql/keyward-004.sql identical to the exported credits migration', () => {
    expect(readFileSync(new URL('../../sql/keyward-004.sql', import.meta.url), 'utf8')).toBe(KEYWARD_POSTGRES_CREDITS_SCHEMA)
  })

  it('ships sql/keyward-003.sql identical to the exported lifecycle migration', () => {
    const file = readFileSync(new URL('../../sql/keyward-003.sql', import.meta.url), 'utf8')
    expect(file).toBe(KEYWARD_POSTGRES_LIFECYCLE_SCHEMA)
    expect(postgresLifecycleSql({ table: 'keyward_keys' })).toBe(file)
    expect(postgresLifecycleSql({ schema: 'auth' })).toContain('ALTER TABLE auth.keyward_keys ADD COLUMN IF NOT EXISTS version')
  })

  it(
    'upgrades a table made by keyward 001 alone: old rows read as version 0 with no root and keep working',
    { timeout: 120_000 },
    async () => {
      pglite ??= PGlite.create()
      const db = await pglite
      const schema = `${RUN}_${(schemas += 1)}`
      await db.query(`CREATE SCHEMA ${schema}`)
      try {
        for (const statement of postgresSchemaStatements({ schema })) await db.query(statement)
        const old = bareRecord()
        // A row as an earlier keyward wrote it, before the lifecycle columns existed.
        await db.query(
          `INSERT INTO ${schema}.keyward_keys ` +
            '(id, prefix, environment, hash, org_id, name, projects, scopes, created_at, updated_at) ' +
            "VALUES ($1, 'bsk', 'test', $2, 'org_1', 'Bare', '{p}', '{read}', $3, $3)",
          [old.id, old.hash, old.createdAt],
        )
        const store = new PostgresTokenStore(db, { schema })
        await store.migrate()
        await store.migrate() // the columns exist now: nothing to alter
        expect(await store.findById(old.id)).toStrictEqual({ ...old, version: 0, rootId: null })
        expect(await store.update(old.id, { name: 'stale' }, { ifVersion: 1 })).toBeNull()
        expect(await store.update(old.id, { name: 'Renamed' }, { ifVersion: 0 })).toMatchObject({ name: 'Renamed', version: 1 })
        await store.close()
      } finally {
        await db.query(`DROP SCHEMA ${schema} CASCADE`)
      }
    },
  )

  it('refuses table, schema and channel names that would need quoting', () => {
    const client = new MemoryClient()
    expect(() => new PostgresTokenStore(client, { table: 'Keys' })).toThrow(TypeError)
    expect(() => new PostgresTokenStore(client, { schema: 'a;drop' })).toThrow(TypeError)
    expect(() => new PostgresTokenStore(client, { channel: 'x y' })).toThrow(TypeError)
    expect(() => new PostgresTokenStore(client, { queryTimeoutMs: 0 })).toThrow(TypeError)
    expect(new PostgresTokenStore(client, { schema: 'auth', table: 'api_keys' }).channel).toBe('auth_api_keys')
  })

  // A PGlite of its own: it boots a WebAssembly Postgres, over 10 s on a loaded machine. Nothing here is timed.
  it('migrates idempotently on PGlite, also when two stores migrate at once', { timeout: 120_000 }, async () => {
    const db = await PGlite.create()
    try {
      const a = new PostgresTokenStore(db)
      const b = new PostgresTokenStore(db)
      await Promise.all([a.migrate(), b.migrate()])
      await a.migrate()
      const record = fullRecord()
      expect(await a.insert(record)).toBe(true)
      await b.migrate()
      expect(await b.findById(record.id)).toStrictEqual(record)
    } finally {
      await db.close()
    }
  })
})

/** A client that records the SQL it is sent, answers from `answer`, and can hang forever. */
class MemoryClient implements PostgresQueryable {
  readonly sent: string[] = []
  answer: (text: string) => Promise<{ rows: unknown[] }> = () => Promise.resolve({ rows: [] })
  query(text: string): Promise<{ rows: unknown[] }> {
    this.sent.push(text)
    return this.answer(text)
  }
}

describe('PostgresTokenStore faults', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('rejects a query that does not answer within queryTimeoutMs (default 500), and keyward answers 503', async () => {
    vi.useFakeTimers()
    const client = new MemoryClient()
    client.answer = () => new Promise(() => {})
    const store = new PostgresTokenStore(client)
    const found = store.findById('4fTq9ZkA')
    const caught = found.catch((error: unknown) => error)
    await vi.advanceTimersByTimeAsync(499)
    await vi.advanceTimersByTimeAsync(1)
    expect(String(await caught)).toMatch(/timed out after 500 ms/)

    const kw = createKeyward({ prefix: 'bsk', store, usageFlushMs: false, lockout: false })
    const { key } = await createKeyward({ prefix: 'bsk', store: new MemoryTokenStore(), usageFlushMs: false }).keys.create({
      name: 'k',
      orgId: 'o',
      projects: ['p'],
    })
    const verdict = kw.verify({ headers: { authorization: `Bearer ${key}` } })
    await vi.advanceTimersByTimeAsync(500)
    const result = await verdict
    expect(result.ok).toBe(false)
    if (!result.ok) expect(result.error.code).toBe('store_unavailable')
  })

  it('refuses malformed rows (times as Dates, lists as text) instead of handing them to keyward', async () => {
    const client = new MemoryClient()
    const store = new PostgresTokenStore(client)
    const good = {
      id: 'AbCd1234',
      prefix: 'bsk',
      environment: 'live',
      hash: 'a'.repeat(64),
      org_id: 'o',
      name: 'n',
      description: null,
      projects: ['p'],
      scopes: ['read'],
      allowed_origins: [],
      allowed_ips: [],
      rate_limit: [],
      metadata: {},
      expires_at: null,
      created_at: '1700000000000',
      updated_at: 1700000000000n,
      last_used_at: null,
      revoked_at: null,
      rotated_from: null,
      rotated_to: null,
      version: '3',
      root_id: null,
      credits: { remaining: 5, refill: null, epoch: 2 },
    }
    client.answer = () => Promise.resolve({ rows: [good] })
    const record = await store.findById('AbCd1234')
    expect(record?.createdAt).toBe(1700000000000)
    expect(record?.updatedAt).toBe(1700000000000)
    expect(record?.credits).toStrictEqual({ remaining: 5, refill: null, epoch: 2 })
    for (const bad of [
      { revoked_at: new Date() },
      { projects: '{p}' },
      { created_at: '1.5' },
      { rate_limit: [{ limit: '5', windowMs: 1000 }] },
      { metadata: [] },
      { environment: 'prod' },
      { expires_at: '9007199254740993' },
      { version: null },
      { version: '1.5' },
      { root_id: 7 },
      // A balance of text or without an epoch would never run out: refused (503), never endless.
      { credits: '{"remaining":5}' },
      { credits: { remaining: '5', refill: null, epoch: 2 } },
      { credits: { remaining: 5, refill: null } },
      { credits: undefined },
    ]) {
      client.answer = () => Promise.resolve({ rows: [{ ...good, ...bad }] })
      await expect(store.findById('AbCd1234')).rejects.toThrow(TypeError)
    }
  })

  it('rejects every refresh-family call when Postgres fails or times out; never a pass', async () => {
    vi.useFakeTimers()
    const client = new MemoryClient()
    const calls = familyCalls(new PostgresTokenStore(client), ['insert', 'rotate', 'revoke', 'find', 'purge'])
    const missing = Object.assign(new Error('relation "keyward_refresh_families" does not exist'), { code: '42P01' })
    await expectFailuresRejected(
      calls,
      () => (client.answer = () => Promise.reject(missing)),
      () => (client.answer = () => new Promise(() => {})),
      /does not exist/,
    )
  })

  it('refuses malformed refresh-family rows instead of deciding on them', async () => {
    const client = new MemoryClient()
    const store = new PostgresTokenStore(client)
    const family = familyRecord()
    const now = Date.now()
    const state = { current_jti: family.current, expires_at: String(family.expiresAt), revoked_at: null }
    client.answer = () => Promise.resolve({ rows: [state] })
    expect(await store.rotateRefreshFamily(family.id, family.current, 'next', now + 1000, now)).toBe('rotated')
    for (const bad of [{ revoked_at: new Date() }, { current_jti: 42 }, { expires_at: '1.5' }]) {
      client.answer = () => Promise.resolve({ rows: [{ ...state, ...bad }] })
      await expect(store.rotateRefreshFamily(family.id, family.current, 'next', now + 1000, now)).rejects.toThrow(TypeError)
    }
    client.answer = () => Promise.resolve({ rows: [state, state] })
    await expect(store.rotateRefreshFamily(family.id, family.current, 'next', now + 1000, now)).rejects.toThrow(TypeError)
    const row = {
      id: family.id,
      subject: family.subject,
      org_id: family.orgId,
      current_jti: family.current,
      expires_at: family.expiresAt,
      revoked_at: null,
      created_at: BigInt(family.createdAt),
    }
    client.answer = () => Promise.resolve({ rows: [row] })
    expect(await store.findRefreshFamily(family.id, now)).toStrictEqual(family)
    client.answer = () => Promise.resolve({ rows: [{ ...row, created_at: new Date() }] })
    await expect(store.findRefreshFamily(family.id, now)).rejects.toThrow(TypeError)
  })

  it('rotates in one statement and sends nothing for bad arguments', async () => {
    const client = new MemoryClient()
    const store = new PostgresTokenStore(client)
    await expect(store.insertRefreshFamily(familyRecord({ subject: '' }))).rejects.toThrow(TypeError)
    await expect(store.rotateRefreshFamily('f', 'a', 'a', 1, 1)).rejects.toThrow(TypeError)
    await expect(store.revokeRefreshFamily('f\u0000', 1)).rejects.toThrow(TypeError)
    await expect(store.purgeExpiredRefreshFamilies(Number.POSITIVE_INFINITY)).rejects.toThrow(TypeError)
    expect(client.sent).toStrictEqual([])
    expect(await store.rotateRefreshFamily('f', 'a', 'b', 1, 1)).toBe('unknown')
    expect(client.sent).toHaveLength(1)
    expect(client.sent[0]).toMatch(/^UPDATE keyward_refresh_families AS f SET[\s\S]*FOR UPDATE\) AS old/)
  })

  it('writes a whole touch batch in one statement', async () => {
    const client = new MemoryClient()
    const store = new PostgresTokenStore(client)
    await store.touch([
      { id: 'a0000001', lastUsedAt: 1 },
      { id: 'a0000002', lastUsedAt: 2 },
      { id: 'a0000001', lastUsedAt: 3 },
    ])
    expect(client.sent).toHaveLength(1)
    expect(client.sent[0]).toMatch(/^UPDATE /)
  })
})

describe.runIf(available)('PostgresTokenStore on PostgreSQL: migrate', () => {
  it('is idempotent, also when several instances migrate at once on their own connections', async () => {
    const schema = `${RUN}_${(schemas += 1)}`
    const pools = Array.from({ length: 4 }, () => new pg.Pool({ ...SERVER, max: 1 }))
    try {
      await pools[0]!.query(`CREATE SCHEMA ${schema}`)
      const stores = pools.map((pool) => new PostgresTokenStore(pool, { schema }))
      await Promise.all(stores.map((store) => store.migrate()))
      await stores[0]!.migrate()
      const record = fullRecord()
      expect(await stores[1]!.insert(record)).toBe(true)
      await stores[2]!.migrate()
      expect(await stores[3]!.findById(record.id)).toStrictEqual(record)
      const { rows } = await pools[0]!.query<{ indexname: string }>(
        'SELECT indexname FROM pg_indexes WHERE schemaname = $1 ORDER BY indexname',
        [schema],
      )
      expect(rows.map((r) => r.indexname)).toStrictEqual([
        'keyward_keys_org_id_idx',
        'keyward_keys_pkey',
        'keyward_refresh_families_expires_idx',
        'keyward_refresh_families_pkey',
      ])
    } finally {
      await pools[0]!.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
      for (const pool of pools) await pool.end()
    }
  })
})

describe.runIf(available)('PostgresTokenStore on PostgreSQL: the LISTEN connection', () => {
  it('flushes when the LISTEN connection is lost, and again once it is back; then hears announcements again', async () => {
    const harness = await postgresHarness()
    try {
      const { store, admin } = harness
      const events: InvalidationEvent[] = []
      let notify: () => void = () => {}
      const unsubscribe = store.subscribe((event) => {
        events.push(event)
        notify()
      })
      const eventCount = (n: number) =>
        new Promise<void>((resolve) => {
          notify = () => events.length >= n && resolve()
          notify()
        })
      await store.listening()
      await eventCount(1)
      expect(events).toStrictEqual([{ type: 'flush' }])

      const { rows } = await admin.query<{ pid: number }>(
        'SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query = $1',
        [`LISTEN ${store.channel}`],
      )
      expect(rows).toHaveLength(1)
      await admin.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid])
      // Lost: flush. Re-established (after reconnectDelayMs): flush again.
      await eventCount(3)
      expect(events).toStrictEqual([{ type: 'flush' }, { type: 'flush' }, { type: 'flush' }])
      await store.listening()

      const other = (await harness.peer!()) as TokenStore
      const record = bareRecord()
      await other.insert(record)
      await other.update(record.id, { revokedAt: 1 })
      await eventCount(4)
      expect(events[3]).toStrictEqual({ type: 'key', id: record.id })
      unsubscribe()
    } finally {
      await harness.close()
    }
  })

  it('LISTENs on a pg Client given as `listener`, and on a new one like it once that one is lost', async () => {
    const harness = await postgresHarness()
    const pool = new pg.Pool({ ...SERVER, max: 2 })
    const listener = new pg.Client(SERVER)
    const errors: unknown[] = []
    const store = new PostgresTokenStore(pool, { schema: harness.schema, listener, reconnectDelayMs: 20, onError: (e) => errors.push(e) })
    try {
      const events: InvalidationEvent[] = []
      const unsubscribe = store.subscribe((e) => events.push(e))
      await store.listening()
      const backend = async () =>
        (
          await harness.admin.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE query = $1 AND pid <> pg_backend_pid()', [
            `LISTEN ${store.channel}`,
          ])
        ).rows.map((r) => r.pid)
      const [first] = await backend()
      expect(first).toBeDefined()
      // The listener is not one of the pool's connections.
      expect(pool.totalCount).toBe(1) // the self-test's NOTIFY only
      await harness.admin.query('SELECT pg_terminate_backend($1)', [first])
      await expect.poll(() => events.filter((e) => e.type === 'flush').length, { timeout: 10_000 }).toBe(3)
      await store.listening()
      expect(await backend()).not.toContain(first)
      const record = bareRecord()
      await harness.store.insert(record)
      await harness.store.update(record.id, { revokedAt: 1 })
      await expect.poll(() => events.at(-1)).toStrictEqual({ type: 'key', id: record.id })
      expect(errors.map(String)).toHaveLength(1) // the loss
      unsubscribe()
    } finally {
      await store.close()
      await pool.end()
      await harness.close()
    }
  })

  it('treats NOTIFY with an empty payload (a hand edit of the table) as a flush', async () => {
    const harness = await postgresHarness()
    try {
      const { store, admin } = harness
      const flushes: InvalidationEvent[] = []
      let heard: () => void = () => {}
      const unsubscribe = store.subscribe((event) => {
        if (event.type === 'flush') flushes.push(event)
        heard()
      })
      await store.listening()
      const second = new Promise<void>((resolve) => {
        heard = () => flushes.length >= 2 && resolve()
        heard()
      })
      await admin.query(`SELECT pg_notify($1, '')`, [store.channel])
      await second
      unsubscribe()
    } finally {
      await harness.close()
    }
  })
})

/** A TCP relay to PostgreSQL that a test can cut (as if the server died) and restore. */
async function relay() {
  const sockets = new Set<net.Socket>()
  let server: net.Server | undefined
  let port = 0
  const start = () =>
    new Promise<void>((resolve, reject) => {
      const listening = net.createServer((downstream) => {
        const upstream = net.connect(SERVER.port, SERVER.host)
        const end = () => {
          downstream.destroy()
          upstream.destroy()
          sockets.delete(downstream)
          sockets.delete(upstream)
        }
        for (const socket of [downstream, upstream]) {
          sockets.add(socket)
          socket.on('error', end)
          socket.on('close', end)
        }
        downstream.pipe(upstream)
        upstream.pipe(downstream)
      })
      listening.once('error', reject)
      listening.listen(port, SERVER.host, () => {
        port = (listening.address() as net.AddressInfo).port
        server = listening
        resolve()
      })
    })
  const cut = () =>
    new Promise<void>((resolve) => {
      if (server === undefined) return resolve()
      server.close(() => resolve())
      server = undefined
      for (const socket of sockets) socket.destroy()
    })
  await start()
  return { port: () => port, cut, restore: start }
}

describe.runIf(available)('PostgresTokenStore on PostgreSQL: the server goes away and comes back', () => {
  it('answers 503 (never a pass, cache or not) while PostgreSQL is unreachable, and resumes when it is back', async () => {
    const link = await relay()
    const schema = `${RUN}_${(schemas += 1)}`
    const admin = new pg.Pool({ ...SERVER, max: 1 })
    await admin.query(`CREATE SCHEMA ${schema}`)
    const pool = new pg.Pool({ ...SERVER, port: link.port(), max: 4, connectionTimeoutMillis: 2000 })
    // Idle pooled connections die with the relay; pg reports that on the pool.
    pool.on('error', () => {})
    const store = new PostgresTokenStore(pool, { schema, reconnectDelayMs: 20, queryTimeoutMs: 2000 })
    const kw = createKeyward({ prefix: 'bsk', store, usageFlushMs: false, lockout: false })
    const flushes: number[] = []
    let seen: () => void = () => {}
    const unsubscribe = store.subscribe((event) => {
      if (event.type === 'flush') flushes.push(1)
      seen()
    })
    const flushCount = (n: number) =>
      new Promise<void>((resolve) => {
        seen = () => flushes.length >= n && resolve()
        seen()
      })
    try {
      await store.migrate()
      const { key } = await kw.keys.create({ name: 'k', orgId: 'org_1', projects: ['prod-site'] })
      const request = { headers: { authorization: `Bearer ${key}` }, project: 'prod-site' }
      await store.listening()
      await flushCount(1)
      expect((await kw.verify(request)).ok).toBe(true) // now cached

      await link.cut()
      await flushCount(2) // the LISTEN connection's loss flushed every cache
      for (let i = 0; i < 3; i++) {
        const down = await kw.verify(request)
        expect(down.ok).toBe(false)
        if (!down.ok) expect(down.error.code).toBe('store_unavailable')
      }

      await link.restore()
      await flushCount(3) // listening again: flushed once more
      await store.listening()
      expect((await kw.verify(request)).ok).toBe(true)
    } finally {
      unsubscribe()
      await kw.close()
      await store.close()
      await link.cut()
      await pool.end()
      await admin.query(`DROP SCHEMA ${schema} CASCADE`)
      await admin.end()
    }
  })

  it('a single pg Client cannot LISTEN: degraded, reported once; with listen: false, own subscribers only, silent', async () => {
    const harness = await postgresHarness()
    const client = new pg.Client(SERVER)
    await client.connect()
    try {
      const errors: unknown[] = []
      const store = new PostgresTokenStore(client, { schema: harness.schema, onError: (e) => errors.push(e) })
      const events: InvalidationEvent[] = []
      const unsubscribe = store.subscribe((e) => events.push(e))
      await expect(store.listening()).rejects.toThrow(/cannot LISTEN through this client/)
      const record = bareRecord()
      await store.insert(record)
      await store.update(record.id, { name: 'x' })
      expect(events.map((e) => (e.type === 'key' ? e.id : e.type))).toStrictEqual(['degraded', record.id])
      expect(errors).toHaveLength(1)
      unsubscribe()
      await store.close()

      const single = new PostgresTokenStore(client, { schema: harness.schema, listen: false, onError: (e) => errors.push(e) })
      const own: InvalidationEvent[] = []
      const leave = single.subscribe((e) => own.push(e))
      await single.listening()
      await single.update(record.id, { name: 'y' })
      expect(own).toStrictEqual([{ type: 'key', id: record.id }])
      expect(errors).toHaveLength(1)
      leave()
      await single.close()
    } finally {
      await client.end()
      await harness.close()
    }
  })
})
