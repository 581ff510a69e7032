import type { JWK, JWTPayload } from 'jose'
import {
  checkedElsewhere,
  checkOptions,
  integer,
  nested,
  optionError,
  orFalse,
  type OptionRule,
  type OptionRules,
} from '../internal/options.js'
import { isValidScope } from '../keys/scopes.js'

/** Asymmetric algorithms keyward signs with: Ed25519 and P-256. */
export type AsymmetricAlgorithm = 'EdDSA' | 'ES256'

/** Algorithms a third-party issuer's keys may use. HMAC is never accepted from a key set. */
export type RemoteAlgorithm = 'RS256' | 'RS384' | 'RS512' | 'PS256' | 'PS384' | 'PS512' | 'ES256' | 'ES384' | 'ES512' | 'EdDSA'

/**
 * A key keyward signs its tokens with: an HMAC secret (HS256, at least 32 bytes) or a private key
 * (EdDSA or ES256) as a JWK or a CryptoKey. `kid` names it in every token's header. The public key
 * is derived from a private JWK or an extractable CryptoKey; give `publicKey` for a non-extractable one.
 *
 * @example
 * ```ts
 * const hs: SigningKey = { alg: 'HS256', secret: process.env.JWT_SECRET! }
 * const ed: SigningKey = { alg: 'EdDSA', kid: '2026-11', privateKey: JSON.parse(process.env.JWT_PRIVATE_JWK!) }
 * ```
 */
export type SigningKey =
  | { alg: 'HS256'; secret: string | Uint8Array; kid?: string }
  | { alg: AsymmetricAlgorithm; privateKey: JWK | CryptoKey; kid: string; publicKey?: JWK | CryptoKey }

/**
 * A key that only verifies: an earlier signing key kept during a rotation, so tokens it signed
 * stay valid until they expire.
 *
 * @example
 * ```ts
 * const previous: VerificationKey = { alg: 'EdDSA', kid: '2026-10', publicKey: oldPublicJwk }
 * ```
 */
export type VerificationKey =
  { alg: 'HS256'; secret: string | Uint8Array; kid?: string } | { alg: AsymmetricAlgorithm; publicKey: JWK | CryptoKey; kid: string }

/**
 * Where `subject`, `org`, `scopes` and `projects` come from in a third-party token: a claim name
 * or a function of the verified claims. A token whose subject or org cannot be read is refused.
 *
 * @example
 * ```ts
 * const clerk: ClaimMapping = { org: 'org_id', scopes: (claims) => (claims.org_role === 'org:admin' ? ['admin'] : ['read']) }
 * ```
 */
export interface ClaimMapping {
  /** Default `'sub'`. */
  subject?: string | ((claims: JWTPayload) => unknown)
  /** Default `'org_id'`. */
  org?: string | ((claims: JWTPayload) => unknown)
  /** Default: `scope` (space-separated, RFC 8693) or else `scp` (a list or a space-separated string). */
  scopes?: string | ((claims: JWTPayload) => unknown)
  /** Default `'projects'` (a list); none means the token holds no project. */
  projects?: string | ((claims: JWTPayload) => unknown)
}

/**
 * A third-party issuer whose tokens `verify()` accepts (Auth0, Clerk, Keycloak...), checked
 * against the public keys its JWKS URL publishes.
 *
 * @example
 * ```ts
 * const auth0: TrustedIssuer = {
 *   issuer: 'https://tenant.eu.auth0.com/',
 *   jwksUrl: 'https://tenant.eu.auth0.com/.well-known/jwks.json',
 *   audience: 'https://api.example.com',
 * }
 * ```
 */
export interface TrustedIssuer {
  /** The exact `iss` value. */
  issuer: string
  /** The issuer's JWKS document (https, or http on a loopback address for tests). */
  jwksUrl: string | URL
  /** The `aud` value(s) meant for this API: a token for another API is refused. */
  audience: string | readonly string[]
  /** Accepted signature algorithms. Default `['RS256']`, what most identity providers sign with. */
  algorithms?: readonly RemoteAlgorithm[]
  /** Required `typ` header (e.g. `'at+jwt'` for RFC 9068 access tokens). Default: not checked. */
  typ?: string
  claims?: ClaimMapping
  /** Fetch timeout, ms. Default 5,000 (jose's). */
  timeoutMs?: number
  /** Least time between two fetches of the key set, ms (an unknown `kid` cannot make keyward refetch faster). Default 30,000 (jose's). */
  cooldownMs?: number
  /** How long a fetched key set is trusted, ms. Default 600,000 (jose's). */
  cacheMaxAgeMs?: number
}

/**
 * The `jwt` option of `createKeyward`: what keyward issues (access, refresh and pending-2FA tokens)
 * and which tokens `verify()` accepts.
 *
 * @example
 * ```ts
 * createKeyward({
 *   prefix: 'bsk',
 *   jwt: { issuer: 'https://api.bytestack.example', audience: 'bytestack-api', signingKey: { alg: 'HS256', secret } },
 * })
 * ```
 */
export interface JwtOptions {
  /** `iss` of the tokens keyward issues, and the only `iss` of its own tokens it accepts. */
  issuer: string
  /** `aud` of the access tokens keyward issues and accepts. */
  audience: string
  /** Signs new tokens (and verifies them). Without it keyward only verifies (`verificationKeys`, `jwks`). */
  signingKey?: SigningKey
  /** Earlier keys, still accepted until their tokens expire. */
  verificationKeys?: readonly VerificationKey[]
  /** Access token lifetime, seconds. Default 900 (15 minutes). */
  accessTokenTtl?: number
  /** Refresh token lifetime, seconds; each refresh starts a new one. Default 604,800 (7 days). */
  refreshTokenTtl?: number
  /** How long a login waiting for its second factor stays valid, seconds. Default 300. */
  pendingTokenTtl?: number
  /** The longest a session lives from its login, however often it is refreshed, seconds. Default 2,592,000 (30 days). */
  sessionMaxAge?: number
  /** Leeway for `exp` and `nbf` between clocks, seconds, at most 60. Default 5. */
  clockTolerance?: number
  /** Third-party issuers whose tokens are accepted too. */
  jwks?: TrustedIssuer | readonly TrustedIssuer[]
  /** Wrong second-factor codes before a pending login is dead. Default 5. */
  maxCodeFailures?: number
  /** Verified access tokens remembered (never past their `exp`); false disables. Default `{ max: 10_000 }`. */
  cache?: { max?: number } | false
}

/** The options after validation, with defaults filled in. Internal. */
export interface JwtConfig {
  issuer: string
  audience: string
  signingKey: SigningKey | undefined
  verificationKeys: readonly VerificationKey[]
  accessTokenTtl: number
  refreshTokenTtl: number
  pendingTokenTtl: number
  sessionMaxAge: number
  clockTolerance: number
  trusted: readonly TrustedIssuer[]
  maxCodeFailures: number
  cacheMax: number
}

// Names only: each value is checked below, where its rule needs the others (refreshTokenTtl > accessTokenTtl...).
const JWT_OPTIONS = rulesFor([
  'issuer',
  'audience',
  'signingKey',
  'verificationKeys',
  'accessTokenTtl',
  'refreshTokenTtl',
  'pendingTokenTtl',
  'sessionMaxAge',
  'clockTolerance',
  'jwks',
  'maxCodeFailures',
])
const JWT_CACHE = orFalse(
  nested({ max: integer({ min: 1, message: 'must be a positive integer' }) }, () => 'jwt.cache must be false or { max: positive integer }'),
)
const HMAC_KEY = rulesFor(['alg', 'secret', 'kid'])
const SIGNING_KEY = rulesFor(['alg', 'privateKey', 'kid', 'publicKey'])
const VERIFICATION_KEY = rulesFor(['alg', 'publicKey', 'kid'])
const TRUSTED_ISSUER = rulesFor([
  'issuer',
  'jwksUrl',
  'audience',
  'algorithms',
  'typ',
  'claims',
  'timeoutMs',
  'cooldownMs',
  'cacheMaxAgeMs',
])
const claimSource: OptionRule = (value, path) => {
  if (typeof value !== 'function' && (typeof value !== 'string' || value.length === 0))
    optionError(`${path} must be a claim name or a function`)
}
const CLAIMS: OptionRules = { subject: claimSource, org: claimSource, scopes: claimSource, projects: claimSource }

function rulesFor(names: readonly string[]): OptionRules {
  return Object.fromEntries(names.map((name) => [name, checkedElsewhere]))
}
const REMOTE_ALGORITHMS = new Set<string>(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'])
const KID = /^[\x21-\x7e]{1,128}$/

function seconds(value: unknown, fallback: number, name: string, min: number, max: number): number {
  if (value === undefined) return fallback
  if (!Number.isSafeInteger(value) || (value as number) < min || (value as number) > max)
    optionError(`jwt.${name} must be a whole number of seconds from ${min} to ${max}`)
  return value as number
}

function checkKey(key: SigningKey | VerificationKey, where: string, signing: boolean): void {
  checkOptions(key, (key as { alg?: unknown } | null)?.alg === 'HS256' ? HMAC_KEY : signing ? SIGNING_KEY : VERIFICATION_KEY, {
    path: `jwt.${where}`,
  })
  if (key.kid !== undefined && (typeof key.kid !== 'string' || !KID.test(key.kid)))
    optionError(`jwt.${where}.kid must be 1-128 printable ASCII characters`)
  if (key.alg === 'HS256') {
    const secret = key.secret
    const bytes = typeof secret === 'string' ? new TextEncoder().encode(secret).length : secret instanceof Uint8Array ? secret.length : -1
    // RFC 7518 §3.2: an HMAC key at least as long as the hash output.
    if (bytes < 32) optionError(`jwt.${where}.secret must be a string or bytes of at least 32 bytes`)
    return
  }
  if (key.alg !== 'EdDSA' && key.alg !== 'ES256') optionError(`jwt.${where}.alg must be 'HS256', 'EdDSA' or 'ES256'`)
  if (typeof key.kid !== 'string') optionError(`jwt.${where}.kid is required for ${key.alg} keys`)
  const material = signing ? (key as { privateKey?: unknown }).privateKey : (key as { publicKey?: unknown }).publicKey
  if (material === null || typeof material !== 'object')
    optionError(`jwt.${where}.${signing ? 'privateKey' : 'publicKey'} must be a JWK or a CryptoKey`)
  if (signing && 'kty' in material && !('d' in material))
    optionError(`jwt.${where}.privateKey is a public JWK: signing needs the private key`)
  // Tokens are verified with the public key, which a sealed private CryptoKey cannot give.
  if (signing && 'extractable' in material && material.extractable === false && (key as { publicKey?: unknown }).publicKey === undefined) {
    optionError(`jwt.${where}.publicKey is required with a non-extractable private CryptoKey`)
  }
  if (!signing && 'kty' in material && 'd' in material) optionError(`jwt.${where}.publicKey holds a private key: give the public JWK only`)
}

function checkIssuerUrl(value: unknown, where: string): URL {
  let url: URL
  try {
    url = new URL(value as string)
  } catch {
    optionError(`jwt.${where} must be a URL`)
  }
  const loopback = url.hostname === 'localhost' || url.hostname === '127.0.0.1' || url.hostname === '[::1]'
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback))
    optionError(`jwt.${where} must be https (http only on a loopback address)`)
  return url
}

function checkTrusted(entry: TrustedIssuer, i: number, own: string): TrustedIssuer {
  const where = `jwks[${i}]`
  checkOptions(entry, TRUSTED_ISSUER, { path: `jwt.${where}`, notObject: `jwt.${where} must be { issuer, jwksUrl, audience }` })
  if (typeof entry.issuer !== 'string' || entry.issuer.length === 0) optionError(`jwt.${where}.issuer must be a non-empty string`)
  if (entry.issuer === own)
    optionError(`jwt.${where}.issuer must differ from jwt.issuer (keyward's own tokens are checked with its own keys)`)
  checkIssuerUrl(entry.jwksUrl, `${where}.jwksUrl`)
  const audience = typeof entry.audience === 'string' ? [entry.audience] : entry.audience
  if (!Array.isArray(audience) || audience.length === 0 || !audience.every((a) => typeof a === 'string' && a.length > 0))
    optionError(`jwt.${where}.audience must be a non-empty string or list of strings`)
  const algorithms = entry.algorithms ?? ['RS256']
  if (!Array.isArray(algorithms) || algorithms.length === 0 || !algorithms.every((a) => REMOTE_ALGORITHMS.has(a))) {
    optionError(`jwt.${where}.algorithms must be a non-empty list of ${[...REMOTE_ALGORITHMS].join(', ')} (never HS* or none)`)
  }
  if (entry.typ !== undefined && (typeof entry.typ !== 'string' || entry.typ.length === 0))
    optionError(`jwt.${where}.typ must be a non-empty string`)
  for (const name of ['timeoutMs', 'cooldownMs', 'cacheMaxAgeMs'] as const) {
    const v = entry[name]
    if (v !== undefined && (!Number.isSafeInteger(v) || v < 0)) optionError(`jwt.${where}.${name} must be a non-negative integer`)
  }
  const claims = checkOptions(entry.claims ?? {}, CLAIMS, { path: `jwt.${where}.claims`, label: 'claim mapping' })
  return Object.freeze({
    ...entry,
    audience: Object.freeze([...audience]),
    algorithms: Object.freeze([...algorithms]),
    claims: Object.freeze({ ...claims }),
  })
}

/**
 * Validates the `jwt` option at start-up: a TypeError names the first bad setting.
 *
 * @example
 * ```ts
 * const config = resolveJwtOptions({ issuer: 'https://api.example', audience: 'api', signingKey: { alg: 'HS256', secret } })
 * ```
 */
export function resolveJwtOptions(options: JwtOptions): JwtConfig {
  checkOptions(
    options,
    { ...JWT_OPTIONS, cache: JWT_CACHE },
    { path: 'jwt', notObject: 'jwt must be an object { issuer, audience, signingKey?, jwks? }' },
  )
  if (typeof options.issuer !== 'string' || options.issuer.length === 0 || options.issuer.length > 512)
    optionError('jwt.issuer must be a non-empty string')
  if (typeof options.audience !== 'string' || options.audience.length === 0 || options.audience.length > 512)
    optionError('jwt.audience must be a non-empty string')
  if (options.signingKey !== undefined) checkKey(options.signingKey, 'signingKey', true)
  const verificationKeys = options.verificationKeys ?? []
  if (!Array.isArray(verificationKeys)) optionError('jwt.verificationKeys must be a list')
  verificationKeys.forEach((key, i) => checkKey(key, `verificationKeys[${i}]`, false))
  const kids = [options.signingKey, ...verificationKeys].filter((k) => k !== undefined).map((k) => k.kid ?? 'default')
  if (new Set(kids).size !== kids.length)
    optionError('jwt.signingKey and verificationKeys must have distinct kids (an HS256 key without a kid is "default")')
  const trustedList = options.jwks === undefined ? [] : Array.isArray(options.jwks) ? options.jwks : [options.jwks as TrustedIssuer]
  const trusted = trustedList.map((entry, i) => checkTrusted(entry, i, options.issuer))
  if (new Set(trusted.map((t) => t.issuer)).size !== trusted.length) optionError('jwt.jwks issuers must be distinct')
  const cache = options.cache ?? {}
  const accessTokenTtl = seconds(options.accessTokenTtl, 900, 'accessTokenTtl', 10, 86_400)
  const refreshTokenTtl = seconds(options.refreshTokenTtl, 604_800, 'refreshTokenTtl', 60, 31_536_000)
  if (refreshTokenTtl <= accessTokenTtl) optionError('jwt.refreshTokenTtl must be longer than accessTokenTtl')
  const sessionMaxAge = seconds(options.sessionMaxAge, Math.max(2_592_000, refreshTokenTtl), 'sessionMaxAge', 60, 315_360_000)
  if (sessionMaxAge < refreshTokenTtl) optionError('jwt.sessionMaxAge must be at least refreshTokenTtl')
  const maxCodeFailures = options.maxCodeFailures ?? 5
  if (!Number.isSafeInteger(maxCodeFailures) || maxCodeFailures < 1 || maxCodeFailures > 100)
    optionError('jwt.maxCodeFailures must be an integer from 1 to 100')
  return Object.freeze({
    issuer: options.issuer,
    audience: options.audience,
    signingKey: options.signingKey,
    verificationKeys: Object.freeze([...verificationKeys]),
    accessTokenTtl,
    refreshTokenTtl,
    pendingTokenTtl: seconds(options.pendingTokenTtl, 300, 'pendingTokenTtl', 30, 3600),
    sessionMaxAge,
    // RFC 8725 asks for tight validation; more than a minute of leeway hides a broken clock.
    clockTolerance: seconds(options.clockTolerance, 5, 'clockTolerance', 0, 60),
    trusted: Object.freeze(trusted),
    maxCodeFailures,
    cacheMax: cache === false ? 0 : (cache.max ?? 10_000),
  })
}

/**
 * The scopes of a claim: a space-separated string or a list, keeping only valid scope strings
 * (the same rule as for keys).
 *
 * @example
 * ```ts
 * scopeList('read write') // ['read', 'write']
 * ```
 */
export function scopeList(value: unknown): string[] {
  const items = typeof value === 'string' ? value.split(' ') : Array.isArray(value) ? value : []
  // A scope that could never be required (bad syntax) is dropped rather than trusted.
  return items.filter((s): s is string => isValidScope(s))
}
