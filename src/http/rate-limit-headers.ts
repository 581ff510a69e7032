import type { RuleState } from '../limiters/rate-limiter.js'
import type { RateLimitRule } from '../types.js'

const POLICY_NAME = /^[A-Za-z0-9_-]{1,32}$/

/**
 * True when `name` can stand as a policy name inside the quoted header values: 1-32 letters,
 * digits, `-` or `_`.
 *
 * @example
 * ```ts
 * isValidPolicyName('hourly') // true
 * isValidPolicyName('a"b') // false
 * ```
 */
export function isValidPolicyName(name: unknown): name is string {
  return typeof name === 'string' && POLICY_NAME.test(name)
}

/**
 * The policy name of a rule in the headers: its own, `default` when alone, else `w<seconds>`.
 *
 * @example
 * ```ts
 * policyName({ limit: 10, windowMs: 1000 }, 0, 1) // 'default'
 * ```
 */
export function policyName(rule: RateLimitRule, index: number, count: number): string {
  if (rule.name !== undefined) return rule.name
  return count === 1 ? 'default' : `w${Math.ceil(rule.windowMs / 1000)}-${index}`
}

/**
 * The `RateLimit-Policy` value (draft-ietf-httpapi-ratelimit-headers-10): `"default";q=5000;w=3600`.
 * Depends only on the rules, so callers compute it once per key.
 *
 * @example
 * ```ts
 * formatPolicy([{ limit: 100, windowMs: 60_000 }]) // '"default";q=100;w=60'
 * ```
 */
export function formatPolicy(rules: readonly RateLimitRule[]): string {
  return rules.map((rule, i) => `"${policyName(rule, i, rules.length)}";q=${rule.limit};w=${Math.ceil(rule.windowMs / 1000)}`).join(', ')
}

/**
 * The `RateLimit` value: remaining calls `r` and seconds `t` until the full quota is back.
 *
 * @example
 * ```ts
 * formatRateLimit(states) // '"default";r=99;t=1'
 * ```
 */
export function formatRateLimit(states: readonly RuleState[]): string {
  // Built on every request with a quota: a loop and one string, no intermediate array.
  let value = ''
  for (let i = 0; i < states.length; i++) {
    const s = states[i]!
    value += `${i === 0 ? '' : ', '}"${policyName(s.rule, i, states.length)}";r=${s.remaining};t=${Math.ceil(s.resetMs / 1000)}`
  }
  return value
}
