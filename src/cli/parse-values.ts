/**
 * The CLI's value syntaxes: durations (`30d`, `24h`), rates (`5000/h`, `100/10m`) and dates.
 * Pure functions, so they are tested without a process.
 */
import type { RateLimitAlgorithm, RateLimitRule } from '../types.js'

const UNIT_MS: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/**
 * A duration such as `90s`, `15m`, `24h` or `30d` in ms, or null when it is not one.
 *
 * @example
 * ```ts
 * parseDuration('24h') // 86_400_000
 * ```
 */
export function parseDuration(text: string): number | null {
  const match = /^([0-9]{1,7})([smhd])$/.exec(text)
  if (match === null) return null
  return Number(match[1]) * UNIT_MS[match[2]!]!
}

/**
 * A rate such as `5000/h` or `100/10m`: at most `limit` calls per window, optionally followed by
 * the rule's algorithm (`3/h:fixed-window`, `:sliding-window`, `:gcra`). Null when it is not one.
 *
 * @example
 * ```ts
 * parseRate('5000/h') // { limit: 5000, windowMs: 3_600_000 }
 * parseRate('3/h:fixed-window') // { limit: 3, windowMs: 3_600_000, algorithm: 'fixed-window' }
 * ```
 */
export function parseRate(text: string): RateLimitRule | null {
  const match = /^([0-9]{1,10})\/([0-9]{0,7})([smhd])(?::(gcra|fixed-window|sliding-window))?$/.exec(text)
  if (match === null) return null
  const count = match[2] === '' ? 1 : Number(match[2])
  const limit = Number(match[1])
  if (count === 0 || limit === 0) return null
  const windowMs = count * UNIT_MS[match[3]!]!
  return match[4] === undefined ? { limit, windowMs } : { limit, windowMs, algorithm: match[4] as RateLimitAlgorithm }
}

/**
 * `--expires`: a duration from now (`30d`) or an ISO 8601 date (`2027-01-01`), as what
 * `kw.keys.create` takes (epoch ms or the ISO string, checked there). Null when it is neither.
 *
 * @example
 * ```ts
 * parseExpiry('30d', Date.now()) // now + 30 days, epoch ms
 * ```
 */
export function parseExpiry(text: string, now: number): number | string | null {
  const duration = parseDuration(text)
  if (duration !== null) return now + duration
  return /^\d{4}-\d{2}-\d{2}/.test(text) ? text : null
}

/**
 * `--credits`: a whole number of credits (at most 10^15, checked by the library), or null.
 *
 * @example
 * ```ts
 * parseCredits('1000') // 1000
 * ```
 */
export function parseCredits(text: string): number | null {
  return /^[0-9]{1,16}$/.test(text) ? Number(text) : null
}

/**
 * `--refill`: credits per period, as a rate is written (`1000/d`, `50/12h`): every period,
 * aligned to the epoch, the balance is set to the amount. Null when it is not one.
 *
 * @example
 * ```ts
 * parseRefill('1000/d') // { amount: 1000, intervalMs: 86_400_000 }
 * ```
 */
export function parseRefill(text: string): { amount: number; intervalMs: number } | null {
  const match = /^([0-9]{1,16})\/([0-9]{0,7})([smhd])$/.exec(text)
  if (match === null) return null
  const count = match[2] === '' ? 1 : Number(match[2])
  if (count === 0) return null
  return { amount: Number(match[1]), intervalMs: count * UNIT_MS[match[3]!]! }
}
