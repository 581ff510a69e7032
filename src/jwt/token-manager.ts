import type { JWK } from 'jose'
import { isKeywardError, KeywardError } from '../errors.js'
import { Checker, plainObject } from '../keys/input.js'
import type { Runtime } from '../runtime.js'
import type { TokenStore } from '../stores/token-store.js'
import type { JwtConfig } from './jwt-options.js'
import type { Keyring } from './keyring.js'
import { MfaRequiredError } from './mfa-required-error.js'
import type { RateLimiter } from '../limiters/rate-limiter.js'
import { matchTotpCode } from './totp.js'
import { claimOnce, settleSecondFactor } from './second-factor.js'
import { randomId, signToken } from './sign-token.js'
import { identityOf, TOKEN_TYPES, type TokenIdentity } from './token-claims.js'
import type { TokenVerifier } from './token-verifier.js'

/**
 * A new access token and refresh token, as a login or refresh endpoint returns them.
 *
 * @example
 * ```ts
 * const pair: TokenPair = await kw.tokens.issue({ subject: 'user_42', org: 'org_1' })
 * res.json({ access_token: pair.accessToken, expires_in: pair.expiresIn })
 * ```
 */
export interface TokenPair {
  accessToken: string
  refreshToken: string
  tokenType: 'Bearer'
  /** Seconds the access token lives. */
  expiresIn: number
  /** Seconds the refresh token lives. */
  refreshExpiresIn: number
  /** The login session (refresh family) both tokens belong to. */
  sessionId: string
}

/**
 * Who the tokens are for. `scopes` and `projects` are granted as given (the app decides them).
 *
 * @example
 * ```ts
 * const input: IssueTokensInput = { subject: 'user_42', org: 'org_1', scopes: ['read', 'write'], mfa: true }
 * ```
 */
export interface IssueTokensInput {
  subject: string
  org: string
  scopes?: readonly string[]
  projects?: readonly string[]
  /** True when the app checked a second factor itself. Default false. */
  mfa?: boolean
}

/**
 * A login, after the app has checked the password. With `twoFactor` (the user enabled 2FA), tokens
 * are issued only for a right, unused code; without a code the call throws {@link MfaRequiredError}.
 *
 * @example
 * ```ts
 * await kw.tokens.login({ subject: user.id, org: user.orgId, scopes: user.scopes, twoFactor: { secret: user.totpSecret, code }, ip })
 * ```
 */
export type LoginInput = (Omit<IssueTokensInput, 'mfa'> | { pendingToken: string }) & {
  /** The user's TOTP secret and the code they typed. Leave out for users without 2FA. */
  twoFactor?: { secret: string; code?: string | undefined }
  /** The client address: wrong codes count toward its lockout, as failed verifications do. */
  ip?: string | undefined
}

/**
 * `kw.tokens`: issuing, refreshing and revoking keyward's JWTs, and two-factor logins.
 *
 * @example
 * ```ts
 * const pair = await kw.tokens.login({ subject: 'user_42', org: 'org_1' })
 * const next = await kw.tokens.refresh(pair.refreshToken)
 * await kw.tokens.revoke(next.refreshToken)
 * ```
 */
export interface TokenManager {
  /** Issues a pair and starts a session. Throws `validation_failed` naming each bad field. */
  issue(input: IssueTokensInput): Promise<TokenPair>
  /**
   * Trades a refresh token for a new pair and retires it. A retired token presented again revokes
   * its whole session (reuse detection) and is refused: 401 `invalid_token`.
   */
  refresh(refreshToken: string): Promise<TokenPair>
  /** Logs the session out: its refresh tokens are refused from now on. 401 for a bad token. */
  revoke(refreshToken: string): Promise<void>
  /**
   * Logs a session out by id (`auth.sessionId`). False when there is no such live session: unknown,
   * expired or already logged out. Of concurrent calls for one session, exactly one answers true.
   */
  revokeSession(sessionId: string): Promise<boolean>
  /** A login; see {@link LoginInput}. */
  login(input: LoginInput): Promise<TokenPair>
  /** Who a pending-2FA token is for, so the app can find the user's TOTP secret. 401 when invalid. */
  pendingLogin(pendingToken: string): Promise<{ subject: string; org: string }>
  /** The public keys of the signing and verification keys, to serve at `/.well-known/jwks.json`. */
  jwks(): Promise<{ keys: JWK[] }>
}

/** A login session: its id (the refresh family) and when the user authenticated, epoch seconds. */
interface Session {
  id: string
  authTime: number
}

type RefreshFamilies = Required<Pick<TokenStore, 'insertRefreshFamily' | 'rotateRefreshFamily' | 'revokeRefreshFamily'>>

/**
 * True when the store keeps refresh-token families (the memory, Postgres and Redis stores do).
 *
 * @example
 * ```ts
 * if (!keepsRefreshFamilies(store)) throw new TypeError('this store cannot hold sessions')
 * ```
 */
export function keepsRefreshFamilies(store: TokenStore): boolean {
  const s = store as Partial<RefreshFamilies>
  return (
    typeof s.insertRefreshFamily === 'function' &&
    typeof s.rotateRefreshFamily === 'function' &&
    typeof s.revokeRefreshFamily === 'function'
  )
}

const INVALID = () => new KeywardError('invalid_token')

/** Store and limiter failures (whatever their class) become a 503; keyward's own refusals pass through. */
async function guarded<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work()
  } catch (cause) {
    if (isKeywardError(cause)) throw cause
    throw new KeywardError('store_unavailable', { cause, retryAfter: 1 })
  }
}

function checkIdentity(input: unknown, allowed: readonly string[]): TokenIdentity {
  const c = new Checker()
  if (!plainObject(input))
    throw new KeywardError('validation_failed', {
      message: 'Invalid token input',
      errors: [{ field: '(input)', message: 'must be an object' }],
    })
  for (const field of Object.keys(input)) if (!allowed.includes(field)) c.add(field, 'unknown field')
  const subject = c.text('subject', input.subject, 1, 256)
  const org = c.text('org', input.org, 1, 128)
  const scopes = input.scopes === undefined ? [] : c.scopes(input.scopes)
  const projects = input.projects === undefined ? [] : c.ids('projects', input.projects, 0)
  if (input.mfa !== undefined && typeof input.mfa !== 'boolean') c.add('mfa', 'must be a boolean')
  if (c.issues.length > 0) throw new KeywardError('validation_failed', { message: 'Invalid token input', errors: c.issues })
  return { subject: subject!, org: org!, scopes: scopes!, projects: projects!, mfa: input.mfa === true }
}

/**
 * Builds `kw.tokens` over the runtime, the keyring and the verifier. `twoFactorLimiter` keeps the
 * second-factor counters and used codes: the shared limiter in a cluster, else a table of its own
 * that a flood of client addresses cannot evict them from.
 *
 * @example
 * ```ts
 * const tokens = createTokenManager(rt, config, keyring, verifier, new MemoryRateLimiter())
 * ```
 */
export function createTokenManager(
  rt: Runtime,
  config: JwtConfig,
  keyring: Keyring,
  verifier: TokenVerifier,
  twoFactorLimiter: RateLimiter,
): TokenManager {
  const families = rt.store as RefreshFamilies

  function requireSigning(): void {
    if (!keyring.canSign) throw new TypeError('keyward: issuing tokens needs jwt.signingKey')
    if (!keepsRefreshFamilies(rt.store))
      throw new TypeError(
        'keyward: the store does not keep refresh-token families (insertRefreshFamily, rotateRefreshFamily, revokeRefreshFamily)',
      )
  }

  async function pair(identity: TokenIdentity, session: Session, refreshJti: string, now: number): Promise<TokenPair> {
    const refreshTtl = refreshLifetime(session, now)
    const spec = { sessionId: session.id, authTime: session.authTime }
    const [accessToken, refreshToken] = await Promise.all([
      signToken(
        config,
        keyring,
        identity,
        { ...spec, typ: TOKEN_TYPES.access, audience: config.audience, ttl: Math.min(config.accessTokenTtl, refreshTtl), jti: randomId() },
        now,
      ),
      signToken(
        config,
        keyring,
        identity,
        { ...spec, typ: TOKEN_TYPES.refresh, audience: config.issuer, ttl: refreshTtl, jti: refreshJti },
        now,
      ),
    ])
    return {
      accessToken,
      refreshToken,
      tokenType: 'Bearer',
      expiresIn: Math.min(config.accessTokenTtl, refreshTtl),
      refreshExpiresIn: refreshTtl,
      sessionId: session.id,
    }
  }

  /** Seconds a refresh token issued now may live: its own lifetime, within the session's maximum age. */
  function refreshLifetime(session: Session, now: number): number {
    return Math.min(config.refreshTokenTtl, session.authTime + config.sessionMaxAge - Math.floor(now / 1000))
  }

  async function start(identity: TokenIdentity): Promise<TokenPair> {
    const now = rt.now()
    const session: Session = { id: randomId(), authTime: Math.floor(now / 1000) }
    const refreshJti = randomId()
    const expiresAt = now + refreshLifetime(session, now) * 1000
    const stored = await guarded(() =>
      families.insertRefreshFamily({
        id: session.id,
        subject: identity.subject,
        orgId: identity.org,
        current: refreshJti,
        expiresAt,
        revokedAt: null,
        createdAt: now,
      }),
    )
    // 131 random bits do not collide; a store that says they did is not working.
    if (!stored) throw new KeywardError('store_unavailable', { retryAfter: 1 })
    return pair(identity, session, refreshJti, now)
  }

  async function readOwn(token: unknown, typ: string): Promise<{ identity: TokenIdentity; session: Session; jti: string }> {
    if (typeof token !== 'string' || token.length === 0 || token.length > 8192) throw INVALID()
    const payload = await guarded(() => verifier.verifyOwn(token, typ, rt.now()))
    const identity = payload === null ? null : identityOf(payload)
    if (
      payload === null ||
      identity === null ||
      typeof payload.sid !== 'string' ||
      typeof payload.jti !== 'string' ||
      !Number.isSafeInteger(payload.auth_time)
    )
      throw INVALID()
    return { identity, session: { id: payload.sid, authTime: payload.auth_time as number }, jti: payload.jti }
  }

  return {
    async issue(input) {
      requireSigning()
      return start(checkIdentity(input, ['subject', 'org', 'scopes', 'projects', 'mfa']))
    },

    async refresh(refreshToken) {
      requireSigning()
      const { identity, session, jti } = await readOwn(refreshToken, TOKEN_TYPES.refresh)
      const now = rt.now()
      const lifetime = refreshLifetime(session, now)
      // A session older than sessionMaxAge is over, however often it was refreshed.
      if (lifetime <= 0) throw INVALID()
      const next = randomId()
      const outcome = await guarded(() => families.rotateRefreshFamily(session.id, jti, next, now + lifetime * 1000, now))
      // 'reused': the store has just revoked the whole session; 'revoked' / 'unknown': logged out or expired.
      if (outcome !== 'rotated') throw INVALID()
      return pair(identity, session, next, now)
    },

    async revoke(refreshToken) {
      requireSigning()
      const { session } = await readOwn(refreshToken, TOKEN_TYPES.refresh)
      await guarded(() => families.revokeRefreshFamily(session.id, rt.now()))
    },

    async revokeSession(sessionId) {
      requireSigning()
      if (typeof sessionId !== 'string' || !/^[0-9A-Za-z]{22}$/.test(sessionId)) return false
      return guarded(() => families.revokeRefreshFamily(sessionId, rt.now()))
    },

    async login(input) {
      requireSigning()
      if (!plainObject(input))
        throw new KeywardError('validation_failed', {
          message: 'Invalid login input',
          errors: [{ field: '(input)', message: 'must be an object' }],
        })
      const { twoFactor, ip, ...rest } = input as LoginInput & Record<string, unknown>
      if (ip !== undefined && typeof ip !== 'string')
        throw new KeywardError('validation_failed', {
          message: 'Invalid login input',
          errors: [{ field: 'ip', message: 'must be a string' }],
        })
      let identity: TokenIdentity
      let pendingId: string | undefined
      if ('pendingToken' in rest) {
        if (Object.keys(rest).length > 1)
          throw new KeywardError('validation_failed', {
            message: 'Invalid login input',
            errors: [{ field: 'pendingToken', message: 'comes alone: the pending login already says who logs in' }],
          })
        // A pending login is good for nothing but completing its second factor.
        if (twoFactor === undefined)
          throw new KeywardError('validation_failed', {
            message: 'Invalid login input',
            errors: [{ field: 'twoFactor', message: 'is required with a pendingToken' }],
          })
        const pending = await readOwn(rest.pendingToken, TOKEN_TYPES.pending)
        identity = pending.identity
        pendingId = pending.jti
      } else {
        identity = checkIdentity(rest, ['subject', 'org', 'scopes', 'projects'])
      }
      if (twoFactor === undefined) return start(identity)
      if (
        !plainObject(twoFactor) ||
        typeof twoFactor.secret !== 'string' ||
        (twoFactor.code !== undefined && typeof twoFactor.code !== 'string')
      ) {
        throw new KeywardError('validation_failed', {
          message: 'Invalid login input',
          errors: [{ field: 'twoFactor', message: 'must be { secret: string, code?: string }' }],
        })
      }
      const now = rt.now()
      if (twoFactor.code === undefined || twoFactor.code === '') {
        const session: Session = { id: '', authTime: Math.floor(now / 1000) }
        const pendingToken = await signToken(
          config,
          keyring,
          { ...identity, mfa: false },
          {
            typ: TOKEN_TYPES.pending,
            audience: config.issuer,
            ttl: config.pendingTokenTtl,
            sessionId: session.id,
            authTime: session.authTime,
            jti: randomId(),
          },
          now,
        )
        throw new MfaRequiredError(pendingToken)
      }
      // Outside guarded(): a secret that is not base32 is the app's bug (TypeError), not an outage.
      const step = matchTotpCode(twoFactor.secret, twoFactor.code, now)
      const who = JSON.stringify([identity.org, identity.subject])
      await guarded(async () => {
        await settleSecondFactor(rt, twoFactorLimiter, {
          who,
          step,
          ip,
          maxFailures: config.maxCodeFailures,
          windowMs: config.pendingTokenTtl * 1000,
          now,
        })
        // One session per pending login: the same pending token with a later code is refused.
        if (
          pendingId !== undefined &&
          !(await claimOnce(twoFactorLimiter, `pending:${pendingId}`, config.pendingTokenTtl * 1000 + 60_000, now))
        )
          throw INVALID()
      })
      return start({ ...identity, mfa: true })
    },

    async pendingLogin(pendingToken) {
      const { identity } = await readOwn(pendingToken, TOKEN_TYPES.pending)
      return { subject: identity.subject, org: identity.org }
    },

    jwks: () => keyring.jwks(),
  }
}
