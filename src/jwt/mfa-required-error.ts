import { KeywardError } from '../errors.js'

/**
 * The refusal of a login that needs its second factor: 401 `mfa_required`, carrying a short-lived
 * pending-2FA token the client sends back with the code. The token is not in `toJSON()`: the app
 * decides how to hand it over.
 *
 * @example
 * ```ts
 * try {
 *   await kw.tokens.login({ subject, org, twoFactor: { secret } })
 * } catch (error) {
 *   if (error instanceof MfaRequiredError) return res.status(401).json({ ...error.toJSON(), pendingToken: error.pendingToken })
 *   throw error
 * }
 * ```
 */
export class MfaRequiredError extends KeywardError {
  /** A pending-2FA token (typ `mfa-pending+jwt`): good only to complete this login, for `jwt.pendingTokenTtl`. */
  readonly pendingToken: string

  constructor(pendingToken: string) {
    super('mfa_required')
    this.pendingToken = pendingToken
  }
}
