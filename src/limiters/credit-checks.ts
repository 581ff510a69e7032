// The checks every limiter applies to what it is asked to spend or add: a bad argument is a
// TypeError (a rejection), never a balance made of NaN.

import type { KeyCredits } from '../types.js'
import { isKeyCredits, MAX_CREDITS } from './credits.js'
import type { CreditAdjustment } from './rate-limiter.js'

/**
 * A spend's credits and cost, checked: the credits as a record holds them, the cost a
 * non-negative safe integer (default 1). Else a TypeError.
 *
 * @example
 * ```ts
 * const { credits, cost } = checkCreditSpend(request.credits, request.cost)
 * ```
 */
export function checkCreditSpend(credits: unknown, cost: unknown): { credits: KeyCredits; cost: number } {
  if (!isKeyCredits(credits)) throw new TypeError('keyward: credits must be { remaining, refill, epoch } as a key record holds them')
  const spent = cost ?? 1
  if (!Number.isSafeInteger(spent) || (spent as number) < 0) throw new TypeError('keyward: cost must be a non-negative safe integer')
  return { credits, cost: spent as number }
}

/**
 * A top-up or read, checked: a key name, the record's credits, `add` an integer from 0 to
 * {@link MAX_CREDITS}, `now` a safe integer. Else a TypeError.
 *
 * @example
 * ```ts
 * const { key, credits, add, now } = checkCreditAdjustment(adjustment)
 * ```
 */
export function checkCreditAdjustment(adjustment: unknown): CreditAdjustment {
  const { key, credits, add, now } = (adjustment ?? {}) as Record<string, unknown>
  if (typeof key !== 'string' || key.length === 0) throw new TypeError('keyward: adjustCredits needs a key')
  if (!isKeyCredits(credits)) throw new TypeError('keyward: credits must be { remaining, refill, epoch } as a key record holds them')
  if (!Number.isSafeInteger(add) || (add as number) < 0 || (add as number) > MAX_CREDITS)
    throw new TypeError(`keyward: add must be an integer from 0 to ${MAX_CREDITS}`)
  if (!Number.isSafeInteger(now)) throw new TypeError('keyward: now must be epoch milliseconds')
  return { key, credits, add: add as number, now: now as number }
}
