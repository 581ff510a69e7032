import { KeywardError } from '../errors.js'
import type { LockoutPolicy, RateLimiter } from '../limiters/rate-limiter.js'
import type { Runtime } from '../runtime.js'

// A code stays acceptable for at most three 30 s steps (the one before, its own, the one after):
// remembering it as used for longer than that is enough to refuse every replay.
const USED_CODE_MS = 120_000

/**
 * `recordFailure()` as an atomic "first claim wins": the first call leaves one failure (not
 * blocked), every later one in the window finds the threshold of two reached (blocked). It is the
 * limiter's lockout path, which always fails closed, whatever failure policy wraps the quotas.
 *
 * @example
 * ```ts
 * if (!(await claimOnce(limiter, `totp:${who}:${step}`, 120_000, now))) refuse('already used')
 * ```
 */
export async function claimOnce(limiter: RateLimiter, key: string, windowMs: number, now: number): Promise<boolean> {
  return !(await limiter.recordFailure(key, { maxFailures: 2, windowMs }, now)).blocked
}

/**
 * One second-factor attempt of a login: who logs in, which time step the code matched (null: none),
 * from where, and the budget of codes per pending login.
 *
 * @example
 * ```ts
 * const attempt: CodeAttempt = {
 *   who: '["org_1","user_42"]',
 *   step: matchTotpCode(secret, code, now),
 *   ip,
 *   maxFailures: 5,
 *   windowMs: 300_000,
 *   now,
 * }
 * ```
 */
export interface CodeAttempt {
  who: string
  step: number | null
  ip: string | undefined
  maxFailures: number
  windowMs: number
  now: number
}

/**
 * Settles a TOTP attempt against the shared counters. Every attempt takes one of the pending
 * login's `maxFailures` checks *before* its code counts, atomically in the limiter, so codes sent in
 * parallel cannot all be checked before the first wrong one is counted. A right code is then
 * claimed once (a replay is refused); a wrong or replayed one also counts toward the address's
 * lockout. Throws the refusal as a {@link KeywardError}.
 *
 * @example
 * ```ts
 * await settleSecondFactor(rt, twoFactorLimiter, attempt)
 * ```
 */
export async function settleSecondFactor(rt: Runtime, limiter: RateLimiter, attempt: CodeAttempt): Promise<void> {
  const { now } = attempt
  const client = rt.memo.address(attempt.ip)
  const lockout = rt.lockout !== false && client !== null ? { policy: rt.lockout, bucket: client.bucket } : undefined
  if (lockout !== undefined) {
    const known = rt.blocked.get(lockout.bucket)
    let until = known !== undefined && known > now ? known - now : 0
    if (until === 0) {
      // Asked of the shared limiter too: another instance may have blocked the address.
      const state = await rt.limiter.limit({ key: lockout.bucket, rules: [], blockKey: lockout.bucket, now })
      if (state.blocked) until = state.retryAfterMs
    }
    if (until > 0) throw new KeywardError('ip_blocked', { retryAfter: until / 1000 })
  }
  // The (maxFailures + 1)-th attempt in the window finds the login blocked: at most maxFailures
  // codes are ever checked per pending login, however many arrive at once.
  const budget: LockoutPolicy = { maxFailures: attempt.maxFailures + 1, windowMs: attempt.windowMs }
  const spent = await limiter.recordFailure(`mfa:${attempt.who}`, budget, now)
  if (spent.blocked) throw tooManyCodes(spent.retryAfterMs)

  if (attempt.step !== null && (await claimOnce(limiter, `totp:${attempt.who}:${attempt.step}`, USED_CODE_MS, now))) return

  if (lockout !== undefined) {
    const address = await rt.limiter.recordFailure(lockout.bucket, lockout.policy, now)
    if (address.blocked) rt.blocked.set(lockout.bucket, now + address.retryAfterMs)
  }
  throw new KeywardError('mfa_required', {
    message: attempt.step === null ? 'The two-factor code is wrong' : 'This two-factor code was already used',
  })
}

function tooManyCodes(retryAfterMs: number): KeywardError {
  return new KeywardError('mfa_required', { message: 'Too many two-factor attempts: log in again later', retryAfter: retryAfterMs / 1000 })
}
