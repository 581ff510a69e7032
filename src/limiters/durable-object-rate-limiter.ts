import { crc32Ascii } from '../internal/crc32.js'
import { checkOptions, integer, required, withMethods, type OptionRules } from '../internal/options.js'
import { withTimeout } from '../internal/timers.js'
import { checkBlockState, checkLimitAnswer, checkName, checkNow, checkPolicy, checkRules, type LimiterMessage } from './limiter-messages.js'
import type { BlockState, LimitRequest, LimitResult, LockoutPolicy, RateLimiter } from './rate-limiter.js'

/**
 * A Durable Object stub, the part the limiter uses (`namespace.get(id)`).
 *
 * @example
 * ```ts
 * const response = await stub.fetch('https://keyward.limiter/', { method: 'POST', body: '{}' })
 * ```
 */
export interface DurableObjectStubLike {
  // Plain shapes rather than the DOM's RequestInit and Response, which Workers' own types do not match.
  fetch(
    input: string,
    init: { method: string; headers: Record<string, string>; body: string },
  ): Promise<{ status: number; ok: boolean; json(): Promise<unknown> }>
}

/**
 * A Durable Object namespace binding (`env.KEYWARD_LIMITER`), the part the limiter uses.
 *
 * @example
 * ```ts
 * const stub = env.KEYWARD_LIMITER.get(env.KEYWARD_LIMITER.idFromName('keyward:0'))
 * ```
 */
export interface DurableObjectNamespaceLike {
  idFromName(name: string): unknown
  get(id: never): DurableObjectStubLike
}

/**
 * Options of {@link DurableObjectRateLimiter}.
 *
 * @example
 * ```ts
 * new DurableObjectRateLimiter({ namespace: env.KEYWARD_LIMITER, shards: 8 })
 * ```
 */
export interface DurableObjectRateLimiterOptions {
  /** The binding of {@link KeywardRateLimiterObject} (required). */
  namespace: DurableObjectNamespaceLike
  /**
   * How many objects share the counters, each key and address living in exactly one (by a hash of
   * it). Default 1: one round trip per check, quota and lockout decided together. More objects
   * carry more load (one object serves on the order of a thousand checks a second), at the price
   * of a second round trip when the address lives in another object than the key.
   */
  shards?: number
  /** Names the objects (`<name>:<shard>`), so that several limiters can share one binding. Default `keyward`. */
  name?: string
  /** A call taking longer rejects (keyward answers 503). Default 2,000 ms. */
  timeoutMs?: number
}

const DO_OPTIONS: OptionRules = {
  namespace: required(withMethods(['idFromName', 'get'], 'a Durable Object namespace binding')),
  shards: integer({ min: 1, max: 1024 }),
  name: (value, path) => {
    if (typeof value !== 'string' || !/^[\w.-]{1,64}$/.test(value))
      throw new TypeError(`keyward: ${path} must be 1 to 64 letters, digits, _ . -`)
  },
  timeoutMs: integer({ min: 1, message: 'must be a positive integer (ms)' }),
}

/**
 * A {@link RateLimiter} for Cloudflare Workers: quotas and lockout counted in a Durable Object
 * ({@link KeywardRateLimiterObject}), so that every isolate and location shares them. Decisions
 * are exactly `MemoryRateLimiter`'s (GCRA, all rules or none, lockout checked in the same call):
 * a Durable Object runs one message at a time, so N concurrent calls on a limit of L allow
 * exactly L. Any failure (no answer, a timeout, a broken object) rejects: keyward answers 503.
 *
 * @example
 * ```ts
 * import { createKeyward } from 'keyward'
 * import { D1TokenStore, DurableObjectRateLimiter } from 'keyward/cloudflare'
 *
 * const kw = createKeyward({
 *   prefix: 'bsk',
 *   store: new D1TokenStore(env.DB),
 *   limiter: new DurableObjectRateLimiter({ namespace: env.KEYWARD_LIMITER }),
 * })
 * ```
 */
export class DurableObjectRateLimiter implements RateLimiter {
  readonly #namespace: DurableObjectNamespaceLike
  readonly #shards: number
  readonly #name: string
  readonly #timeoutMs: number

  constructor(options: DurableObjectRateLimiterOptions) {
    checkOptions(options, DO_OPTIONS, { notObject: 'DurableObjectRateLimiter options must be an object' })
    this.#namespace = options.namespace
    this.#shards = options.shards ?? 1
    this.#name = options.name ?? 'keyward'
    this.#timeoutMs = options.timeoutMs ?? 2_000
  }

  async limit(request: LimitRequest): Promise<LimitResult> {
    const { key: rawKey, rules, blockKey: rawBlockKey, now: rawNow } = request
    const key = checkName(rawKey, 'key')
    const plain = checkRules(rules)
    const blockKey = rawBlockKey === undefined ? undefined : checkName(rawBlockKey, 'blockKey')
    const now = checkNow(rawNow)
    if (plain.length === 0 && blockKey === undefined) return { allowed: true, blocked: false, retryAfterMs: 0, rules: [] }
    const shard = this.#shard(key)
    let together = blockKey
    if (blockKey !== undefined && (plain.length === 0 || this.#shard(blockKey) !== shard)) {
      // The address lives in another object: its block is checked first, on its own.
      const block = checkLimitAnswer(await this.#send(this.#shard(blockKey), { op: 'blocked', blockKey, now }), 0)
      if (block.blocked || plain.length === 0) return { ...block, rules: [] }
      together = undefined
    }
    const message: LimiterMessage = { op: 'limit', key, rules: plain, now, ...(together === undefined ? {} : { blockKey: together }) }
    const answer = checkLimitAnswer(await this.#send(shard, message), plain.length)
    return { ...answer, rules: answer.rules.map((state, i) => ({ rule: rules[i]!, remaining: state.remaining, resetMs: state.resetMs })) }
  }

  async recordFailure(blockKey: string, policy: LockoutPolicy, now: number): Promise<BlockState> {
    const message: LimiterMessage = {
      op: 'fail',
      blockKey: checkName(blockKey, 'blockKey'),
      policy: checkPolicy(policy),
      now: checkNow(now),
    }
    return checkBlockState(await this.#send(this.#shard(message.blockKey), message))
  }

  #shard(name: string): number {
    return this.#shards === 1 ? 0 : crc32Ascii(name) % this.#shards
  }

  async #send(shard: number, message: LimiterMessage): Promise<unknown> {
    const stub = this.#namespace.get(this.#namespace.idFromName(`${this.#name}:${shard}`) as never)
    const call = stub.fetch('https://keyward.limiter/', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(message),
    })
    const response = await withTimeout(call, this.#timeoutMs, 'Durable Object rate limiter')
    const body = (await withTimeout(response.json(), this.#timeoutMs, 'Durable Object rate limiter')) as unknown
    if (response.status === 400) throw new TypeError(String((body as { error?: unknown } | null)?.error ?? 'keyward: bad limiter message'))
    if (!response.ok) throw new Error(`keyward: the rate limiter object answered ${response.status}`)
    return body
  }
}
