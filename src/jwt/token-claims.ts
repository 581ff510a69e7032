import type { JWTPayload } from 'jose'
import type { Environment } from '../keys/format.js'
import type { JwtAuthContext } from '../types.js'
import { scopeList, type ClaimMapping } from './jwt-options.js'

/** The three kinds of token keyward issues, told apart by their `typ` header (RFC 8725 §3.11). */
export const TOKEN_TYPES = Object.freeze({
  /** RFC 9068's type for OAuth access tokens. */
  access: 'at+jwt',
  refresh: 'refresh+jwt',
  /** A login waiting for its second factor: good for nothing but completing it. */
  pending: 'mfa-pending+jwt',
})

const IDENTIFIER_MAX = 256
// Shared by every token without projects: no array to freeze per verification.
const NO_PROJECTS: readonly string[] = Object.freeze([])
// Authentication Method Reference (RFC 8176) set when a second factor was checked.
const MFA = 'mfa'

// eslint-disable-next-line no-control-regex -- refusing control characters is the point
const CONTROL = /[\x00-\x1f\x7f]/

function identifier(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 && value.length <= IDENTIFIER_MAX && !CONTROL.test(value) ? value : undefined
}

function read(claims: JWTPayload, mapping: string | ((claims: JWTPayload) => unknown) | undefined, fallback: string): unknown {
  if (typeof mapping === 'function') return mapping(claims)
  return claims[mapping ?? fallback]
}

/**
 * Who a verified token speaks for, before the scope hierarchy is applied.
 *
 * @example
 * ```ts
 * const who = identityOf(payload) // { subject: 'user_42', org: 'org_1', scopes: ['read'], projects: [], mfa: false }
 * ```
 */
export interface TokenIdentity {
  subject: string
  org: string
  scopes: string[]
  projects: string[]
  mfa: boolean
}

/**
 * Reads subject, org, scopes and projects from verified claims through a mapping (keyward's own
 * tokens use the defaults). Null when the subject or the org is missing or not an identifier.
 * A `projects` claim that is missing, not an array, or holds any invalid id gives no projects.
 *
 * @example
 * ```ts
 * identityOf({ sub: 'auth0|42', org_id: 'org_1', scope: 'read write' }) // { subject: 'auth0|42', ... }
 * ```
 */
export function identityOf(claims: JWTPayload, mapping: ClaimMapping = {}): TokenIdentity | null {
  const subject = identifier(read(claims, mapping.subject, 'sub'))
  const org = identifier(read(claims, mapping.org, 'org_id'))
  if (subject === undefined || org === undefined) return null
  const scopes = mapping.scopes === undefined ? scopeList(claims.scope ?? claims.scp) : scopeList(read(claims, mapping.scopes, 'scope'))
  const rawProjects = read(claims, mapping.projects, 'projects')
  // All or nothing: a claim that is not a list of valid ids is malformed, and a malformed claim
  // holds no project (never some of them, never every one: see docs/delegation.md).
  const projects =
    Array.isArray(rawProjects) && rawProjects.every((p) => identifier(p) !== undefined && (p as string).length <= 128)
      ? [...(rawProjects as string[])]
      : []
  const amr = claims.amr
  return { subject, org, scopes, projects, mfa: Array.isArray(amr) && amr.includes(MFA) }
}

/**
 * The claims keyward puts in the tokens it issues, besides the registered ones jose sets.
 *
 * @example
 * ```ts
 * new SignJWT(ownClaims({ subject, org, scopes: ['read'], projects: [], mfa: true }, sessionId))
 * ```
 */
export function ownClaims(identity: TokenIdentity, sessionId: string): JWTPayload {
  const claims: JWTPayload = { org_id: identity.org, sid: sessionId }
  if (identity.scopes.length > 0) claims.scope = identity.scopes.join(' ')
  if (identity.projects.length > 0) claims.projects = identity.projects
  if (identity.mfa) claims.amr = ['otp', MFA]
  return claims
}

/**
 * The frozen auth context of a verified token, shared by every request that presents it while
 * it is cached.
 *
 * @example
 * ```ts
 * const auth = tokenAuth(identity, payload, expand, 'live', true)
 * ```
 */
export function tokenAuth(
  identity: TokenIdentity,
  claims: JWTPayload,
  expandScopes: (granted: readonly string[]) => string[],
  environment: Environment,
  own: boolean,
): JwtAuthContext {
  const auth: JwtAuthContext = {
    type: 'jwt',
    subject: identity.subject,
    org: identity.org,
    scopes: Object.freeze(expandScopes(identity.scopes)),
    projects: identity.projects.length === 0 ? NO_PROJECTS : Object.freeze(identity.projects),
    environment,
    mfa: identity.mfa,
    issuer: claims.iss!,
    claims: deepFreeze(claims),
  }
  // Only keyward's own sessions: a third party's `sid` names nothing kw.tokens could revoke.
  if (own && typeof claims.sid === 'string') auth.sessionId = claims.sid
  return Object.freeze(auth)
}

// jose hands over a payload fresh from JSON.parse, owned by nobody else: frozen in place, no copy.
function deepFreeze<T>(value: T): T {
  // Frozen before its members are visited, so that a cycle ends at the frozen object. Own
  // members only (Object.keys): a polluted Object.prototype's members are not the token's.
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    const names = Object.keys(value)
    for (let i = 0; i < names.length; i++) {
      const inner = (value as Record<string, unknown>)[names[i]!]
      if (inner !== null && typeof inner === 'object') deepFreeze(inner)
    }
  }
  return value
}
