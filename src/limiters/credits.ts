import type { KeyCredits } from '../types.js'

/**
 * The largest balance, refill amount or top-up keyward accepts: far above any real budget, and
 * twice it still an exact integer in a double (Redis's Lua and JavaScript count alike).
 *
 * @example
 * ```ts
 * if (remaining > MAX_CREDITS) throw new TypeError('too many credits')
 * ```
 */
export const MAX_CREDITS = 1_000_000_000_000_000

/** The shortest and longest refill interval: one second, one year (as a rule's window). */
export const MIN_REFILL_INTERVAL_MS = 1000
export const MAX_REFILL_INTERVAL_MS = 366 * 24 * 3_600_000

/**
 * What a limiter keeps per key with credits: the record epoch its balance comes from, the
 * running balance, and the start of the refill interval that balance belongs to (0 without refill).
 *
 * @example
 * ```ts
 * const held: CreditState = { epoch: 1_767_225_600_000, remaining: 41, refilledAt: 0 }
 * ```
 */
export interface CreditState {
  epoch: number
  remaining: number
  refilledAt: number
}

/**
 * One spend decided: whether it passes, the state to keep if every quota rule also allows it,
 * the balance after it (as it stands when refused), and when refused, the ms until a refill
 * could let it pass (0 when none will: no refill, or a refill smaller than the cost). When
 * `advanced` (nothing held yet, a newer epoch taken or a refill applied), `current` (the balance
 * in force, nothing spent) must be kept even when the spend is refused: else a stale record on
 * another instance would still spend the balance a cut-off replaced.
 *
 * @example
 * ```ts
 * const d: CreditDecision = spendCredits(credits, 1, held, Date.now())
 * ```
 */
export interface CreditDecision {
  allowed: boolean
  next: CreditState
  remaining: number
  retryAfterMs: number
  current: CreditState
  advanced: boolean
}

/** The start of the refill interval `now` falls in; 0 without refill. */
function intervalStart(credits: KeyCredits, now: number): number {
  const refill = credits.refill
  return refill === null ? 0 : Math.floor(now / refill.intervalMs) * refill.intervalMs
}

/**
 * The balance in force at `now`: the held one, refilled if a new interval has begun; or, when
 * nothing is held or the record's epoch is newer than the held one (a set through
 * `kw.keys.update`), the record's. An older epoch (an instance with a stale cached record, a
 * rotated predecessor in its grace period) never replaces a newer balance, nor refills it: its
 * refill is the old one. The same object as `held` when nothing changed.
 *
 * @example
 * ```ts
 * const state = currentCredits({ remaining: 10, refill: null, epoch: 2 }, { epoch: 1, remaining: 0, refilledAt: 0 }, Date.now())
 * // state.remaining === 10: the record was set anew
 * ```
 */
export function currentCredits(credits: KeyCredits, held: CreditState | undefined, now: number): CreditState {
  const start = intervalStart(credits, now)
  if (held === undefined || credits.epoch > held.epoch) return { epoch: credits.epoch, remaining: credits.remaining, refilledAt: start }
  // A clock that stepped back keeps the later interval, as a fixed-window rule does.
  if (credits.refill !== null && credits.epoch === held.epoch && start > held.refilledAt)
    return { epoch: held.epoch, remaining: credits.refill.amount, refilledAt: start }
  return held
}

/**
 * Decides one spend of `cost` credits. The Redis script and the Durable Object mirror it.
 *
 * @example
 * ```ts
 * const d = spendCredits({ remaining: 1, refill: null, epoch: 1 }, 1, undefined, Date.now())
 * // d.allowed === true, d.remaining === 0
 * ```
 */
export function spendCredits(credits: KeyCredits, cost: number, held: CreditState | undefined, now: number): CreditDecision {
  const state = currentCredits(credits, held, now)
  const advanced = state !== held
  if (cost <= state.remaining) {
    const remaining = state.remaining - cost
    const next = { epoch: state.epoch, remaining, refilledAt: state.refilledAt }
    return { allowed: true, next, remaining, retryAfterMs: 0, current: state, advanced }
  }
  const refill = credits.refill
  const retryAfterMs = refill === null || refill.amount < cost ? 0 : Math.max(1, state.refilledAt + refill.intervalMs - now)
  return { allowed: false, next: state, remaining: state.remaining, retryAfterMs, current: state, advanced }
}

/**
 * What every limiter says when a top-up would take a balance past 2^53 (the Redis script's own
 * error and the Durable Object's answer carry the same words): the top-up was refused whole,
 * nothing added, so `kw.keys.update` can answer 400 `validation_failed` rather than a 503 that may or may not have added.
 *
 * @example
 * ```ts
 * if (error instanceof Error && error.message.includes(BALANCE_OVERFLOW)) throw invalidTopUp()
 * ```
 */
export const BALANCE_OVERFLOW = 'a credit balance must stay a safe integer'

/**
 * A top-up of `add` credits on the balance in force (0 reads it): the state to keep and the balance after.
 *
 * @example
 * ```ts
 * const { next, remaining } = addCredits(credits, 500, held, Date.now())
 * ```
 */
export function addCredits(
  credits: KeyCredits,
  add: number,
  held: CreditState | undefined,
  now: number,
): { next: CreditState; remaining: number } {
  const state = currentCredits(credits, held, now)
  const remaining = state.remaining + add
  if (!Number.isSafeInteger(remaining)) throw new RangeError(`keyward: ${BALANCE_OVERFLOW}`)
  return { next: { epoch: state.epoch, remaining, refilledAt: state.refilledAt }, remaining }
}

/**
 * Whether `value` is a stored credit state: three non-negative safe integers. Anything else is a
 * broken backend (503), never a full balance.
 *
 * @example
 * ```ts
 * if (!isCreditState(stored)) throw new Error('malformed credit state')
 * ```
 */
export function isCreditState(value: unknown): value is CreditState {
  if (value === null || typeof value !== 'object') return false
  const { epoch, remaining, refilledAt } = value as Record<string, unknown>
  return [epoch, remaining, refilledAt].every((n) => Number.isSafeInteger(n) && (n as number) >= 0)
}

const isCount = (n: unknown, max: number): n is number => Number.isSafeInteger(n) && (n as number) >= 0 && (n as number) <= max

/**
 * The credits a key spends: its record's, unless there are none or they were removed.
 *
 * @example
 * ```ts
 * const credits = activeCredits(record.credits) // KeyCredits | null
 * ```
 */
export function activeCredits(credits: KeyCredits | null | undefined): KeyCredits | null {
  return credits === null || credits === undefined || credits.removed === true ? null : credits
}

/**
 * Whether `value` is a key's credits as a record holds them, every field in range: what a store
 * read back and what a limiter is asked to spend from are checked with it.
 *
 * @example
 * ```ts
 * isKeyCredits({ remaining: 10, refill: null, epoch: 1 }) // true
 * ```
 */
export function isKeyCredits(value: unknown): value is KeyCredits {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false
  const { remaining, refill, epoch, removed } = value as Record<string, unknown>
  if (!isCount(remaining, MAX_CREDITS) || !isCount(epoch, Number.MAX_SAFE_INTEGER)) return false
  if (removed !== undefined && removed !== true) return false
  if (refill === null) return true
  if (refill === undefined || typeof refill !== 'object' || Array.isArray(refill)) return false
  const { amount, intervalMs } = refill as Record<string, unknown>
  return isCount(amount, MAX_CREDITS) && isCount(intervalMs, MAX_REFILL_INTERVAL_MS) && intervalMs >= MIN_REFILL_INTERVAL_MS
}
