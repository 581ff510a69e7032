import { grant, knownBlock, refuse, type Failure, type Success } from '../pipeline-steps.js'
import type { Runtime } from '../runtime.js'
import type { VerifyInput } from '../verify.js'
import type { TokenVerifier } from './token-verifier.js'

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
  const blocked = knownBlock(rt, client, now)
  if (blocked !== null) return blocked
  const verified = await verifier.verifyAccess(token, now)
  if (verified === null) return await refuse(rt, 'invalid_token', client, now)
  if (input.project !== undefined && !verified.auth.projects.includes(input.project)) return await refuse(rt, 'project_forbidden', client, now)
  return await grant(rt, input.scopes, client, now, verified.auth, verified.quota)
}
