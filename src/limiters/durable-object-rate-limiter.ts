import { crc32Ascii } from '../internal/crc32.js'
import { checkOptions, integer, required, withMethods, type OptionRules } from '../internal/options.js'
import { withTimeout } from '../internal/timers.js'
import { checkCreditAdjustment, checkCreditSpend } from './credit-checks.js'
import {
  checkBlockState,
  checkCreditsAnswer,
  checkLimitAnswer,
  checkName,
  checkPolicy,
  checkRules,
  checkShared,
  type LimiterMessage,
} from './limiter-messages.js'
import type { BlockState, CreditAdjustment, LimitRequest, LimitResult, LockoutPolicy, RateLimiter } from './rate-limiter.js'

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
   * of a second round trip when the address lives in another object than the key, and without
   * shared quotas (a group's counters and a key's would live apart).
   */
  shards?: number
  /** Names the objects (`<name>:<shard>`), so that several limiters can share one binding. Default `keyward`. */
  name?: string
  /** A call taking longer rejects (keyward answers 503). Default 2,000 ms. */
  timeoutMs?: number
}

const SHARED_ON_SHARDS =
  'keyward: DurableObjectRateLimiter with shards > 1 cannot count shared quotas (a group and a key live in different objects); ' +
  'use shards: 1'

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
 * are exactly `MemoryRateLimiter`'s (each rule by its algorithm, shared quotas with `shards: 1`,
 * all rules or none, lockout checked in the same call), on the object's clock: a Durable Object
 * runs one message at a time, so N concurrent calls on a limit of L allow exactly L. Any failure
 * (no answer, a timeout, a broken object) rejects: keyward answers 503.
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

  /**
   * True with one object (`shards: 1`, the default): a group's counters and a key's are then in
   * the same object and counted in one message. With more, `limit()` rejects a request with
   * shared quotas, and createKeyward refuses `sharedQuotas` with this limiter.
   */
  get sharedQuotas(): boolean {
    return this.#shards === 1
  }

  /**
   * Credits are spent in the key's own object, with its rules, in one message (any number of
   * shards). A balance is kept until you delete it: the hourly sweep never drops one.
   */
  readonly credits = true

  /** Checks and counts one call; `request.now` is ignored (the object's clock decides). */
  async limit(request: LimitRequest): Promise<LimitResult> {
    const { key: rawKey, rules: own, shared: rawShared, blockKey: rawBlockKey } = request
    const key = checkName(rawKey, 'key')
    const spend = request.credits === undefined ? undefined : checkCreditSpend(request.credits, request.cost)
    const plain = checkRules(own)
    const shared = rawShared === undefined ? [] : checkShared(rawShared)
    const blockKey = rawBlockKey === undefined ? undefined : checkName(rawBlockKey, 'blockKey')
    // A group's counters live in the object its name hashes to, another than the key's: one message could not count both.
    if (shared.length > 0 && this.#shards !== 1) throw new Error(SHARED_ON_SHARDS)
    const ruleCount = plain.length + shared.reduce((n, group) => n + group.rules.length, 0)
    if (ruleCount === 0 && blockKey === undefined && spend === undefined)
      return { allowed: true, blocked: false, retryAfterMs: 0, rules: [] }
    const shard = this.#shard(key)
    const alone = ruleCount === 0 && spend === undefined
    let together = blockKey
    if (blockKey !== undefined && (alone || this.#shard(blockKey) !== shard)) {
      // The address lives in another object: its block is checked first, on its own.
      const block = checkLimitAnswer(await this.#send(this.#shard(blockKey), { op: 'blocked', blockKey }), 0)
      if (block.blocked || alone) return { allowed: block.allowed, blocked: block.blocked, retryAfterMs: block.retryAfterMs, rules: [] }
      together = undefined
    }
    const message: LimiterMessage = {
      op: 'limit',
      key,
      rules: plain,
      ...(shared.length === 0 ? {} : { shared }),
      ...(together === undefined ? {} : { blockKey: together }),
      ...(spend === undefined ? {} : spend),
    }
    const answer = checkLimitAnswer(await this.#send(shard, message), ruleCount, spend !== undefined)
    // The states come back in the order sent: the key's rules, then each group's.
    const rules = [...own, ...(rawShared ?? []).flatMap((group) => group.rules)]
    const result: LimitResult = {
      allowed: answer.allowed,
      blocked: answer.blocked,
      retryAfterMs: answer.retryAfterMs,
      rules: answer.blocked
        ? []
        : answer.rules.map((state, i) => ({ rule: rules[i]!, remaining: state.remaining, resetMs: state.resetMs })),
    }
    if (spend !== undefined && !answer.blocked) {
      result.credits = answer.credits!
      result.creditsExhausted = answer.creditsExhausted!
    }
    return result
  }

  /** Adds to (or, with 0, reads) a key's balance in its object; `now` is ignored (the object's clock decides). */
  async adjustCredits(adjustment: CreditAdjustment): Promise<number> {
    const { key, credits, add } = checkCreditAdjustment(adjustment)
    const name = checkName(key, 'key')
    return checkCreditsAnswer(await this.#send(this.#shard(name), { op: 'credits', key: name, credits, add }))
  }

  /** Counts one failure in the address's object; `now` is ignored (the object's clock decides). */
  async recordFailure(blockKey: string, policy: LockoutPolicy, _now?: number): Promise<BlockState> {
    const message: LimiterMessage = { op: 'fail', blockKey: checkName(blockKey, 'blockKey'), policy: checkPolicy(policy) }
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
