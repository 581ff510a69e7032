/**
 * One call decided against one rule by its algorithm, with the state to store if every rule allows it.
 *
 * @example
 * ```ts
 * const d: QuotaDecision<unknown> = decideRule(rule, stored, Date.now())
 * ```
 */
export interface QuotaDecision<S> {
  allowed: boolean
  next: S
  /** Calls still allowed after this one (0 when refused). */
  remaining: number
  /** Milliseconds until the full quota is back. */
  resetMs: number
  /** When refused: milliseconds until a call can pass. */
  retryAfterMs: number
}
