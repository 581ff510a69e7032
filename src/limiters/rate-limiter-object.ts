import { gcra, gcraState, type GcraState } from './gcra.js'
import { checkMessage, type LimitAnswer, type LimiterMessage } from './limiter-messages.js'
import type { BlockState, LockoutPolicy } from './rate-limiter.js'

// The parts of a Durable Object's state keyward uses, as structural types (no Cloudflare import).

/**
 * The storage of a Durable Object (`ctx.storage`), the part {@link KeywardRateLimiterObject} uses.
 *
 * @example
 * ```ts
 * const entries = await ctx.storage.get(['a', 'b'])
 * ```
 */
export interface DurableObjectStorageLike {
  get(keys: string[]): Promise<Map<string, unknown>>
  put(entries: Record<string, unknown>): Promise<void>
  delete(keys: string[]): Promise<number>
  list(options?: { limit?: number; startAfter?: string }): Promise<Map<string, unknown>>
  getAlarm(): Promise<number | null>
  setAlarm(scheduledTime: number): Promise<void>
}

/**
 * A Durable Object's state (`ctx`), the part {@link KeywardRateLimiterObject} uses.
 *
 * @example
 * ```ts
 * new KeywardRateLimiterObject(ctx, env)
 * ```
 */
export interface DurableObjectStateLike {
  storage: DurableObjectStorageLike
}

/** A stored quota state, with when it stops mattering (a bucket left alone a whole window is full). */
interface QuotaEntry extends GcraState {
  until: number
}

/** A stored failure window of one address. */
interface FailureEntry {
  count: number
  start: number
  blockedUntil: number
  until: number
}

// Entries a whole window old are the same as none: swept hourly, a minute late for clock skew
// between the Workers that send `now` and this object's clock.
const SWEEP_EVERY_MS = 3_600_000
const SKEW_MS = 60_000
const SWEEP_PAGE = 1_000

const quotaId = (key: string, limit: number, windowMs: number) => `q|${key}|${limit}|${windowMs}`
const failureId = (blockKey: string) => `f|${blockKey}`

/**
 * The Durable Object behind {@link DurableObjectRateLimiter}: GCRA quotas and lockout windows,
 * decided exactly as `MemoryRateLimiter` decides them, one message at a time, each state kept in
 * the object's transactional storage (it survives eviction and restarts). Export it from your
 * Worker and bind it (see docs/runtimes.md); keyward never calls it but through the limiter.
 *
 * @example
 * ```ts
 * // worker.ts
 * export { KeywardRateLimiterObject } from 'keyward/cloudflare'
 * // wrangler.toml
 * // [[durable_objects.bindings]]
 * // name = "KEYWARD_LIMITER"
 * // class_name = "KeywardRateLimiterObject"
 * // [[migrations]]
 * // tag = "keyward-v1"
 * // new_sqlite_classes = ["KeywardRateLimiterObject"]
 * ```
 */
export class KeywardRateLimiterObject {
  readonly #storage: DurableObjectStorageLike
  // One message at a time: a decision reads and writes several entries, and nothing else may
  // land between the read and the write (the input gate alone does not cover every await).
  #queue: Promise<unknown> = Promise.resolve()
  #alarmArmed = false

  constructor(state: DurableObjectStateLike, _env?: unknown) {
    this.#storage = state.storage
  }

  /** Answers one limiter message (POST, JSON). A bad message is a 400 the limiter turns into a TypeError. */
  async fetch(request: Request): Promise<Response> {
    let message: LimiterMessage
    try {
      message = checkMessage(await request.json())
    } catch (error) {
      return Response.json({ error: error instanceof Error ? error.message : 'bad message' }, { status: 400 })
    }
    return Response.json(await this.#serial(() => this.#handle(message)))
  }

  /** Drops entries that no longer matter, so that the storage holds only live quotas and windows. */
  async alarm(): Promise<void> {
    await this.#serial(() => this.#sweep())
  }

  #serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task)
    this.#queue = run.catch(() => {})
    return run
  }

  async #handle(m: LimiterMessage): Promise<LimitAnswer | BlockState> {
    if (m.op === 'fail') return this.#recordFailure(m.blockKey, m.policy, m.now)
    const ids = m.op === 'limit' ? m.rules.map((r) => quotaId(m.key, r.limit, r.windowMs)) : []
    const blockId = m.blockKey === undefined ? undefined : failureId(m.blockKey)
    const stored = await this.#storage.get(blockId === undefined ? ids : [blockId, ...ids])
    if (blockId !== undefined) {
      const window = stored.get(blockId) as FailureEntry | undefined
      if (window !== undefined && window.blockedUntil > m.now) {
        return { allowed: false, blocked: true, retryAfterMs: window.blockedUntil - m.now, rules: [] }
      }
    }
    if (m.op === 'blocked') return { allowed: true, blocked: false, retryAfterMs: 0, rules: [] }
    const states = ids.map((id) => stored.get(id) as QuotaEntry | undefined)
    const decisions = m.rules.map((rule, i) => gcra(rule, states[i], m.now))
    const allowed = decisions.every((d) => d.allowed)
    if (allowed) {
      const writes: Record<string, QuotaEntry> = {}
      decisions.forEach((d, i) => (writes[ids[i]!] = { ...d.next, until: d.next.at + m.rules[i]!.windowMs }))
      await this.#write(writes)
    }
    return {
      allowed,
      blocked: false,
      retryAfterMs: allowed ? 0 : Math.max(...decisions.map((d) => d.retryAfterMs)),
      // A denied call counts on no rule: the rules that would have allowed it are reported as they stand.
      rules: decisions.map((d, i) =>
        allowed || !d.allowed ? { remaining: d.remaining, resetMs: d.resetMs } : gcraState(m.rules[i]!, states[i], m.now),
      ),
    }
  }

  async #recordFailure(blockKey: string, policy: LockoutPolicy, now: number): Promise<BlockState> {
    const id = failureId(blockKey)
    let window = (await this.#storage.get([id])).get(id) as FailureEntry | undefined
    if (window === undefined || now >= window.start + policy.windowMs) window = { count: 0, start: now, blockedUntil: 0, until: 0 }
    window = { ...window, count: window.count + 1 }
    if (window.count >= policy.maxFailures) window.blockedUntil = window.start + policy.windowMs
    window.until = Math.max(window.start + policy.windowMs, window.blockedUntil)
    await this.#write({ [id]: window })
    const failures = window.count
    return window.blockedUntil > now
      ? { blocked: true, retryAfterMs: window.blockedUntil - now, failures }
      : { blocked: false, retryAfterMs: 0, failures }
  }

  async #write(entries: Record<string, QuotaEntry | FailureEntry>): Promise<void> {
    await this.#storage.put(entries)
    if (this.#alarmArmed) return
    if ((await this.#storage.getAlarm()) === null) await this.#storage.setAlarm(Date.now() + SWEEP_EVERY_MS)
    this.#alarmArmed = true
  }

  async #sweep(): Promise<void> {
    const now = Date.now()
    let left = false
    let startAfter: string | undefined
    for (;;) {
      const page = await this.#storage.list(startAfter === undefined ? { limit: SWEEP_PAGE } : { limit: SWEEP_PAGE, startAfter })
      const stale: string[] = []
      for (const [id, entry] of page) {
        if ((entry as { until?: unknown }).until === undefined || (entry as { until: number }).until + SKEW_MS <= now) stale.push(id)
        else left = true
        startAfter = id
      }
      // storage.delete takes at most 128 keys at a time.
      for (let i = 0; i < stale.length; i += 128) await this.#storage.delete(stale.slice(i, i + 128))
      if (page.size < SWEEP_PAGE) break
    }
    this.#alarmArmed = left
    if (left) await this.#storage.setAlarm(now + SWEEP_EVERY_MS)
  }
}
