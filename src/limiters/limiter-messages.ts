// What DurableObjectRateLimiter sends its Durable Object and what comes back, and the checks both
// ends apply: a bad argument is a TypeError on the Worker's side, before any round trip; the
// object checks again, since anything with the namespace binding can call it.

import type { RateLimitRule } from '../types.js'
import type { BlockState, LockoutPolicy } from './rate-limiter.js'

/**
 * One message to the limiter object. `limit` may carry the block check; `blocked` is it alone.
 *
 * @example
 * ```ts
 * const message: LimiterMessage = { op: 'blocked', blockKey: '203.0.113.7', now: Date.now() }
 * ```
 */
export type LimiterMessage =
  | { op: 'limit'; key: string; rules: RateLimitRule[]; blockKey?: string; now: number }
  | { op: 'blocked'; blockKey: string; now: number }
  | { op: 'fail'; blockKey: string; policy: LockoutPolicy; now: number }

/**
 * The object's answer to `limit` (and to `blocked`, with no rules): rule states in the order sent.
 *
 * @example
 * ```ts
 * const answer: LimitAnswer = { allowed: true, blocked: false, retryAfterMs: 0, rules: [{ remaining: 9, resetMs: 360_000 }] }
 * ```
 */
export interface LimitAnswer {
  allowed: boolean
  blocked: boolean
  retryAfterMs: number
  rules: Array<{ remaining: number; resetMs: number }>
}

const isPositiveInteger = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) > 0

function fail(what: string): never {
  throw new TypeError(`keyward: DurableObjectRateLimiter: ${what}`)
}

/**
 * The rules as plain `{ limit, windowMs }` (the object needs no names), or a TypeError.
 *
 * @example
 * ```ts
 * checkRules([{ limit: 10, windowMs: 1000, name: 'burst' }]) // [{ limit: 10, windowMs: 1000 }]
 * ```
 */
export function checkRules(rules: unknown): RateLimitRule[] {
  if (!Array.isArray(rules)) fail('rules must be an array of { limit, windowMs }')
  return rules.map((rule: unknown) => {
    const { limit, windowMs } = (rule ?? {}) as Record<string, unknown>
    if (!isPositiveInteger(limit) || !isPositiveInteger(windowMs)) fail('each rule needs a positive integer limit and windowMs')
    return { limit, windowMs }
  })
}

/**
 * A key or address: a non-empty string of at most 512 characters, or a TypeError.
 *
 * @example
 * ```ts
 * checkName(request.key, 'key')
 * ```
 */
export function checkName(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 512) fail(`${what} must be a non-empty string`)
  return value
}

/**
 * The pipeline's clock: a finite number of epoch ms, or a TypeError.
 *
 * @example
 * ```ts
 * checkNow(Date.now())
 * ```
 */
export function checkNow(value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) fail('now must be a finite number (epoch ms)')
  return value
}

/**
 * A lockout policy with positive integer fields, or a TypeError.
 *
 * @example
 * ```ts
 * checkPolicy({ maxFailures: 10, windowMs: 300_000 })
 * ```
 */
export function checkPolicy(value: unknown): LockoutPolicy {
  const { maxFailures, windowMs } = (value ?? {}) as Record<string, unknown>
  if (!isPositiveInteger(maxFailures) || !isPositiveInteger(windowMs)) fail('policy needs a positive integer maxFailures and windowMs')
  return { maxFailures, windowMs }
}

/**
 * A message as received by the object, checked field by field (a TypeError, answered 400).
 *
 * @example
 * ```ts
 * const message = checkMessage(await request.json())
 * ```
 */
export function checkMessage(value: unknown): LimiterMessage {
  const m = (value ?? {}) as Record<string, unknown>
  switch (m.op) {
    case 'limit':
      return {
        op: 'limit',
        key: checkName(m.key, 'key'),
        rules: checkRules(m.rules),
        ...(m.blockKey === undefined || m.blockKey === null ? {} : { blockKey: checkName(m.blockKey, 'blockKey') }),
        now: checkNow(m.now),
      }
    case 'blocked':
      return { op: 'blocked', blockKey: checkName(m.blockKey, 'blockKey'), now: checkNow(m.now) }
    case 'fail':
      return { op: 'fail', blockKey: checkName(m.blockKey, 'blockKey'), policy: checkPolicy(m.policy), now: checkNow(m.now) }
    default:
      return fail('unknown operation')
  }
}

const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0

/**
 * The object's answer to a limit, checked: anything else is an error (a 503), never a pass.
 *
 * @example
 * ```ts
 * const answer = checkLimitAnswer(await response.json(), rules.length)
 * ```
 */
export function checkLimitAnswer(value: unknown, ruleCount: number): LimitAnswer {
  const a = (value ?? {}) as Record<string, unknown>
  const rules = a.rules
  const ok =
    typeof a.allowed === 'boolean' &&
    typeof a.blocked === 'boolean' &&
    isCount(a.retryAfterMs) &&
    Array.isArray(rules) &&
    rules.length === (a.blocked ? 0 : ruleCount) &&
    rules.every(
      (r: unknown) => isCount((r as Record<string, unknown> | null)?.remaining) && isCount((r as Record<string, unknown>).resetMs),
    )
  if (!ok) throw new Error('keyward: the rate limiter object answered something that is not a limit result')
  return a as unknown as LimitAnswer
}

/**
 * The object's answer to a failure, checked: anything else is an error (a 503).
 *
 * @example
 * ```ts
 * const state = checkBlockState(await response.json())
 * ```
 */
export function checkBlockState(value: unknown): BlockState & { failures: number } {
  const b = (value ?? {}) as Record<string, unknown>
  if (typeof b.blocked !== 'boolean' || !isCount(b.retryAfterMs) || !isCount(b.failures)) {
    throw new Error('keyward: the rate limiter object answered something that is not a lockout state')
  }
  return { blocked: b.blocked, retryAfterMs: b.retryAfterMs, failures: b.failures }
}
