/**
 * The `lockout` option of createKeyward: the policy the limiter counts with, and which refusals
 * count against the client's address. Internal but for the types the root entry exports.
 */
import type { LockoutPolicy } from '../limiters/rate-limiter.js'
import { integer, nested, optionError, orFalse, required, type OptionRule } from '../internal/options.js'

/**
 * The refusals of `verify()` that lockout can count: those decided after admission, with a
 * well-formed credential in hand. Missing and malformed credentials are refused before lockout
 * (anyone can compute a checksum: counting them buys nothing), and an outage is never the client's.
 *
 * @example
 * ```ts
 * const count: LockoutCountedCode[] = ['invalid_token', 'origin_forbidden', 'ip_forbidden', 'rate_limited']
 * ```
 */
export type LockoutCountedCode =
  'invalid_token' | 'origin_forbidden' | 'ip_forbidden' | 'project_forbidden' | 'insufficient_scope' | 'rate_limited'

/** Every code `lockout.count` accepts, for the option check. */
export const LOCKOUT_COUNTABLE: readonly LockoutCountedCode[] = Object.freeze([
  'invalid_token',
  'origin_forbidden',
  'ip_forbidden',
  'project_forbidden',
  'insufficient_scope',
  'rate_limited',
])

/**
 * What counts by default: a wrong credential, or one used from where it is not allowed. Project
 * and scope refusals are a valid credential asking for too much, and an over-quota call is one
 * the key's owner made too often; an app whose product counts them says so with `lockout.count`.
 *
 * @example
 * ```ts
 * DEFAULT_LOCKOUT_COUNT.includes('rate_limited') // false
 * ```
 */
export const DEFAULT_LOCKOUT_COUNT: readonly LockoutCountedCode[] = Object.freeze(['invalid_token', 'origin_forbidden', 'ip_forbidden'])

/**
 * The `lockout` option: the limiter's policy, plus which refusals count.
 *
 * @example
 * ```ts
 * const lockout: LockoutOptions = { maxFailures: 10, windowMs: 300_000, count: ['invalid_token', 'rate_limited'] }
 * ```
 */
export interface LockoutOptions extends LockoutPolicy {
  /**
   * The refusals that count toward the address's lockout, by error code. Default
   * `['invalid_token', 'origin_forbidden', 'ip_forbidden']`. Adding `'rate_limited'` costs one more
   * limiter call on each over-quota refusal.
   */
  count?: readonly LockoutCountedCode[]
}

const countRule: OptionRule = (value, path) => {
  if (!Array.isArray(value) || value.length === 0)
    optionError(`${path} must be a non-empty list of error codes (to count nothing, set lockout: false)`)
  for (const code of value as unknown[]) {
    if (typeof code !== 'string' || !(LOCKOUT_COUNTABLE as readonly string[]).includes(code)) {
      const what = typeof code === 'string' ? `"${code}"` : 'a non-string'
      optionError(
        `${path} cannot count ${what}: it must list codes of ${LOCKOUT_COUNTABLE.join(', ')} ` +
          "(missing and malformed credentials are refused before lockout; an outage is never the client's)",
      )
    }
  }
}

/**
 * The option rule of `lockout`: false, or `{ maxFailures, windowMs, count? }`.
 *
 * @example
 * ```ts
 * const rules = { lockout: LOCKOUT_OPTION }
 * ```
 */
export const LOCKOUT_OPTION: OptionRule = orFalse(
  nested(
    {
      maxFailures: required(integer({ min: 1, message: 'must be a positive integer' })),
      windowMs: required(integer({ min: 1000, message: 'must be an integer >= 1000' })),
      count: countRule,
    },
    () => 'lockout must be false or { maxFailures: positive integer, windowMs: integer >= 1000, count?: error codes }',
  ),
)

/**
 * The checked option as the pipeline uses it: the policy the limiter is handed (nothing else, so a
 * custom limiter sees the shape it always did) and the set of codes that count.
 *
 * @example
 * ```ts
 * const { policy, counts } = resolveLockout(options.lockout)
 * ```
 */
export function resolveLockout(option: LockoutOptions | false | undefined): {
  policy: LockoutPolicy | false
  counts: ReadonlySet<string>
} {
  if (option === false) return { policy: false, counts: new Set() }
  const { maxFailures, windowMs, count } = option ?? { maxFailures: 10, windowMs: 5 * 60_000 }
  return { policy: Object.freeze({ maxFailures, windowMs }), counts: new Set(count ?? DEFAULT_LOCKOUT_COUNT) }
}
