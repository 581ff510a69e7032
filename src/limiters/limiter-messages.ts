// What DurableObjectRateLimiter sends its Durable Object and what comes back, and the checks both
// ends apply: a bad argument is a TypeError on the Worker's side, before any round trip; the
// object checks again, since anything with the namespace binding can call it. No message carries
// a time: the object decides on its own clock, so a Worker whose clock runs ahead cannot refill
// a quota or end a block early.

import type { KeyCredits, RateLimitRule } from '../types.js'
import { checkCreditSpend } from './credit-checks.js'
import { isKeyCredits, MAX_CREDITS } from './credits.js'
import { ruleAlgorithmIssue } from './quota-algorithms.js'
import type { BlockState, LockoutPolicy } from './rate-limiter.js'

/**
 * A group's rules, counted with the key's in one decision (`LimitRequest.shared`).
 *
 * @example
 * ```ts
 * const group: SharedRules = { key: 'shared:org:org_1', rules: [{ limit: 100_000, windowMs: 86_400_000 }] }
 * ```
 */
export interface SharedRules {
  key: string
  rules: RateLimitRule[]
}

/**
 * One message to the limiter object. `limit` may carry the block check; `blocked` is it alone.
 *
 * @example
 * ```ts
 * const message: LimiterMessage = { op: 'blocked', blockKey: '203.0.113.7' }
 * ```
 */
export type LimiterMessage =
  | { op: 'limit'; key: string; rules: RateLimitRule[]; shared?: SharedRules[]; blockKey?: string; credits?: KeyCredits; cost?: number }
  | { op: 'blocked'; blockKey: string }
  | { op: 'credits'; key: string; credits: KeyCredits; add: number }
  | { op: 'fail'; blockKey: string; policy: LockoutPolicy }

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
  /** With credits in the message (and not blocked): the balance, and whether the credits refused. */
  credits?: number
  creditsExhausted?: boolean
}

const isPositiveInteger = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) > 0

function fail(what: string, limiter = 'DurableObjectRateLimiter'): never {
  throw new TypeError(`keyward: ${limiter}: ${what}`)
}

/**
 * The rules as plain `{ limit, windowMs, algorithm? }` (the object needs no names), or a TypeError.
 *
 * @example
 * ```ts
 * checkRules([{ limit: 10, windowMs: 1000, name: 'burst' }]) // [{ limit: 10, windowMs: 1000 }]
 * ```
 */
export function checkRules(rules: unknown): RateLimitRule[] {
  if (!Array.isArray(rules)) fail('rules must be an array of { limit, windowMs }')
  return rules.map((rule: unknown) => {
    const { limit, windowMs, algorithm } = (rule ?? {}) as Record<string, unknown>
    if (!isPositiveInteger(limit) || !isPositiveInteger(windowMs)) fail('each rule needs a positive integer limit and windowMs')
    const issue = ruleAlgorithmIssue(algorithm, limit)
    if (issue !== undefined) fail(`a rule's ${issue.field} ${issue.message}`)
    // GCRA, the default, is sent as no algorithm: one state id whatever the caller wrote.
    return algorithm === undefined || algorithm === 'gcra'
      ? { limit, windowMs }
      : { limit, windowMs, algorithm: algorithm as RateLimitRule['algorithm'] }
  })
}

/**
 * `LimitRequest.shared` as plain groups of checked rules, or a TypeError.
 *
 * @example
 * ```ts
 * checkShared([{ key: 'shared:org:o', rules: [{ limit: 5, windowMs: 3_600_000 }] }])
 * ```
 */
export function checkShared(shared: unknown): SharedRules[] {
  if (!Array.isArray(shared)) fail('shared must be an array of { key, rules }')
  return shared.map((group: unknown) => {
    const { key, rules } = (group ?? {}) as Record<string, unknown>
    return { key: checkName(key, 'shared key'), rules: checkRules(rules) }
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
 * A lockout policy with positive integer fields, or a TypeError naming `limiter`.
 *
 * @example
 * ```ts
 * checkPolicy({ maxFailures: 10, windowMs: 300_000 }, 'RedisRateLimiter')
 * ```
 */
export function checkPolicy(value: unknown, limiter?: string): LockoutPolicy {
  const { maxFailures, windowMs } = (value ?? {}) as Record<string, unknown>
  if (!isPositiveInteger(maxFailures) || !isPositiveInteger(windowMs))
    fail('policy needs a positive integer maxFailures and windowMs', limiter)
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
        ...(m.shared === undefined || m.shared === null ? {} : { shared: checkShared(m.shared) }),
        ...(m.blockKey === undefined || m.blockKey === null ? {} : { blockKey: checkName(m.blockKey, 'blockKey') }),
        ...(m.credits === undefined || m.credits === null ? {} : checkCreditSpend(m.credits, m.cost ?? undefined)),
      }
    case 'credits':
      if (!isKeyCredits(m.credits)) fail('credits must be { remaining, refill, epoch }')
      if (!Number.isSafeInteger(m.add) || (m.add as number) < 0 || (m.add as number) > MAX_CREDITS)
        fail(`add must be an integer from 0 to ${MAX_CREDITS}`)
      return { op: 'credits', key: checkName(m.key, 'key'), credits: m.credits, add: m.add as number }
    case 'blocked':
      return { op: 'blocked', blockKey: checkName(m.blockKey, 'blockKey') }
    case 'fail':
      return { op: 'fail', blockKey: checkName(m.blockKey, 'blockKey'), policy: checkPolicy(m.policy) }
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
export function checkLimitAnswer(value: unknown, ruleCount: number, spends = false): LimitAnswer {
  const a = (value ?? {}) as Record<string, unknown>
  const rules = a.rules
  const ok =
    // A spend must come back with its balance (unless the address was blocked first).
    (!spends || a.blocked === true || (isCount(a.credits) && typeof a.creditsExhausted === 'boolean')) &&
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
 * The object's answer to a credits message: the balance, checked (anything else is a 503).
 *
 * @example
 * ```ts
 * const balance = checkCreditsAnswer(await response.json())
 * ```
 */
export function checkCreditsAnswer(value: unknown): number {
  const balance = (value as { credits?: unknown } | null)?.credits
  if (!isCount(balance)) throw new Error('keyward: the rate limiter object answered something that is not a credit balance')
  return balance
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
