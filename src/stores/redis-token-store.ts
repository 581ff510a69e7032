import { boolean, checkOptions, func, integer, optionError, orFalse, type OptionRules } from '../internal/options.js'
import { withTimeout } from '../internal/timers.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js'
import {
  checkFamilyId,
  checkFamilyTime,
  checkRefreshFamilyRecord,
  checkRotation,
  type RefreshFamilyRecord,
  type RefreshRotation,
} from '../jwt/refresh-family.js'
import { nodeRedisSubscriber, type NodeRedisSubscriberClient } from './redis-node-subscriber.js'
import {
  isNodeRedis,
  isScriptClient,
  redisScript,
  runScript,
  type RedisScriptClient,
  type NodeRedisScriptClient,
  type RedisScript,
} from './redis-scripts.js'
import { decodeKeyRecord } from '../keys/record-codec.js'
import { KEY_RECORD_FIELD_NAMES, PATCHABLE_FIELDS } from '../keys/record-fields.js'
import type { KeyRecord } from '../types.js'
import {
  familyFields,
  INSERT_FAMILY_SCRIPT,
  REVOKE_FAMILY_SCRIPT,
  ROTATE_FAMILY_SCRIPT,
  toFamily,
  toRotation,
} from './redis-refresh-families.js'
import type { InvalidationEvent, KeyRecordPatch, ListOptions, TokenStore, UpdateCondition } from './token-store.js'
import { InvalidationChannel } from './invalidation/channel.js'
import { redisTransport, type RedisSubscriberConnection } from './invalidation/redis-transport.js'

// Structural types only: this file must not import `ioredis` or `redis` (optional peers) nor anything Node-only.

export type { NodeRedisSubscriberClient, RedisSubscriberConnection }

/**
 * What {@link RedisTokenStore} needs of an ioredis client: a `Redis` or a `Cluster` fits as it is.
 *
 * @example
 * ```ts
 * import Redis from 'ioredis'
 * const client: RedisStoreClient = new Redis(process.env.REDIS_URL!)
 * ```
 */
export interface RedisStoreClient extends RedisScriptClient {
  hgetall(key: string): Promise<Record<string, string>>
  /**
   * A new connection with the same options: `Redis#duplicate(override)` merges `override` over
   * them; `Cluster#duplicate(startupNodes, options)` takes the nodes first.
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- Redis and Cluster disagree on the arguments
  duplicate(...args: any[]): RedisSubscriberConnection
}

/**
 * What {@link RedisTokenStore} needs of a node-redis (v4/v5) client: one from `createClient` or
 * `createCluster`, connected, fits as it is.
 *
 * @example
 * ```ts
 * import { createClient } from 'redis'
 * const client: NodeRedisStoreClient = await createClient({ url: process.env.REDIS_URL }).connect()
 * ```
 */
export interface NodeRedisStoreClient extends NodeRedisScriptClient {
  hGetAll(key: string): Promise<Record<string, string>>
  /** A new, unconnected client with the same options: the subscriber. */
  duplicate?(): NodeRedisSubscriberClient
}

/**
 * Options of {@link RedisTokenStore}.
 *
 * @example
 * ```ts
 * new RedisTokenStore(redis, { prefix: 'myapp:kw:', timeoutMs: 300, onError: console.error })
 * ```
 */
export interface RedisTokenStoreOptions {
  /** Prepended to every Redis key and to the channel. Default `kw:`. Must not contain `{` or `}`. */
  prefix?: string
  /** Pub/sub channel of the announcements. Default `<prefix>keys:changed`. */
  channel?: string
  /** Every call rejects after this many ms (keyward answers 503). Default 500. */
  timeoutMs?: number
  /**
   * Subscribe for other instances' changes on a dedicated connection (`client.duplicate()`). A
   * client without `duplicate()` cannot: the store is then degraded (`onError` once, `listening()`
   * rejects). false: no subscription and no report, for a single instance. Default true.
   */
  listen?: boolean
  /**
   * How often the subscriber connection is checked with PING (a silent network loss emits no
   * 'close'); a PING unanswered within `timeoutMs` drops the connection, which flushes. Default
   * 10,000; false never.
   */
  heartbeatMs?: number | false
  /** Delay before replacing a subscriber connection that ioredis gave up on; doubles per failure up to 30 s. Default 250. */
  reconnectDelayMs?: number
  /**
   * With each (re)subscription and heartbeat, PUBLISH a nonce through `client` and wait this many
   * ms to hear it on the subscriber connection; not heard: `listening()` rejects, `onError` and
   * subscribers are told (`{ type: 'degraded' }`). Default false (off).
   */
  selfTestMs?: number | false
  /** Receives errors of the background subscriber connection (it is re-established on its own). Default: ignore. */
  onError?: (error: unknown) => void
}

/**
 * Records are hashes, one field per KeyRecord property, each value the property's JSON text.
 * KEYS: record. ARGV: field, value, ... Reply: 1 stored, 0 id taken.
 */
const INSERT_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
`

/**
 * KEYS: record. ARGV: channel, id, expected version ('' for any), then field, value, ...
 * Reply: the new record's fields (HGETALL), or false when there is no such record or its
 * version is not the expected one. The check, the change, the version bump and the
 * announcement are one script: nothing lands in between, and the announcement goes out exactly
 * when the change is applied. A record written before versions existed is at version 0.
 */
const UPDATE_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local version = tonumber(redis.call('HGET', KEYS[1], 'version') or '0')
if ARGV[3] ~= '' and tonumber(ARGV[3]) ~= version then return false end
if #ARGV > 3 then redis.call('HSET', KEYS[1], unpack(ARGV, 4)) end
redis.call('HSET', KEYS[1], 'version', string.format('%d', version + 1))
redis.call('PUBLISH', ARGV[1], ARGV[2])
return redis.call('HGETALL', KEYS[1])
`

/**
 * KEYS: one record. ARGV: its last-used time. An existing record only; the time never moves
 * backwards. One record per call: on a Cluster every record has its own slot.
 */
const TOUCH_SCRIPT = `
local current = redis.call('HGET', KEYS[1], 'lastUsedAt')
if current and (current == 'null' or tonumber(current) < tonumber(ARGV[1])) then
  redis.call('HSET', KEYS[1], 'lastUsedAt', ARGV[1])
end
return 0
`

/** KEYS: an org index. ARGV: the id to add. The index is only a hint (see listByOrg): adding twice is harmless. */
const INDEX_SCRIPT = `
redis.call('ZADD', KEYS[1], 0, ARGV[1])
return 1
`

/**
 * ARGV: channel, message. The self-test's announcement, sent the way `update` sends one. No keys:
 * on a Cluster, PUBLISH from any node reaches every node.
 */
const PUBLISH_SCRIPT = `return redis.call('PUBLISH', ARGV[1], ARGV[2])`

/**
 * KEYS: an org index (a sorted set, every score 0, so ZRANGEBYLEX orders by id). ARGV: after
 * ('' for none), how many. Reply: the next ids.
 */
const INDEX_PAGE_SCRIPT = `
local min = '-'
if ARGV[1] ~= '' then min = '(' .. ARGV[1] end
return redis.call('ZRANGEBYLEX', KEYS[1], min, '+', 'LIMIT', 0, tonumber(ARGV[2]))
`

type ScriptName = 'insert' | 'update' | 'touch' | 'index' | 'indexPage' | 'publish' | 'insertFamily' | 'rotateFamily' | 'revokeFamily'
let scripts: Record<ScriptName, RedisScript> | undefined
function loadScripts() {
  const script = redisScript
  return (scripts ??= {
    insert: script(INSERT_SCRIPT),
    update: script(UPDATE_SCRIPT),
    touch: script(TOUCH_SCRIPT),
    index: script(INDEX_SCRIPT),
    indexPage: script(INDEX_PAGE_SCRIPT),
    publish: script(PUBLISH_SCRIPT),
    insertFamily: script(INSERT_FAMILY_SCRIPT),
    rotateFamily: script(ROTATE_FAMILY_SCRIPT),
    revokeFamily: script(REVOKE_FAMILY_SCRIPT),
  })
}

function malformed(field: string): never {
  throw new TypeError(`keyward: Redis returned a malformed ${field}`)
}

function encode(value: unknown, field: string): string {
  const text = JSON.stringify(value)
  if (typeof text !== 'string') throw new TypeError(`keyward: ${field} cannot be stored as JSON`)
  return text
}

/** Each field's JSON text, checked: keyward only ever sees numbers for times and arrays for lists. */
function toRecord(fields: ReadonlyMap<string, string>): KeyRecord {
  return decodeKeyRecord((field, spec) => {
    const text = fields.get(field)
    // A record written before the field existed reads as the table's legacy value.
    if (text === undefined) return spec.legacy !== undefined ? spec.legacy : malformed(field)
    try {
      return JSON.parse(text) as unknown
    } catch {
      return malformed(field)
    }
  }, malformed)
}

/** HGETALL as ioredis answers a command (an object) or a script (a flat array). */
function fieldsOf(reply: unknown): Map<string, string> {
  const fields = new Map<string, string>()
  if (Array.isArray(reply)) {
    if (reply.length % 2 !== 0) malformed('record')
    for (let i = 0; i < reply.length; i += 2) {
      const [field, value] = [reply[i] as unknown, reply[i + 1] as unknown]
      if (typeof field !== 'string' || typeof value !== 'string') malformed('record')
      fields.set(field, value)
    }
  } else if (reply !== null && typeof reply === 'object') {
    for (const [field, value] of Object.entries(reply)) {
      if (typeof value !== 'string') malformed('record')
      fields.set(field, value)
    }
  } else {
    malformed('record')
  }
  return fields
}

/** 128 bits of SHA-256, hex: an org id of any length and alphabet names a fixed-size key. */
function digest(value: string): string {
  return bytesToHex(sha256(utf8ToBytes(value)).subarray(0, 16))
}

/** Records read per round trip while listing. */
const LIST_PAGE = 100

const CANNOT_LISTEN =
  "keyward: RedisTokenStore cannot subscribe through a client without duplicate(), so other instances' revocations would " +
  'not reach this one: cached keys live for cache.degradedTtlMs only. Pass an ioredis or node-redis client, or ' +
  '{ listen: false } when this is the only instance'

const positiveMs = integer({ min: 1, message: 'must be a positive integer (ms)' })
const REDIS_STORE_OPTIONS: OptionRules = {
  prefix: (value, path) => {
    if (typeof value !== 'string' || /[{}]/.test(value)) optionError(`${path} must be a string without { or }`)
  },
  channel: (value, path) => {
    if (typeof value !== 'string' || value === '') optionError(`${path} must be a non-empty string`)
  },
  timeoutMs: positiveMs,
  listen: boolean,
  heartbeatMs: orFalse(positiveMs),
  reconnectDelayMs: positiveMs,
  selfTestMs: orFalse(positiveMs),
  onError: func('(error) => void'),
}

/**
 * Keys in Redis, for users without PostgreSQL: shared by every instance of the server,
 * revocations announced to all of them through pub/sub. Takes your ioredis (`Redis`, `Cluster`)
 * or node-redis (`createClient`, `createCluster`) client; imports no driver.
 *
 * - Each record is a hash `<prefix>key:{<id>}` (one field per property, JSON text), listed in its
 *   org's sorted set `<prefix>org:{<sha256 of the org id>}` (score 0, ordered by id). The braces
 *   are Cluster hash tags: every record, every org index and every refresh family has a slot of
 *   its own, so a Cluster spreads the store over its masters, and every script touches one key
 *   (one slot), which keeps each atomic. `insert` adds the id to the org index first, then
 *   writes the record; listing pages through the index and reads each record, skipping an id
 *   whose record is absent or of another org (an insert that failed after indexing).
 * - `insert` and `update` are single scripts (EVALSHA, EVAL on NOSCRIPT). `update` PUBLISHes the
 *   key id on `<prefix>keys:changed` in the same script, so the announcement goes out exactly
 *   when the change is applied. Revocation is soft: the record stays, with `revokedAt` set.
 *   `update` bumps the record's `version`, checking `{ ifVersion }` in the same script, so of
 *   concurrent writers that read one version exactly one lands (records from before: version 0).
 * - `touch` writes a batch with one script per record, all in flight at once, only ever moving
 *   `lastUsedAt` forward.
 * - Refresh-token families are hashes `<prefix>family:{<id>}` that expire by themselves
 *   (PEXPIREAT at the family's expiry); insert, rotate and revoke are single scripts, so two
 *   instances rotating the same token at once get exactly one `rotated`.
 * - Every call rejects after `timeoutMs` (default 500); keyward then answers 503.
 * - `subscribe` listens on a dedicated connection (`client.duplicate()`; on a Cluster, a plain
 *   connection to one master picked at random, since Cluster pub/sub reaches every node; the
 *   Cluster client must know its masters, i.e. be 'ready', or the attempt is retried). It emits
 *   `{ type: 'flush' }` once subscribed, when that connection is lost (a PING every
 *   `heartbeatMs` finds a silent loss), and again once it is subscribed anew, so nothing missed
 *   in between stays cached. `PUBLISH <channel> ''` (e.g.
 *   after editing keys by hand) flushes every instance's cache.
 *
 * @example
 * ```ts
 * import Redis from 'ioredis'
 * import { createKeyward } from 'keyward'
 * import { RedisTokenStore } from 'keyward/redis'
 *
 * const store = new RedisTokenStore(new Redis(process.env.REDIS_URL!))
 * const kw = createKeyward({ prefix: 'bsk', store })
 * ```
 */
export class RedisTokenStore implements TokenStore {
  readonly #client: RedisStoreClient | NodeRedisStoreClient
  readonly #prefix: string
  readonly #channel: string
  readonly #timeoutMs: number
  /** This process's subscribers, and (unless `listen: false`) the subscription that hears other instances. */
  readonly #changes: InvalidationChannel

  constructor(client: RedisStoreClient | NodeRedisStoreClient, options: RedisTokenStoreOptions = {}) {
    const hgetall = isNodeRedis(client as object) ? (client as NodeRedisStoreClient).hGetAll : (client as RedisStoreClient).hgetall
    if (!isScriptClient(client) || typeof hgetall !== 'function') {
      throw new TypeError(
        'keyward: RedisTokenStore needs an ioredis or node-redis client (evalsha/evalSha, eval, hgetall/hGetAll, duplicate)',
      )
    }
    checkOptions(options, REDIS_STORE_OPTIONS, { notObject: 'RedisTokenStore options must be an object' })
    // One prefix, the store's: ioredis would prefix keys but not the channel, and the key layout
    // (hash tags included) is documented in terms of `prefix`.
    const clientPrefix = (client as { options?: { keyPrefix?: unknown } }).options?.keyPrefix
    if (typeof clientPrefix === 'string' && clientPrefix !== '') {
      throw new TypeError("keyward: RedisTokenStore needs a client without ioredis's keyPrefix; use the store's `prefix` option instead")
    }
    const { prefix = 'kw:' } = options
    const channel = options.channel ?? `${prefix}keys:changed`
    this.#client = client
    this.#prefix = prefix
    this.#channel = channel
    this.#timeoutMs = options.timeoutMs ?? 500
    loadScripts()
    const wanted = options.listen ?? true
    const listen = wanted && typeof client.duplicate === 'function'
    const transport = redisTransport(
      () => this.#duplicate(),
      channel,
      this.#timeoutMs,
      (payload) => this.#run(loadScripts().publish, [], [channel, payload]),
    )
    const settings = {
      // Asked to listen (by default) but cannot: degraded and said so, never a silent full TTL.
      ...(wanted && !listen ? { cannotListen: CANNOT_LISTEN } : {}),
      timeoutMs: this.#timeoutMs,
      heartbeatName: 'Redis PING',
      reconnectDelayMs: options.reconnectDelayMs ?? 250,
      heartbeatMs: options.heartbeatMs ?? 10_000,
      selfTestMs: options.selfTestMs ?? false,
      onError: options.onError ?? (() => {}),
    }
    this.#changes = new InvalidationChannel(listen ? transport : undefined, settings)
  }

  /** The pub/sub channel of the announcements. */
  get channel(): string {
    return this.#channel
  }

  /** The Redis key of a record: its id is the hash tag, so every record has a Cluster slot of its own. */
  recordKey(id: string): string {
    return `${this.#prefix}key:{${id}}`
  }

  async findById(id: string): Promise<KeyRecord | null> {
    const fields = await this.#hgetall(this.recordKey(id))
    return fields.size === 0 ? null : toRecord(fields)
  }

  async insert(record: KeyRecord): Promise<boolean> {
    const args = KEY_RECORD_FIELD_NAMES.flatMap((field) => [field, encode(record[field], field)])
    // The index first: a record is never stored unlisted. An entry whose insert then fails (or
    // finds the id taken) names no record of this org, and listByOrg skips it.
    await this.#run(loadScripts().index, [this.#orgKey(record.orgId)], [record.id])
    const reply = await this.#run(loadScripts().insert, [this.recordKey(record.id)], args)
    if (reply !== 0 && reply !== 1) throw new Error('keyward: unexpected reply from the Redis insert script')
    return reply === 1
  }

  async update(id: string, patch: KeyRecordPatch, condition?: UpdateCondition): Promise<KeyRecord | null> {
    if (condition !== undefined && !Number.isSafeInteger(condition.ifVersion)) throw new TypeError('keyward: ifVersion must be an integer')
    const args: string[] = []
    for (const field of PATCHABLE_FIELDS) {
      const value = patch[field]
      if (value !== undefined) args.push(field, encode(value, field))
    }
    const reply = await this.#run(
      loadScripts().update,
      [this.recordKey(id)],
      [this.#channel, id, condition === undefined ? '' : String(condition.ifVersion), ...args],
    )
    if (reply === null) return null
    const record = toRecord(fieldsOf(reply))
    // Without an active subscription of our own, our subscribers would not hear of our own change.
    if (!this.#changes.hearing) this.#changes.emit({ type: 'key', id })
    return record
  }

  /**
   * Pages through the org's index (one slot) and reads each record (its own slot), so it works on
   * a Cluster. The index is a hint and the record the truth: an id whose record is absent or
   * belongs to another org (an insert that failed after indexing) is skipped.
   */
  async listByOrg(orgId: string, options: ListOptions = {}): Promise<KeyRecord[]> {
    const limit = options.limit ?? -1
    if (!Number.isSafeInteger(limit) || limit < -1) throw new TypeError('keyward: limit must be a non-negative integer')
    const out: KeyRecord[] = []
    let after = options.after ?? ''
    while (limit === -1 || out.length < limit) {
      const page = limit === -1 ? LIST_PAGE : Math.min(LIST_PAGE, Math.max(limit - out.length, 10))
      const ids = await this.#run(loadScripts().indexPage, [this.#orgKey(orgId)], [after, String(page)])
      if (!Array.isArray(ids) || !ids.every((id) => typeof id === 'string')) malformed('org index')
      const records = await Promise.all((ids as string[]).map((id) => this.#hgetall(this.recordKey(id))))
      for (const fields of records) {
        if (fields.size === 0) continue
        const record = toRecord(fields)
        if (record.orgId !== orgId || (record.revokedAt !== null && options.includeRevoked !== true)) continue
        out.push(record)
        if (out.length === limit) break
      }
      if (ids.length < page) break
      after = ids[ids.length - 1] as string
    }
    return out
  }

  async touch(entries: ReadonlyArray<{ id: string; lastUsedAt: number }>): Promise<void> {
    if (entries.length === 0) return
    const latest = new Map<string, number>()
    for (const { id, lastUsedAt } of entries) {
      if (!Number.isSafeInteger(lastUsedAt)) throw new TypeError('keyward: lastUsedAt must be an integer (epoch ms)')
      latest.set(id, Math.max(latest.get(id) ?? -Infinity, lastUsedAt))
    }
    // One script per record, all in flight at once: on a Cluster the records live on different slots.
    const { touch } = loadScripts()
    await Promise.all([...latest].map(([id, at]) => this.#run(touch, [this.recordKey(id)], [String(at)])))
  }

  /** The Redis key of a refresh family: its id is the hash tag (a slot of its own on a Cluster). */
  familyKey(id: string): string {
    return `${this.#prefix}family:{${id}}`
  }

  async insertRefreshFamily(record: RefreshFamilyRecord): Promise<boolean> {
    const clean = checkRefreshFamilyRecord(record)
    const reply = await this.#run(loadScripts().insertFamily, [this.familyKey(clean.id)], [String(clean.expiresAt), ...familyFields(clean)])
    if (reply !== 0 && reply !== 1) throw new Error('keyward: unexpected reply from the Redis refresh family insert script')
    return reply === 1
  }

  async rotateRefreshFamily(id: string, presented: string, next: string, expiresAt: number, now: number): Promise<RefreshRotation> {
    checkRotation(id, presented, next, expiresAt, now)
    return toRotation(await this.#run(loadScripts().rotateFamily, [this.familyKey(id)], [presented, next, String(expiresAt), String(now)]))
  }

  async revokeRefreshFamily(id: string, now: number): Promise<boolean> {
    checkFamilyId(id, 'id')
    checkFamilyTime(now, 'now')
    const reply = await this.#run(loadScripts().revokeFamily, [this.familyKey(id)], [String(now)])
    if (reply !== 0 && reply !== 1) throw new Error('keyward: unexpected reply from the Redis refresh family revoke script')
    return reply === 1
  }

  async findRefreshFamily(id: string, now: number = Date.now()): Promise<RefreshFamilyRecord | null> {
    checkFamilyId(id, 'id')
    checkFamilyTime(now, 'now')
    const family = toFamily(await this.#hgetall(this.familyKey(id)))
    return family === null || family.expiresAt <= now ? null : family
  }

  subscribe(listener: (event: InvalidationEvent) => void): () => void {
    return this.#changes.subscribe(listener)
  }

  /**
   * Resolves once subscribers hear other instances' changes (SUBSCRIBE is active and, with
   * `selfTestMs`, heard itself), or at once when there is nobody to tell or no way to listen.
   * Rejects while degraded (see {@link InvalidationChannel}). Tests and health checks wait on it.
   */
  listening(): Promise<void> {
    return this.#changes.listening()
  }

  /** Closes the subscriber connection and drops every subscriber. Leaves your client open. */
  close(): Promise<void> {
    return this.#changes.close()
  }

  /** The org's index: the org id's digest is the hash tag, so each org's index has a slot of its own. */
  #orgKey(orgId: string): string {
    return `${this.#prefix}org:{${digest(orgId)}}`
  }

  async #hgetall(key: string): Promise<Map<string, string>> {
    const client = this.#client
    const reply = isNodeRedis(client) ? client.hGetAll(key) : (client as RedisStoreClient).hgetall(key)
    return fieldsOf(await withTimeout(reply, this.#timeoutMs, 'Redis HGETALL'))
  }

  /** EVALSHA, or EVAL when Redis forgot the script (restart, failover, SCRIPT FLUSH), within timeoutMs. */
  #run(script: RedisScript, keys: string[], args: string[]): Promise<unknown> {
    return withTimeout(runScript(this.#client, script, keys, args), this.#timeoutMs, 'Redis script')
  }

  /**
   * A dedicated subscriber connection, in ioredis's shape. Resubscribing ourselves on 'ready'
   * tells us when the subscription is back, so ioredis must not do it behind our back.
   */
  #duplicate(): RedisSubscriberConnection {
    const client = this.#client
    if (isNodeRedis(client)) {
      // A node-redis cluster subscribes through one of its masters' clients: Cluster pub/sub
      // reaches every node, and a plain client has the connection events the store watches.
      const masters = (client as { masters?: unknown }).masters
      const source = Array.isArray(masters)
        ? (masters as Array<{ client?: NodeRedisStoreClient }>).find((master) => master.client !== undefined)?.client
        : (client as NodeRedisStoreClient)
      if (source?.duplicate === undefined) throw new Error('keyward: no connected node-redis cluster master to subscribe on')
      return nodeRedisSubscriber(source.duplicate())
    }
    const ioredis = client as RedisStoreClient
    if (ioredis.isCluster !== true) return ioredis.duplicate({ autoResubscribe: false })
    // Not the Cluster's own subscriber: it resubscribes on a new connection without a word, so a
    // change announced in between would be lost unseen. A plain connection to one master (Cluster
    // pub/sub reaches every node) says 'close' when it goes, and its PING is the heartbeat.
    // Each instance picks a master at random, spreading the subscribers.
    const masters = (ioredis as { nodes?: (role: string) => RedisStoreClient[] }).nodes?.('master') ?? []
    const master = masters[Math.floor(Math.random() * masters.length)]
    if (master === undefined) throw new Error('keyward: the Redis Cluster has no known master to subscribe on yet')
    return master.duplicate({ autoResubscribe: false })
  }
}
