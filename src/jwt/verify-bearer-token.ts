import { admit, grant, hold, refuse, settle, type Failure, type Success } from '../verify/steps.js'
import type { Runtime } from '../runtime.js'
import type { VerifyInput } from '../verify/verify.js'
import type { TokenVerifier, VerifiedToken } from './token-verifier.js'

/**
 * The pipeline for a credential shaped like a JWT: the same lockout, project, scope and quota
 * steps as an API key, after the token's signature and claims. Origin and IP rules belong to keys
 * and do not apply. Throws only on an outage (the caller answers 503).
 *
 * @example
 * ```ts
 * if (looksLikeJwt(credential)) return verifyBearerToken(rt, verifier, input, credential)
 * ```
 */
export async function verifyBearerToken(rt: Runtime, verifier: TokenVerifier, input: VerifyInput, token: string): Promise<Success | Failure> {
  const now = rt.now()
  const client = rt.memo.address(input.ip)
  const admission = admit(rt, client, now)
  const admitted = admission instanceof Promise ? await admission : admission
  if (typeof admitted !== 'boolean') return admitted
  let held = admitted
  // A token verified earlier is answered from the cache without an await, so it holds nothing.
  let verified: VerifiedToken | null | undefined = verifier.cachedAccess(token, now)
  if (verified === undefined) {
    // Checking the token is an await: the attempt is held against the address's failure budget meanwhile.
    held = hold(rt, client, held)
    try {
      verified = await verifier.checkAccess(token, now)
    } catch (cause) {
      settle(rt, client, held)
      throw cause
    }
  }
  if (verified === null) return await refuse(rt, 'invalid_token', client, now, undefined, held)
  if (input.project !== undefined && !verified.auth.projects.includes(input.project)) return await refuse(rt, 'project_forbidden', client, now, undefined, held)
  settle(rt, client, held)
  return await grant(rt, input.scopes, client, now, verified.auth, verified.quota)
}
