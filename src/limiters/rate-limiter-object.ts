import type { RateLimitRule } from '../types.js'
import { addCredits, isCreditState, spendCredits, type CreditDecision, type CreditState } from './credits.js'
import { checkMessage, type LimitAnswer, type LimiterMessage } from './limiter-messages.js'
import { decideRule, peekRule, ruleStateUntil } from './quota-algorithms.js'
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

/** A stored quota state, as the rule's algorithm left it, with when it stops mattering. */
interface QuotaEntry {
  state: unknown
  until: number
}

/** A stored failure window of one address. */
interface FailureEntry {
  count: number
  start: number
  blockedUntil: number
  until: number
}

// Entries past their `until` are the same as none: swept hourly. Every time here is the object's
// own clock, so no margin for skew between Workers is needed.
const SWEEP_EVERY_MS = 3_600_000
const SWEEP_PAGE = 1_000

/** A GCRA rule's id has no algorithm; another's has its name appended, so states never mix. */
const quotaId = (key: string, rule: RateLimitRule) =>
  rule.algorithm === undefined || rule.algorithm === 'gcra'
    ? `q|${key}|${rule.limit}|${rule.windowMs}`
    : `q|${key}|${rule.limit}|${rule.windowMs}|${rule.algorithm}`
const failureId = (blockKey: string) => `f|${blockKey}`
const creditId = (key: string) => `c|${key}`
/** A credit balance never stops mattering: an entry swept away would come back full from the record. */
const FOREVER = Number.MAX_SAFE_INTEGER

/** A stored credit entry's state, checked: a broken one is an error (503), never a full balance. */
function heldCredits(entry: unknown): CreditState | undefined {
  if (entry === undefined) return undefined
  const state = (entry as { state?: unknown } | null)?.state
  if (!isCreditState(state)) throw new Error('keyward: malformed credit state')
  return state
}

/**
 * The Durable Object behind {@link DurableObjectRateLimiter}: quotas (each rule by its algorithm,
 * shared quotas with the key's rules) and lockout windows, decided by `MemoryRateLimiter`'s code
 * on the object's own clock, one message at a time, each state kept in the object's
 * transactional storage (it survives eviction and restarts). Export it from your
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

  async #handle(m: LimiterMessage): Promise<LimitAnswer | BlockState | { credits: number }> {
    if (m.op === 'fail') return this.#recordFailure(m.blockKey, m.policy)
    if (m.op === 'credits') return this.#adjustCredits(m.key, m.credits, m.add)
    // The key's rules, then each group's, every one under the counters of whom it counts.
    const rules: RateLimitRule[] = []
    const ids: string[] = []
    if (m.op === 'limit') {
      for (const group of [{ key: m.key, rules: m.rules }, ...(m.shared ?? [])]) {
        for (const rule of group.rules) {
          rules.push(rule)
          ids.push(quotaId(group.key, rule))
        }
      }
    }
    const blockId = m.blockKey === undefined ? undefined : failureId(m.blockKey)
    const spend = m.op === 'limit' && m.credits !== undefined ? { credits: m.credits, cost: m.cost ?? 1, id: creditId(m.key) } : undefined
    const read = blockId === undefined ? [...ids] : [blockId, ...ids]
    if (spend !== undefined) read.push(spend.id)
    const stored = await this.#storage.get(read)
    // Read once the message has its turn and its state: the object's clock, never the caller's.
    const now = Date.now()
    if (blockId !== undefined) {
      const window = stored.get(blockId) as FailureEntry | undefined
      if (window !== undefined && window.blockedUntil > now) {
        return { allowed: false, blocked: true, retryAfterMs: window.blockedUntil - now, rules: [] }
      }
    }
    let credit: CreditDecision | undefined
    if (spend !== undefined) credit = spendCredits(spend.credits, spend.cost, heldCredits(stored.get(spend.id)), now)
    if (rules.length === 0 && credit === undefined) return { allowed: true, blocked: false, retryAfterMs: 0, rules: [] }
    const states = ids.map((id) => (stored.get(id) as QuotaEntry | undefined)?.state)
    const decisions = rules.map((rule, i) => decideRule(rule, states[i], now))
    const rulesAllow = decisions.every((d) => d.allowed)
    // The credits and the rules: all allow, then all count; else nothing does.
    const allowed = rulesAllow && (credit === undefined || credit.allowed)
    if (allowed) {
      const writes: Record<string, QuotaEntry> = {}
      decisions.forEach((d, i) => (writes[ids[i]!] = { state: d.next, until: ruleStateUntil(rules[i]!, d.next) }))
      if (credit !== undefined) writes[spend!.id] = { state: credit.next, until: FOREVER }
      await this.#write(writes)
    } else if (credit?.advanced === true) {
      // A refusal still keeps a newer epoch (or a refill): a stale record must not spend the balance it replaced.
      await this.#write({ [spend!.id]: { state: credit.current, until: FOREVER } })
    }
    const answer: LimitAnswer = {
      allowed,
      blocked: false,
      retryAfterMs: allowed ? 0 : Math.max(0, ...decisions.map((d) => d.retryAfterMs)),
      // A denied call counts on no rule: the rules that would have allowed it are reported as they stand.
      rules: decisions.map((d, i) =>
        allowed || (!rulesAllow && !d.allowed) ? { remaining: d.remaining, resetMs: d.resetMs } : peekRule(rules[i]!, states[i], now),
      ),
    }
    if (credit !== undefined) {
      // The balance as it stands when the rules refused (nothing spent), after the spend otherwise.
      answer.credits = credit.allowed && !rulesAllow ? credit.remaining + spend!.cost : credit.remaining
      answer.creditsExhausted = !credit.allowed
      if (!credit.allowed) answer.retryAfterMs = credit.retryAfterMs
    }
    return answer
  }

  async #adjustCredits(key: string, credits: Parameters<typeof addCredits>[0], add: number): Promise<{ credits: number }> {
    const id = creditId(key)
    const held = heldCredits((await this.#storage.get([id])).get(id))
    const { next, remaining } = addCredits(credits, add, held, Date.now())
    if (add > 0) await this.#write({ [id]: { state: next, until: FOREVER } })
    return { credits: remaining }
  }

  async #recordFailure(blockKey: string, policy: LockoutPolicy): Promise<BlockState> {
    const id = failureId(blockKey)
    let window = (await this.#storage.get([id])).get(id) as FailureEntry | undefined
    const now = Date.now()
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
        if ((entry as { until?: unknown }).until === undefined || (entry as { until: number }).until <= now) stale.push(id)
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
