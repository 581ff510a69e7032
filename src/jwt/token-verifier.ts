import {
  createRemoteJWKSet,
  decodeJwt,
  errors,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
  type JWTVerifyResult,
} from 'jose'
import { LRUCache } from 'lru-cache'
import type { KeyHasher } from '../keys/hashing.js'
import type { Environment } from '../keys/format.js'
import type { Principal, Quota } from '../verify/principal.js'
import { formatPolicy } from '../http/rate-limit-headers.js'
import type { AuthContext, RateLimitRule } from '../types.js'
import type { JwtConfig, TrustedIssuer } from './jwt-options.js'
import { refuseEmbeddedKeys, type Keyring } from './keyring.js'
import { identityOf, tokenAuth, TOKEN_TYPES, type TokenIdentity } from './token-claims.js'

/**
 * A verified access token, as the pipeline uses it.
 *
 * @example
 * ```ts
 * const token = await verifier.verifyAccess(credential, Date.now())
 * if (token !== null) console.log(token.auth.subject)
 * ```
 */
export interface VerifiedToken extends Principal {
  readonly auth: AuthContext
  readonly quota: Quota
  /** `exp` in epoch ms: the cache never serves the token at or past it. */
  readonly expiresAtMs: number
}

/**
 * The jose options a verifier holds: exactly what {@link joseOptions} copies. A member added here
 * must be copied there too, and typing the literals with this (not JWTVerifyOptions) makes an
 * option outside it a compile error instead of a check silently dropped.
 */
type BaseOptions = Pick<JWTVerifyOptions, 'issuer' | 'audience' | 'algorithms' | 'requiredClaims' | 'clockTolerance' | 'typ'>

interface Verifier {
  getKey: JWTVerifyGetKey
  /** keyward's own keys only: the key itself for a header `getKey` would accept (see Keyring.keyForHeader). */
  keyForHeader?: (encoded: string) => CryptoKey | Uint8Array | undefined
  options: BaseOptions
  trusted: TrustedIssuer | undefined
  /** jose's options with each `typ` asked for, built once: see {@link joseOptions}. */
  byTyp: Map<string | undefined, JWTVerifyOptions>
}

/**
 * jose's options for one check, as one object literal of one shape. Not a spread of the base: on
 * V8 (Node 20), `{ ...base }` plus a member, in optimized code, gives each object a map of its
 * own, so every option jose reads missed its inline cache on every call (about a fifth of an
 * uncached verification, by callgrind). `typ` is the one asked for, else the base's own (a trusted
 * issuer's required `typ`), so no call site can drop the issuer's; with neither it is not checked.
 * `currentDate` left undefined defaults to the system clock, as if absent.
 */
function joseOptions(base: BaseOptions, typ: string | undefined, currentDate: Date | undefined): JWTVerifyOptions {
  return {
    issuer: base.issuer,
    audience: base.audience,
    algorithms: base.algorithms,
    requiredClaims: base.requiredClaims,
    clockTolerance: base.clockTolerance,
    typ: typ ?? base.typ,
    currentDate,
  }
}

// Failures of the issuer's key server, not of the token: the answer is a 503, never a pass and
// never a 401 that would make a client throw away a good token.
// (jose raises its generic code only for a key server's bad status or body.)
const OUTAGE_CODES = new Set(['ERR_JWKS_TIMEOUT', 'ERR_JWKS_INVALID', 'ERR_JOSE_GENERIC'])

/**
 * True when a credential has the shape of a compact JWS: three base64url segments, the first a
 * JSON object (`eyJ`). Cheap enough to run on every request that is not an API key.
 *
 * @example
 * ```ts
 * looksLikeJwt('eyJhbGciOiJIUzI1NiJ9.e30.sig') // true
 * ```
 */
export function looksLikeJwt(credential: string): boolean {
  return /^eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/.test(credential)
}

/**
 * Checks access tokens (keyward's own and trusted third parties'), with a bounded cache of verified
 * tokens keyed by a hash of the token, and keyward's refresh and pending tokens (never cached).
 *
 * @example
 * ```ts
 * const verifier = new TokenVerifier(config, keyring, { hash, expandScopes, environment, rules })
 * ```
 */
export class TokenVerifier {
  readonly #config: JwtConfig
  readonly #own: Verifier | undefined
  readonly #trusted = new Map<string, Verifier>()
  readonly #cache: LRUCache<string, { signedPart: string; verified: VerifiedToken }> | undefined
  readonly #hash: KeyHasher
  readonly #expandScopes: (granted: readonly string[]) => string[]
  readonly #environment: Environment
  readonly #rules: readonly RateLimitRule[]
  readonly #policy: string | null
  readonly #systemClock: boolean
  /** keyward's own verifier with keyward itself as the audience (refresh and pending tokens). */
  #toSelf: Verifier | undefined

  constructor(
    config: JwtConfig,
    keyring: Keyring,
    deps: {
      hash: KeyHasher
      expandScopes: (granted: readonly string[]) => string[]
      environment: Environment
      rules: readonly RateLimitRule[]
      now?: () => number
    },
  ) {
    this.#systemClock = deps.now === undefined || deps.now === Date.now
    this.#config = config
    this.#hash = deps.hash
    this.#expandScopes = memoizedExpander(deps.expandScopes)
    this.#environment = deps.environment
    this.#rules = deps.rules
    this.#policy = deps.rules.length > 0 ? formatPolicy(deps.rules) : null
    if (keyring.algorithms.length > 0) {
      this.#own = {
        getKey: keyring.getKey,
        keyForHeader: keyring.keyForHeader,
        options: {
          issuer: config.issuer,
          audience: config.audience,
          algorithms: keyring.algorithms,
          requiredClaims: ['exp', 'sub', 'jti'],
          clockTolerance: config.clockTolerance,
        },
        trusted: undefined,
        byTyp: new Map(),
      }
    }
    for (const entry of config.trusted) {
      // One remote key set per issuer for the life of the instance: jose's cache and its cooldown
      // (an unknown kid cannot make keyward hammer the issuer) only work if it is reused.
      const remote = createRemoteJWKSet(new URL(entry.jwksUrl), {
        ...(entry.timeoutMs === undefined ? {} : { timeoutDuration: entry.timeoutMs }),
        ...(entry.cooldownMs === undefined ? {} : { cooldownDuration: entry.cooldownMs }),
        ...(entry.cacheMaxAgeMs === undefined ? {} : { cacheMaxAge: entry.cacheMaxAgeMs }),
      })
      const getKey: JWTVerifyGetKey = (header, token) => {
        refuseEmbeddedKeys(header)
        return remote(header, token)
      }
      const options: BaseOptions = {
        issuer: entry.issuer,
        audience: [...entry.audience],
        algorithms: [...entry.algorithms!],
        requiredClaims: ['exp'],
        clockTolerance: config.clockTolerance,
      }
      if (entry.typ !== undefined) options.typ = entry.typ
      this.#trusted.set(entry.issuer, { getKey, options, trusted: entry, byTyp: new Map() })
    }
    this.#cache = config.cacheMax > 0 ? new LRUCache({ max: config.cacheMax }) : undefined
  }

  /**
   * The access token's auth and quota, or null when the token is not acceptable for any reason.
   * Rejects only when a trusted issuer's key server fails.
   */
  async verifyAccess(token: string, now: number): Promise<VerifiedToken | null> {
    return this.cachedAccess(token, now) ?? (await this.checkAccess(token, now))
  }

  /**
   * The access token as verified earlier and still cached, or undefined: synchronous, so the
   * pipeline neither awaits nor holds a lockout slot for it.
   *
   * @example
   * ```ts
   * const token = verifier.cachedAccess(credential, now) ?? (await verifier.checkAccess(credential, now))
   * ```
   */
  cachedAccess(token: string, now: number): VerifiedToken | undefined {
    if (this.#cache === undefined) return undefined
    // The cache is keyed by a hash of the signature alone (a few blocks of SHA-256 rather than the
    // whole token) and each entry keeps the signed part (header and claims, no secret in them) to
    // compare: a hit needs the very same token, yet the cache holds no usable token.
    const dot = token.lastIndexOf('.')
    const cacheKey = digestKey(this.#hash(token.slice(dot + 1)))
    const hit = this.#cache.get(cacheKey)
    if (hit === undefined || hit.signedPart !== token.slice(0, dot)) return undefined
    if (hit.verified.expiresAtMs > now) return hit.verified
    this.#cache.delete(cacheKey)
    return undefined
  }

  /**
   * Checks the access token's signature and claims, skipping the cache lookup, and caches the
   * answer. Rejects only when a trusted issuer's key server fails.
   *
   * @example
   * ```ts
   * const token = await verifier.checkAccess(credential, Date.now()) // null: not acceptable
   * ```
   */
  async checkAccess(token: string, now: number): Promise<VerifiedToken | null> {
    const verifier = this.#route(token)
    if (verifier === undefined) return null
    let payload: JWTPayload
    try {
      // jose's own promise awaited here, not through #check: one promise hop fewer per token.
      // keyward's own access type; a trusted issuer's required typ, if any, is in its own options.
      payload = (await this.#start(token, verifier, verifier.trusted === undefined ? TOKEN_TYPES.access : undefined, now)).payload
    } catch (error) {
      return refusal(error)
    }
    let identity: TokenIdentity | null
    try {
      identity = identityOf(payload, verifier.trusted?.claims)
    } catch {
      // A claim-mapping function that throws on this token's claims: the token is not acceptable.
      return null
    }
    if (identity === null || typeof payload.exp !== 'number') return null
    const auth = tokenAuth(identity, payload, this.#expandScopes, this.#environment, verifier.trusted === undefined)
    // Internal and read-only by contract (principal.ts): not frozen, unlike the auth handed to the
    // application, since freezing costs on every uncached verification.
    const verified: VerifiedToken = {
      auth,
      // One quota per person whatever token they present: issuer and subject, never the token.
      quota: { key: `jwt:${payload.iss!}:${identity.subject}`, rules: this.#rules, policy: this.#policy },
      expiresAtMs: payload.exp * 1000,
    }
    if (this.#cache !== undefined && verified.expiresAtMs > now) {
      const dot = token.lastIndexOf('.')
      this.#cache.set(digestKey(this.#hash(token.slice(dot + 1))), { signedPart: token.slice(0, dot), verified })
    }
    return verified
  }

  /** The claims of one of keyward's own refresh or pending tokens, or null. Never cached. */
  async verifyOwn(token: string, typ: string, now: number): Promise<JWTPayload | null> {
    if (this.#own === undefined || !looksLikeJwt(token)) return null
    // Refresh and pending tokens are addressed to keyward itself, not to the API audience.
    this.#toSelf ??= { ...this.#own, options: { ...this.#own.options, audience: this.#config.issuer }, byTyp: new Map() }
    return this.#check(token, this.#toSelf, typ, now)
  }

  /** Forgets every cached token. */
  clear(): void {
    this.#cache?.clear()
  }

  /** keyward's own verifier, or the trusted issuer the token names; undefined for anyone else. */
  #route(token: string): Verifier | undefined {
    if (this.#trusted.size === 0) return this.#own
    let iss: unknown
    try {
      // Unverified, only to pick the keys: the chosen verifier checks `iss` again, signed.
      iss = decodeJwt(token).iss
    } catch {
      return undefined
    }
    if (iss === this.#config.issuer) return this.#own
    return typeof iss === 'string' ? this.#trusted.get(iss) : undefined
  }

  async #check(token: string, verifier: Verifier, typ: string, now: number): Promise<JWTPayload | null> {
    try {
      return (await this.#start(token, verifier, typ, now)).payload
    } catch (error) {
      return refusal(error)
    }
  }

  /** jose's check of the signature and the registered claims, with the verifier's options and key. */
  #start(token: string, verifier: Verifier, typ: string | undefined, now: number): Promise<JWTVerifyResult> {
    // jose reads the system clock itself; a clock of the app's own (tests) is handed over.
    let options: JWTVerifyOptions | undefined
    if (!this.#systemClock) options = joseOptions(verifier.options, typ, new Date(now))
    else if ((options = verifier.byTyp.get(typ)) === undefined)
      verifier.byTyp.set(typ, (options = joseOptions(verifier.options, typ, undefined)))
    const key = verifier.keyForHeader?.(token.slice(0, token.indexOf('.'))) ?? verifier.getKey
    return jwtVerify(token, key, options)
  }
}

/** What a failed check means: null (not acceptable) for jose's refusals, thrown on for the rest. */
function refusal(error: unknown): null {
  if (error instanceof errors.JOSEError && !OUTAGE_CODES.has(error.code)) return null
  // A network failure fetching the key set, or a bug: the pipeline answers 503.
  throw error
}

// Distinct granted-scope lists remembered, expanded: a deployment's tokens carry a few roles' lists.
const SCOPE_MEMO_SIZE = 256

/**
 * The expander, answering a list it has expanded before with the same frozen array: tokens of one
 * role share one, saving the expansion and the freeze on every uncached verification. Filled only
 * from verified tokens, and bounded (cleared when full).
 */
function memoizedExpander(expand: (granted: readonly string[]) => string[]): (granted: readonly string[]) => string[] {
  const memo = new Map<string, string[]>()
  return (granted) => {
    // Every list comes through scopeList, which keeps valid scopes only, and a valid scope holds no
    // space (isValidScope): the joined list names the list exactly. Unfiltered lists must not come here.
    const key = granted.join(' ')
    let expanded = memo.get(key)
    if (expanded === undefined) {
      if (memo.size >= SCOPE_MEMO_SIZE) memo.clear()
      memo.set(key, (expanded = Object.freeze(expand(granted)) as string[]))
    }
    return expanded
  }
}

function digestKey(digest: Uint8Array): string {
  // 32 bytes as a 32-character string: a compact map key without hex's extra allocation.
  return String.fromCharCode.apply(null, digest as unknown as number[])
}
