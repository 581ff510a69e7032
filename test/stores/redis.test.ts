import { randomUUID } from 'node:crypto'
import { EventEmitter } from 'node:events'
import net from 'node:net'
import { fileURLToPath } from 'node:url'
import Redis from 'ioredis'
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest'
import { createKeyward, MemoryTokenStore, type InvalidationEvent, type TokenStore } from '../../src/index.js'
import { RedisTokenStore, type RedisStoreClient, type RedisSubscriberConnection } from '../../src/stores/redis-token-store.js'
import {
  bareRecord,
  describeTokenStoreConformance,
  familyRecord,
  fullRecord,
  startSecondProcess,
  type StoreHarness,
} from '../../testing/index.js'
import { expectFailuresRejected, familyCalls } from './refresh-family-faults.js'
import { CI, REDIS, redisAnswers, warnSkipped } from '../support/servers.js'

const HOST = REDIS.host
const PORT = REDIS.port
/** Every Redis key and connection name of this run starts with this. */
const RUN = `kwtest:store:${randomUUID()}`
let stores = 0

const available = await redisAnswers()
if (!available) warnSkipped(`Redis on ${HOST}:${PORT}`, 'the RedisTokenStore integration tests')

describe('Redis server for the store integration tests', () => {
  it(`answers on ${HOST}:${PORT}`, ({ skip }) => {
    if (!available && !CI) return skip('no Redis server; skipped outside CI')
    expect(available, `Redis must answer on ${HOST}:${PORT} in CI`).toBe(true)
  })
})

async function deleteKeys(admin: Redis, pattern: string): Promise<void> {
  let cursor = '0'
  do {
    const [next, keys] = await admin.scan(cursor, 'MATCH', pattern, 'COUNT', 1000)
    cursor = next
    if (keys.length > 0) await admin.del(...keys)
  } while (cursor !== '0')
}

type RedisHarness = StoreHarness & {
  store: RedisTokenStore
  admin: Redis
  prefix: string
  name: string
  open(options?: { timeoutMs?: number }): RedisTokenStore
}

/** A fresh prefix, a store on its own connection, and peers on their own connections. */
async function redisHarness(): Promise<RedisHarness> {
  const prefix = `${RUN}:${(stores += 1)}:`
  const name = `kwtest-${randomUUID()}`
  const admin = new Redis({ host: HOST, port: PORT })
  const clients: Redis[] = [admin]
  const opened: RedisTokenStore[] = []
  const open = (options: { timeoutMs?: number } = {}) => {
    // The name is inherited by the subscriber connection (duplicate()), so a test can find and kill it.
    const client = new Redis({ host: HOST, port: PORT, connectionName: name })
    clients.push(client)
    // Generous outside the timeout test: a loaded CI machine must not turn slowness into failure.
    const store = new RedisTokenStore(client, { prefix, timeoutMs: options.timeoutMs ?? 10_000, reconnectDelayMs: 20 })
    opened.push(store)
    return store
  }
  const store = open()
  return {
    store,
    admin,
    prefix,
    name,
    open,
    peer: async () => open(),
    subscribed: (s) => (s as RedisTokenStore).listening(),
    secondProcess: () =>
      startSecondProcess({
        command: process.execPath,
        args: ['--import', 'tsx', fileURLToPath(new URL('./second-process/redis.ts', import.meta.url))],
        env: { KW_SERVER: JSON.stringify({ host: HOST, port: PORT }), KW_PREFIX: prefix },
        cwd: new URL('../..', import.meta.url),
      }),
    async close() {
      for (const s of opened) await s.close()
      await deleteKeys(admin, `${prefix}*`)
      for (const client of clients) await client.quit()
    },
  }
}

afterAll(async () => {
  if (!available) return
  // A test that timed out never reached its own clean-up: drop whatever this run left behind.
  const admin = new Redis({ host: HOST, port: PORT })
  try {
    await deleteKeys(admin, `${RUN}:*`)
  } finally {
    await admin.quit()
  }
})

if (available) describeTokenStoreConformance('RedisTokenStore on Redis', () => redisHarness())

/** Collects a store's events; `count(n)` resolves once n have arrived (the test timeout bounds the wait). */
function recorder(store: TokenStore) {
  const events: InvalidationEvent[] = []
  let check: () => void = () => {}
  const unsubscribe = store.subscribe!((event) => {
    events.push(event)
    check()
  })
  const count = (n: number) =>
    new Promise<void>((resolve) => {
      check = () => events.length >= n && resolve()
      check()
    })
  return { events, count, unsubscribe }
}

describe.runIf(available)('RedisTokenStore on Redis: records written before versions', () => {
  it('reads a record without version and rootId as version 0 with no root, and writes it conditionally', async () => {
    const harness = await redisHarness()
    try {
      const record = bareRecord()
      await harness.store.insert(record)
      const key = `${harness.prefix}key:{${record.id}}`
      // What an earlier keyward stored: no version, no rootId.
      await harness.admin.hdel(key, 'version', 'rootId')
      expect(await harness.store.findById(record.id)).toStrictEqual({ ...record, version: 0, rootId: null })
      expect(await harness.store.update(record.id, { name: 'stale' }, { ifVersion: 1 })).toBeNull()
      expect(await harness.store.update(record.id, { name: 'x' }, { ifVersion: 0 })).toMatchObject({ name: 'x', version: 1 })
      expect(await harness.admin.hget(key, 'version')).toBe('1')
    } finally {
      await harness.close()
    }
  })
})

describe.runIf(available)('RedisTokenStore on Redis: the subscriber connection', () => {
  it('stores records as hashes under the prefix, each with its id as hash tag, and keeps revoked ones', async () => {
    const harness = await redisHarness()
    try {
      const record = bareRecord()
      await harness.store.insert(record)
      await harness.store.update(record.id, { revokedAt: 5 })
      const key = `${harness.prefix}key:{${record.id}}`
      expect(await harness.admin.type(key)).toBe('hash')
      expect(await harness.admin.hget(key, 'revokedAt')).toBe('5')
      const orgKeys = await harness.admin.keys(`${harness.prefix}org:*`)
      expect(orgKeys).toHaveLength(1)
      expect(orgKeys[0]).toMatch(/:org:\{[0-9a-f]{32}\}$/)
      expect(await harness.admin.zrange(orgKeys[0]!, 0, -1)).toStrictEqual([record.id])
    } finally {
      await harness.close()
    }
  })

  it('keeps a refresh family as a hash under the prefix with its id as hash tag, expiring by itself at its expiry', async () => {
    const harness = await redisHarness()
    try {
      const record = familyRecord()
      await harness.store.insertRefreshFamily(record)
      const key = `${harness.prefix}family:{${record.id}}`
      expect(await harness.admin.hgetall(key)).toStrictEqual({
        id: record.id,
        subject: record.subject,
        orgId: record.orgId,
        current: record.current,
        expiresAt: String(record.expiresAt),
        revokedAt: '',
        createdAt: String(record.createdAt),
      })
      expect(await harness.admin.call('PEXPIRETIME', key)).toBe(record.expiresAt)
      const later = record.expiresAt + 60_000
      expect(await harness.store.rotateRefreshFamily(record.id, record.current, 'jti_next', later, Date.now())).toBe('rotated')
      expect(await harness.admin.call('PEXPIRETIME', key)).toBe(later)
      // A family inserted already expired is gone at once: Redis deletes it, nothing lingers.
      const dead = familyRecord({ expiresAt: Date.now() - 1 })
      expect(await harness.store.insertRefreshFamily(dead)).toBe(true)
      expect(await harness.admin.exists(`${harness.prefix}family:{${dead.id}}`)).toBe(0)
      expect(await harness.store.rotateRefreshFamily(dead.id, dead.current, 'jti_next', later, Date.now())).toBe('unknown')
    } finally {
      await harness.close()
    }
  })

  it('flushes when the subscriber connection is killed (CLIENT KILL), again once resubscribed, then hears announcements', async () => {
    const harness = await redisHarness()
    try {
      const { store, admin } = harness
      const seen = recorder(store)
      await store.listening()
      await seen.count(1)
      expect(seen.events).toStrictEqual([{ type: 'flush' }])

      const list = (await admin.client('LIST', 'TYPE', 'PUBSUB')) as string
      const ids = list
        .split('\n')
        .filter((line) => line.includes(` name=${harness.name} `))
        .map((line) => /^id=(\d+)/.exec(line)![1]!)
      expect(ids).toHaveLength(1)
      await admin.client('KILL', 'ID', ids[0]!)
      // Lost: flush. Resubscribed after ioredis reconnects: flush again.
      await seen.count(3)
      expect(seen.events).toStrictEqual([{ type: 'flush' }, { type: 'flush' }, { type: 'flush' }])
      await store.listening()

      const other = await harness.peer!()
      const record = bareRecord()
      await other.insert(record)
      await other.update(record.id, { revokedAt: 1 })
      await seen.count(4)
      expect(seen.events[3]).toStrictEqual({ type: 'key', id: record.id })
      seen.unsubscribe()
    } finally {
      await harness.close()
    }
  })

  it('treats a message with an empty payload (a hand edit) as a flush', async () => {
    const harness = await redisHarness()
    try {
      const seen = recorder(harness.store)
      await harness.store.listening()
      await seen.count(1)
      await harness.admin.publish(harness.store.channel, '')
      await seen.count(2)
      expect(seen.events).toStrictEqual([{ type: 'flush' }, { type: 'flush' }])
      seen.unsubscribe()
    } finally {
      await harness.close()
    }
  })

  it('answers 503 when Redis does not answer within timeoutMs (CLIENT PAUSE), and resumes after', async () => {
    const harness = await redisHarness()
    const store = harness.open({ timeoutMs: 100 })
    const kw = createKeyward({ prefix: 'bsk', store, usageFlushMs: false, lockout: false })
    try {
      const { key } = await kw.keys.create({ name: 'k', orgId: 'org_1', projects: ['prod-site'] })
      const request = { headers: { authorization: `Bearer ${key}` }, project: 'prod-site' }
      // A bounded pause (Redis lifts it by itself), always undone below.
      await harness.admin.client('PAUSE', '1000', 'ALL')
      try {
        await expect(store.findById('AbCd1234')).rejects.toThrow(/timed out after 100 ms/)
        const down = await kw.verify(request)
        expect(down.ok).toBe(false)
        if (!down.ok) expect(down.error.code).toBe('store_unavailable')
      } finally {
        await harness.admin.client('UNPAUSE')
      }
      expect((await kw.verify(request)).ok).toBe(true)
    } finally {
      await kw.close()
      await harness.close()
    }
  })
})

/** A TCP relay to Redis that a test can cut (as if the server died) and restore. */
async function relay() {
  const sockets = new Set<net.Socket>()
  let server: net.Server | undefined
  let port = 0
  const start = () =>
    new Promise<void>((resolve, reject) => {
      const listening = net.createServer((downstream) => {
        const upstream = net.connect(PORT, HOST)
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
      listening.listen(port, HOST, () => {
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

describe.runIf(available)('RedisTokenStore on Redis: the server goes away and comes back', () => {
  it('answers 503 (never a pass, cache or not) while Redis is unreachable, flushes on the loss, and resumes when it is back', async () => {
    const link = await relay()
    const harness = await redisHarness()
    const client = new Redis({ host: HOST, port: link.port(), retryStrategy: () => 20 })
    client.on('error', () => {})
    const store = new RedisTokenStore(client, { prefix: harness.prefix, timeoutMs: 1000, reconnectDelayMs: 20 })
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
      const { key } = await kw.keys.create({ name: 'k', orgId: 'org_1', projects: ['prod-site'] })
      const request = { headers: { authorization: `Bearer ${key}` }, project: 'prod-site' }
      await store.listening()
      await flushCount(1)
      expect((await kw.verify(request)).ok).toBe(true) // now cached

      await link.cut()
      await flushCount(2) // the subscriber connection's loss flushed every cache
      for (let i = 0; i < 3; i++) {
        const down = await kw.verify(request)
        expect(down.ok).toBe(false)
        if (!down.ok) expect(down.error.code).toBe('store_unavailable')
      }

      await link.restore()
      await flushCount(3) // subscribed again: flushed once more
      await store.listening()
      expect((await kw.verify(request)).ok).toBe(true)
    } finally {
      unsubscribe()
      await kw.close()
      await store.close()
      client.disconnect()
      await link.cut()
      await harness.close()
    }
  })
})

/** A client whose answers the test decides; a subscriber whose events the test emits. */
class FakeSubscriber extends EventEmitter implements RedisSubscriberConnection {
  status = 'connecting'
  subscribed: string[] = []
  disconnected = 0
  connect(): Promise<void> {
    return Promise.resolve()
  }
  subscribe(channel: string): Promise<number> {
    this.subscribed.push(channel)
    return Promise.resolve(1)
  }
  pings = 0
  pong: () => Promise<unknown> = () => Promise.resolve('PONG')
  ping(): Promise<unknown> {
    this.pings += 1
    return this.pong()
  }
  reconnects = 0
  disconnect(reconnect?: boolean): void {
    if (reconnect === true) this.reconnects += 1
    else this.disconnected += 1
  }
}

class FakeClient implements RedisStoreClient {
  readonly sent: unknown[][] = []
  readonly subscribers: FakeSubscriber[] = []
  answer: (args: unknown[]) => Promise<unknown> = () => Promise.resolve(0)
  fields: Promise<Record<string, string>> = Promise.resolve({})
  evalsha(...args: [string, number, ...string[]]): Promise<unknown> {
    this.sent.push(['evalsha', ...args])
    return this.answer(args)
  }
  eval(...args: [string, number, ...string[]]): Promise<unknown> {
    this.sent.push(['eval', ...args])
    return this.answer(args)
  }
  hgetall(key: string): Promise<Record<string, string>> {
    this.sent.push(['hgetall', key])
    return this.fields
  }
  duplicate(): FakeSubscriber {
    const subscriber = new FakeSubscriber()
    this.subscribers.push(subscriber)
    return subscriber
  }
}

/** A record as Redis holds it: each field's JSON text. */
function asFields(record: object): Record<string, string> {
  return Object.fromEntries(Object.entries(record).map(([field, value]) => [field, JSON.stringify(value)]))
}

describe.runIf(available)('RedisTokenStore on Redis: client options', () => {
  it('subscribes on a client with enableOfflineQueue: false and lazyConnect: true (the README set-up)', async () => {
    const harness = await redisHarness()
    const client = new Redis({ host: HOST, port: PORT, enableOfflineQueue: false, lazyConnect: true })
    await client.connect()
    const store = new RedisTokenStore(client, { prefix: harness.prefix, timeoutMs: 10_000 })
    try {
      const seen = recorder(store)
      await store.listening()
      const record = bareRecord()
      await harness.store.insert(record)
      await harness.store.update(record.id, { revokedAt: 7 })
      await seen.count(2)
      expect(seen.events).toStrictEqual([{ type: 'flush' }, { type: 'key', id: record.id }])
      expect((await store.findById(record.id))?.revokedAt).toBe(7)
      seen.unsubscribe()
    } finally {
      await store.close()
      await client.quit()
      await harness.close()
    }
  })
})

describe.runIf(available)('RedisTokenStore on Redis: the heartbeat', () => {
  it('PINGs the subscriber connection every heartbeatMs without losing the subscription', async () => {
    const harness = await redisHarness()
    const client = new Redis({ host: HOST, port: PORT })
    let pongs = 0
    let pinged: () => void = () => {}
    // The real duplicate(), with its ping() counted.
    const counting: RedisStoreClient = {
      evalsha: (...args) => client.evalsha(...args),
      eval: (...args) => client.eval(...args),
      hgetall: (key) => client.hgetall(key),
      duplicate: (override) => {
        const subscriber = client.duplicate(override)
        const ping = subscriber.ping.bind(subscriber)
        subscriber.ping = (() =>
          ping().then((reply) => {
            pongs += 1
            pinged()
            return reply
          })) as typeof subscriber.ping
        return subscriber
      },
    }
    const errors: unknown[] = []
    const store = new RedisTokenStore(counting, {
      prefix: harness.prefix,
      timeoutMs: 10_000,
      heartbeatMs: 10,
      onError: (e) => errors.push(e),
    })
    try {
      const seen = recorder(store)
      await store.listening()
      await new Promise<void>((resolve) => {
        pinged = () => pongs >= 3 && resolve()
        pinged()
      })
      const record = bareRecord()
      await harness.store.insert(record)
      await harness.store.update(record.id, { name: 'changed' })
      await seen.count(2)
      expect(seen.events).toStrictEqual([{ type: 'flush' }, { type: 'key', id: record.id }])
      expect(errors).toStrictEqual([])
      seen.unsubscribe()
    } finally {
      await store.close()
      await client.quit()
      await harness.close()
    }
  })
})

describe('RedisTokenStore without a server', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it("refuses a client with ioredis's keyPrefix (one prefix, the store's: ioredis would not prefix the channel)", () => {
    const client = Object.assign(new FakeClient(), { options: { keyPrefix: 'app:' } })
    expect(() => new RedisTokenStore(client)).toThrow(/keyPrefix/)
  })

  it('rejects a call that does not answer within timeoutMs (default 500), and keyward answers 503', async () => {
    vi.useFakeTimers()
    const client = new FakeClient()
    client.fields = new Promise(() => {})
    const store = new RedisTokenStore(client)
    const caught = store.findById('4fTq9ZkA').catch((error: unknown) => error)
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

  it('a Cluster with no known master: createKeyward does not throw, onError hears it, a timer retry subscribes later', async () => {
    vi.useFakeTimers()
    const master = new FakeClient()
    let masters: FakeClient[] = []
    const cluster = Object.assign(new FakeClient(), { isCluster: true, nodes: () => masters })
    const errors: unknown[] = []
    const store = new RedisTokenStore(cluster, { reconnectDelayMs: 20, onError: (e) => errors.push(e) })
    const kw = createKeyward({ prefix: 'bsk', store, usageFlushMs: false })
    const events: InvalidationEvent[] = []
    store.subscribe((e) => events.push(e))
    // Retries run in timers: a throw there would escape advanceTimersByTimeAsync (in production, an uncaughtException).
    await vi.advanceTimersByTimeAsync(20 + 40 + 1)
    expect(errors.map(String)).toStrictEqual(Array(3).fill('Error: keyward: the Redis Cluster has no known master to subscribe on yet'))
    await expect(store.listening()).rejects.toThrow(/no known master/)
    expect(events.map((e) => e.type)).toStrictEqual(['degraded'])
    masters = [master]
    await vi.advanceTimersByTimeAsync(80)
    expect(master.subscribers).toHaveLength(1)
    master.subscribers[0]!.emit('ready')
    await vi.advanceTimersByTimeAsync(0)
    await expect(store.listening()).resolves.toBeUndefined()
    expect(events.map((e) => e.type)).toStrictEqual(['degraded', 'healthy', 'flush'])
    await kw.close()
    await store.close()
  })

  it('a client without duplicate(): degraded and reported once unless listen: false says this is the only instance', async () => {
    const { duplicate: _, ...rest } = Object.getOwnPropertyDescriptors(FakeClient.prototype)
    const bare = () => Object.defineProperties(new FakeClient(), { ...rest, duplicate: { value: undefined } }) as FakeClient
    const errors: unknown[] = []
    const store = new RedisTokenStore(bare(), { onError: (e) => errors.push(e) })
    const events: InvalidationEvent[] = []
    store.subscribe((e) => events.push(e))
    expect(events.map((e) => e.type)).toStrictEqual(['degraded'])
    await expect(store.listening()).rejects.toThrow(/cannot subscribe through a client without duplicate\(\)/)
    expect(errors).toHaveLength(1)
    await store.close()

    const single = new RedisTokenStore(bare(), { listen: false, onError: (e) => errors.push(e) })
    const quiet: InvalidationEvent[] = []
    single.subscribe((e) => quiet.push(e))
    await expect(single.listening()).resolves.toBeUndefined()
    expect(quiet).toStrictEqual([])
    expect(errors).toHaveLength(1)
    await single.close()
  })

  it('refuses malformed records (times as text, lists as text, missing fields) instead of handing them to keyward', async () => {
    const client = new FakeClient()
    const store = new RedisTokenStore(client)
    const good = fullRecord()
    client.fields = Promise.resolve(asFields(good))
    expect(await store.findById(good.id)).toStrictEqual(good)
    const bad: Array<Record<string, string>> = [
      { revokedAt: '"2026-01-01"' },
      { expiresAt: '"9999"' },
      { createdAt: '1.5' },
      { updatedAt: '9007199254740993' },
      { projects: '"p"' },
      { scopes: '[1]' },
      { rateLimit: '[{"limit":"5","windowMs":1000}]' },
      { metadata: '[]' },
      { environment: '"prod"' },
      { name: 'not json' },
    ]
    for (const fields of bad) {
      client.fields = Promise.resolve({ ...asFields(good), ...fields })
      await expect(store.findById(good.id)).rejects.toThrow(TypeError)
    }
    const { hash: _, ...missing } = asFields(good)
    client.fields = Promise.resolve(missing)
    await expect(store.findById(good.id)).rejects.toThrow(TypeError)
  })

  it('writes a touch batch as one single-key script per record (a slot each on a Cluster), the latest time per id', async () => {
    const client = new FakeClient()
    const store = new RedisTokenStore(client, { prefix: 'p:' })
    await store.touch([
      { id: 'a0000001', lastUsedAt: 1 },
      { id: 'a0000002', lastUsedAt: 2 },
      { id: 'a0000001', lastUsedAt: 3 },
    ])
    expect(client.sent.map((call) => call[0])).toStrictEqual(['evalsha', 'evalsha'])
    expect(client.sent.map((call) => call.slice(2))).toStrictEqual([
      [1, 'p:key:{a0000001}', '3'],
      [1, 'p:key:{a0000002}', '2'],
    ])
  })

  it('sends the script whole when Redis answers NOSCRIPT', async () => {
    const client = new FakeClient()
    client.answer = (args) =>
      typeof args[0] === 'string' && args[0].length === 40 && client.sent.length === 1
        ? Promise.reject(new Error('NOSCRIPT No matching script'))
        : Promise.resolve(1)
    const store = new RedisTokenStore(client)
    expect(await store.insert(bareRecord())).toBe(true)
    // The org index first (its script forgotten, sent whole), then the record.
    expect(client.sent.map((call) => call[0])).toStrictEqual(['evalsha', 'eval', 'evalsha'])
  })

  it('rejects every refresh-family call when Redis fails, times out or answers nonsense; never a pass', async () => {
    vi.useFakeTimers()
    const client = new FakeClient()
    const calls = familyCalls(new RedisTokenStore(client), ['insert', 'rotate', 'revoke'])
    const readonly = new Error("READONLY You can't write against a read only replica.")
    await expectFailuresRejected(
      calls,
      () => (client.answer = () => Promise.reject(readonly)),
      () => (client.answer = () => new Promise(() => {})),
      /READONLY/,
    )
    await expectFailuresRejected(
      familyCalls(new RedisTokenStore(client), ['find']),
      () => (client.fields = Promise.reject(readonly)),
      () => (client.fields = new Promise(() => {})),
      /READONLY/,
    )
    for (const reply of ['OK', 'ROTATED', 2, null, ['rotated']]) {
      client.answer = () => Promise.resolve(reply)
      for (const call of calls) await expect(call()).rejects.toThrow()
    }
  })

  it('refuses a malformed refresh family hash instead of handing it out', async () => {
    const client = new FakeClient()
    const store = new RedisTokenStore(client)
    const family = familyRecord()
    const good = {
      id: family.id,
      subject: family.subject,
      orgId: family.orgId,
      current: family.current,
      expiresAt: String(family.expiresAt),
      revokedAt: '',
      createdAt: String(family.createdAt),
    }
    client.fields = Promise.resolve(good)
    expect(await store.findRefreshFamily(family.id)).toStrictEqual(family)
    for (const bad of [{ expiresAt: '1.5e12' }, { revokedAt: 'null' }, { createdAt: '9007199254740993' }, { current: undefined }]) {
      client.fields = Promise.resolve({ ...good, ...bad } as Record<string, string>)
      await expect(store.findRefreshFamily(family.id)).rejects.toThrow(TypeError)
    }
  })

  it('sends nothing to Redis for a refresh-family call with bad arguments', async () => {
    const client = new FakeClient()
    const store = new RedisTokenStore(client)
    await expect(store.insertRefreshFamily(familyRecord({ expiresAt: Number.NaN }))).rejects.toThrow(TypeError)
    await expect(store.rotateRefreshFamily('f', 'a', 'a', 1, 1)).rejects.toThrow(TypeError)
    await expect(store.revokeRefreshFamily('f'.repeat(65), 1)).rejects.toThrow(TypeError)
    await expect(store.findRefreshFamily('f', 1.5)).rejects.toThrow(TypeError)
    expect(client.sent).toStrictEqual([])
  })

  it('sends a refresh-family script whole when Redis answers NOSCRIPT', async () => {
    const client = new FakeClient()
    client.answer = () => (client.sent.length === 1 ? Promise.reject(new Error('NOSCRIPT No matching script')) : Promise.resolve('rotated'))
    const store = new RedisTokenStore(client, { prefix: 'p:' })
    expect(await store.rotateRefreshFamily('fam1', 'a', 'b', 2, 1)).toBe('rotated')
    expect(client.sent.map((call) => call[0])).toStrictEqual(['evalsha', 'eval'])
    expect(client.sent[1]!.slice(2)).toStrictEqual([1, 'p:family:{fam1}', 'a', 'b', '2', '1'])
  })

  it('validates its options eagerly', () => {
    const client = new FakeClient()
    expect(() => new RedisTokenStore({} as RedisStoreClient)).toThrow(TypeError)
    expect(() => new RedisTokenStore(client, { prefix: 'a{b}:' })).toThrow(/prefix/)
    expect(() => new RedisTokenStore(client, { timeoutMs: 0 })).toThrow(/timeoutMs/)
    expect(() => new RedisTokenStore(client, { channel: '' })).toThrow(/channel/)
    expect(new RedisTokenStore(client, { prefix: 'app:' }).channel).toBe('app:keys:changed')
  })

  it('replaces a subscriber connection that ioredis gave up on, flushing on the loss and on the new subscription', async () => {
    const client = new FakeClient()
    const errors: unknown[] = []
    const store = new RedisTokenStore(client, { reconnectDelayMs: 1, onError: (e) => errors.push(e) })
    const seen = recorder(store)
    // The subscriber is opened on the next microtask (a throwing duplicate() is then a failed attempt).
    await vi.waitFor(() => expect(client.subscribers).toHaveLength(1))
    const first = client.subscribers[0]!
    first.status = 'ready'
    first.emit('ready')
    await store.listening()
    expect(seen.events).toStrictEqual([{ type: 'flush' }])
    first.emit('message', store.channel, 'AbCd1234')
    first.emit('message', 'another channel', 'ZzZz0000')
    expect(seen.events.slice(1)).toStrictEqual([{ type: 'key', id: 'AbCd1234' }])

    first.emit('close')
    first.emit('end')
    expect(seen.events.slice(2)).toStrictEqual([{ type: 'flush' }])
    expect(errors).toHaveLength(1)
    await vi.waitFor(() => expect(client.subscribers).toHaveLength(2))
    const second = client.subscribers[1]!
    second.emit('ready')
    await store.listening()
    expect(seen.events.slice(3)).toStrictEqual([{ type: 'flush' }])
    // The old connection is no longer heard.
    first.emit('message', store.channel, 'AbCd1234')
    expect(seen.events).toHaveLength(4)

    seen.unsubscribe()
    expect(second.disconnected).toBe(1)
    await store.close()
  })

  it('drops the subscriber connection when a heartbeat PING goes unanswered, so the loss flushes', async () => {
    vi.useFakeTimers()
    const client = new FakeClient()
    const errors: unknown[] = []
    const store = new RedisTokenStore(client, { heartbeatMs: 1000, timeoutMs: 100, onError: (e) => errors.push(e) })
    const seen = recorder(store)
    await vi.advanceTimersByTimeAsync(0)
    const subscriber = client.subscribers[0]!
    subscriber.status = 'ready'
    subscriber.emit('ready')
    await vi.advanceTimersByTimeAsync(0)
    expect(seen.events).toStrictEqual([{ type: 'flush' }])
    await vi.advanceTimersByTimeAsync(3000)
    expect(subscriber.pings).toBe(3)
    expect(subscriber.reconnects).toBe(0)

    subscriber.pong = () => new Promise(() => {})
    await vi.advanceTimersByTimeAsync(1100)
    // Unanswered: the connection is dropped for good (a new one replaces it), and the loss flushes.
    expect(subscriber.disconnected).toBe(1)
    expect(String(errors[0])).toMatch(/PING timed out after 100 ms/)
    expect(seen.events).toStrictEqual([{ type: 'flush' }, { type: 'flush' }])
    // The dropped connection's own close is not a second loss.
    subscriber.emit('close')
    expect(seen.events).toStrictEqual([{ type: 'flush' }, { type: 'flush' }])
    // No further PINGs on a connection that is down.
    await vi.advanceTimersByTimeAsync(5000)
    expect(subscriber.pings).toBe(4)
    seen.unsubscribe()
    await store.close()
  })
})
