import { sha1 } from '@noble/hashes/legacy.js'
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js'

// How keyward runs its Lua on whatever Redis client it is given. Structural types only: the core
// imports neither ioredis nor node-redis (both optional peers).

/**
 * ioredis's script commands (a `Redis` or a `Cluster` fits as it is). Typed structurally so the
 * core never imports ioredis.
 *
 * @example
 * ```ts
 * import Redis from 'ioredis'
 * const client: RedisScriptClient = new Redis(process.env.REDIS_URL!)
 * ```
 */
export interface RedisScriptClient {
  evalsha(sha: string, numKeys: number, ...keysAndArgs: string[]): Promise<unknown>
  eval(script: string, numKeys: number, ...keysAndArgs: string[]): Promise<unknown>
  /** ioredis sets it: true on a `Cluster`. */
  readonly isCluster?: boolean
}

/**
 * node-redis's script commands (a client from `createClient` or a cluster from `createCluster`).
 *
 * @example
 * ```ts
 * const client: NodeRedisScriptClient = await createClient({ url: process.env.REDIS_URL }).connect()
 * ```
 */
export interface NodeRedisScriptClient {
  evalSha(sha: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>
}

/**
 * The two Redis clients keyward drives natively: ioredis (`Redis`, `Cluster`) and node-redis v4/v5
 * (`createClient`, `createCluster`). ioredis spells script commands `evalsha(sha, numKeys, ...)`;
 * node-redis spells them `evalSha(sha, { keys, arguments })`.
 *
 * @example
 * ```ts
 * import { createClient } from 'redis'
 * const client: AnyRedisScriptClient = await createClient({ url: process.env.REDIS_URL }).connect()
 * ```
 */
export type AnyRedisScriptClient = RedisScriptClient | NodeRedisScriptClient

/** A Lua script and its SHA-1 (what EVALSHA names it by). */
export interface RedisScript {
  readonly source: string
  readonly sha: string
}

/** A script and its SHA-1, computed once. */
export function redisScript(source: string): RedisScript {
  return { source, sha: bytesToHex(sha1(utf8ToBytes(source))) }
}

/** True for node-redis (camelCase `evalSha`), false for ioredis (lower-case `evalsha`). */
export function isNodeRedis(client: object): client is NodeRedisScriptClient {
  const c = client as { evalsha?: unknown; evalSha?: unknown }
  return typeof c.evalsha !== 'function' && typeof c.evalSha === 'function'
}

/** True when `client` has script commands keyward can drive. */
export function isScriptClient(client: unknown): client is AnyRedisScriptClient {
  if (client === null || typeof client !== 'object') return false
  const c = client as { evalsha?: unknown; evalSha?: unknown; eval?: unknown }
  return typeof c.eval === 'function' && (typeof c.evalsha === 'function' || typeof c.evalSha === 'function')
}

/** True on a cluster client: ioredis's `isCluster`, or node-redis's cluster (it has `masters`, a plain client has not). */
export function isClusterClient(client: object): boolean {
  const c = client as { isCluster?: unknown; masters?: unknown; getSlotMaster?: unknown }
  return c.isCluster === true || (isNodeRedis(client) && (Array.isArray(c.masters) || typeof c.getSlotMaster === 'function'))
}

/**
 * True when Redis answered NOSCRIPT (it forgot the script: restart, failover, `SCRIPT FLUSH`),
 * however the client wraps the reply: the message of the error or of any error in its `cause`
 * chain, at its start or after a wrapper's own words (`@upstash/redis` answers
 * `UpstashError: NOSCRIPT No matching script...`). Only the word as Redis sends it counts.
 *
 * @example
 * ```ts
 * isNoScript(new Error('wrapped', { cause: new Error('NOSCRIPT No matching script.') })) // true
 * ```
 */
export function isNoScript(error: unknown): boolean {
  const seen = new Set<unknown>()
  // Bounded: a cause chain may be long or loop back on itself.
  for (let current = error, depth = 0; current !== null && typeof current === 'object' && depth < 8 && !seen.has(current); depth += 1) {
    seen.add(current)
    const message = (current as { message?: unknown }).message
    if (typeof message === 'string' && /(?:^|[^A-Za-z])NOSCRIPT\b/.test(message)) return true
    current = (current as { cause?: unknown }).cause
  }
  return false
}

/**
 * One EVALSHA (or, with `whole`, EVAL) as the client's own promise, nothing wrapped around it:
 * for callers that handle NOSCRIPT themselves (see {@link runScript}) on a hot path. Keys, then
 * arguments, in one array (what ioredis takes, spread once); split for node-redis.
 *
 * @example
 * ```ts
 * const reply = await sendScript(client, false, script, 1, ['kw:k', '10'], false)
 * ```
 */
export function sendScript(
  client: AnyRedisScriptClient,
  nodeRedis: boolean,
  script: RedisScript,
  numKeys: number,
  keysAndArgs: string[],
  whole: boolean,
): Promise<unknown> {
  if (nodeRedis) {
    const c = client as NodeRedisScriptClient
    const options = { keys: keysAndArgs.slice(0, numKeys), arguments: keysAndArgs.slice(numKeys) }
    return whole ? c.eval(script.source, options) : c.evalSha(script.sha, options)
  }
  const c = client as RedisScriptClient
  return whole ? c.eval(script.source, numKeys, ...keysAndArgs) : c.evalsha(script.sha, numKeys, ...keysAndArgs)
}

/**
 * Runs a script by its SHA-1, and sends it whole once when Redis answers NOSCRIPT.
 *
 * @example
 * ```ts
 * await runScript(client, redisScript('return 1'), [], [])
 * ```
 */
export async function runScript(client: AnyRedisScriptClient, script: RedisScript, keys: string[], args: string[]): Promise<unknown> {
  if (isNodeRedis(client)) {
    const options = { keys, arguments: args }
    try {
      return await client.evalSha(script.sha, options)
    } catch (error) {
      if (isNoScript(error)) return client.eval(script.source, options)
      throw error
    }
  }
  try {
    return await client.evalsha(script.sha, keys.length, ...keys, ...args)
  } catch (error) {
    if (isNoScript(error)) return client.eval(script.source, keys.length, ...keys, ...args)
    throw error
  }
}
