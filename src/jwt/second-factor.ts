import { KeywardError } from '../errors.js'
import type { LockoutPolicy } from '../limiters/rate-limiter.js'
import type { Runtime } from '../runtime.js'
import { matchTotpCode } from '../totp.js'

// A code stays acceptable for at most three 30 s steps (the one before, its own, the one after):
// remembering it as used for longer than that is enough to refuse every replay.
const USED_CODE_MS = 120_000
// recordFailure() as an atomic "first claim wins": the first call leaves one failure (not
// blocked), every later one in the window finds the threshold of two reached (blocked). It is the
// limiter's lockout path, which always fails closed, whatever failure policy wraps the quotas.
const CLAIM_ONCE: LockoutPolicy = { maxFailures: 2, windowMs: USED_CODE_MS }

/**
 * Checks a TOTP code for a login: refused while the login has seen too many wrong codes or the
 * address is locked out, refused when wrong or already used (both counted), accepted once.
 * Throws the refusal as a {@link KeywardError}.
 *
 * @example
 * ```ts
 * await checkSecondFactor(rt, { who: 'org_1/user_42', secret, code, ip, maxFailures: 5, windowMs: 300_000 })
 * ```
 */
export async function checkSecondFactor(
  rt: Runtime,
  attempt: { who: string; secret: string; code: string; ip: string | undefined; maxFailures: number; windowMs: number },
): Promise<void> {
  const now = rt.now()
  const client = rt.memo.address(attempt.ip)
  const lockout = rt.lockout !== false && client !== null ? { policy: rt.lockout, bucket: client.bucket } : undefined
  if (lockout !== undefined) {
    const until = rt.blocked.get(lockout.bucket)
    if (until !== undefined && until > now) throw new KeywardError('ip_blocked', { retryAfter: (until - now) / 1000 })
  }
  const loginKey = `mfa:${attempt.who}`
  const policy: LockoutPolicy = { maxFailures: attempt.maxFailures, windowMs: attempt.windowMs }
  const state = await rt.limiter.limit({ key: loginKey, rules: [], blockKey: loginKey, now })
  if (state.blocked) throw tooManyCodes(state.retryAfterMs)

  const step = matchTotpCode(attempt.secret, attempt.code, now)
  const fresh = step !== null && !(await rt.limiter.recordFailure(`totp:${attempt.who}:${step}`, CLAIM_ONCE, now)).blocked
  if (fresh) return

  const counted = await rt.limiter.recordFailure(loginKey, policy, now)
  if (lockout !== undefined) {
    const address = await rt.limiter.recordFailure(lockout.bucket, lockout.policy, now)
    if (address.blocked) rt.blocked.set(lockout.bucket, now + address.retryAfterMs)
  }
  if (counted.blocked) throw tooManyCodes(counted.retryAfterMs)
  throw new KeywardError('mfa_required', { message: step === null ? 'The two-factor code is wrong' : 'This two-factor code was already used' })
}

function tooManyCodes(retryAfterMs: number): KeywardError {
  return new KeywardError('mfa_required', { message: 'Too many wrong two-factor codes: log in again later', retryAfter: retryAfterMs / 1000 })
}
