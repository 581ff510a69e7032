import { decodeProtectedHeader, errors, exportJWK, importJWK, type JWK, type JWTHeaderParameters, type JWTVerifyGetKey } from 'jose'
import type { JwtConfig, SigningKey, VerificationKey } from './jwt-options.js'

type Material = CryptoKey | Uint8Array

// Headers remembered by keyForHeader: keyward's own tokens use one per key.
const HEADER_MEMO_SIZE = 32

interface Entry {
  alg: string
  kid: string
  /** The key jose verifies with (the public key), imported on first use. */
  load: () => Promise<Material>
  /** The verification key once imported: handed to jose as it is, without a promise per call. */
  loaded?: Material
  /** The key jose signs with (the private key or the secret). */
  sign: () => Promise<Material>
  /** The public JWK to publish, for asymmetric keys. */
  publish: (() => Promise<JWK>) | undefined
}

// Headers that would let a token name its own verification key (RFC 8725 §3.1 and §3.10):
// keyward only ever trusts keys it was configured with, so a token carrying one is refused.
const SELF_KEYED = ['jwk', 'jku', 'x5u', 'x5c'] as const

/**
 * Refuses a token whose header tries to bring or point at its own key.
 *
 * @example
 * ```ts
 * refuseEmbeddedKeys({ alg: 'RS256', jku: 'https://evil.example/jwks.json' }) // throws
 * ```
 */
export function refuseEmbeddedKeys(header: JWTHeaderParameters): void {
  for (const name of SELF_KEYED) {
    if (Object.hasOwn(header, name)) throw new errors.JWSInvalid(`the "${name}" header is not accepted`)
  }
}

function once<T>(load: () => Promise<T>): () => Promise<T> {
  let promise: Promise<T> | undefined
  return () => {
    // A failed import is not cached: the next call tries again rather than failing forever.
    promise ??= load().catch((error: unknown) => {
      promise = undefined
      throw error
    })
    return promise
  }
}

function secretBytes(secret: string | Uint8Array): Uint8Array {
  return typeof secret === 'string' ? new TextEncoder().encode(secret) : secret
}

function publicPart(jwk: JWK): JWK {
  // Only the public members: whatever else a private JWK holds (d, p, q...) never leaves.
  const { kty, crv, x, y, n, e } = jwk
  return Object.fromEntries(Object.entries({ kty, crv, x, y, n, e }).filter(([, v]) => v !== undefined)) as JWK
}

function isCryptoKey(material: JWK | CryptoKey): material is CryptoKey {
  return typeof CryptoKey !== 'undefined' && material instanceof CryptoKey
}

function entryOf(key: SigningKey | VerificationKey, signing: boolean): Entry {
  const kid = key.kid ?? 'default'
  if (key.alg === 'HS256') {
    const bytes = secretBytes(key.secret)
    // Imported once as a non-extractable CryptoKey: given raw bytes, jose would import them again
    // on every call, which costs more than the HMAC itself.
    const hmacKey = (usage: KeyUsage) =>
      once(() => crypto.subtle.importKey('raw', bytes as Uint8Array<ArrayBuffer>, { name: 'HMAC', hash: 'SHA-256' }, false, [usage]))
    return { alg: 'HS256', kid, load: hmacKey('verify'), sign: hmacKey('sign'), publish: undefined }
  }
  const alg = key.alg
  const material = signing ? (key as { privateKey: JWK | CryptoKey }).privateKey : (key as { publicKey: JWK | CryptoKey }).publicKey
  const given = signing ? (key as { publicKey?: JWK | CryptoKey }).publicKey : material
  // The public JWK: given, or derived from the private key (a JWK, or an extractable CryptoKey).
  const publicJwk = once(async (): Promise<JWK> => {
    if (given !== undefined && !isCryptoKey(given)) return publicPart(given)
    const source = given ?? material
    if (isCryptoKey(source) && !source.extractable)
      throw new TypeError(`keyward: jwt key ${kid}: give publicKey too, or an extractable private CryptoKey`)
    return publicPart(isCryptoKey(source) ? await exportJWK(source) : source)
  })
  return {
    alg,
    kid,
    // Verification always uses the public key: jose refuses a private CryptoKey there.
    load: once(async () => (given !== undefined && isCryptoKey(given) ? given : ((await importJWK(await publicJwk(), alg)) as Material))),
    sign: once(async () => (isCryptoKey(material) ? material : ((await importJWK(material, alg)) as Material))),
    publish: once(async () => ({ ...(await publicJwk()), kid, alg, use: 'sig' })),
  }
}

/**
 * keyward's own keys: the one it signs with and the earlier ones it still accepts, by `kid`.
 *
 * @example
 * ```ts
 * const keyring = new Keyring(config)
 * await jwtVerify(token, keyring.getKey, { algorithms: keyring.algorithms })
 * ```
 */
export class Keyring {
  readonly #byKid = new Map<string, Entry>()
  /** Protected headers seen, as sent, to the key they name: see {@link keyForHeader}. */
  readonly #byHeader = new Map<string, Material>()
  readonly #signing: Entry | undefined
  /** The algorithms of the configured keys: the allow-list for keyward's own tokens. */
  readonly algorithms: string[]

  constructor(config: JwtConfig) {
    this.#signing = config.signingKey === undefined ? undefined : entryOf(config.signingKey, true)
    if (this.#signing !== undefined) this.#byKid.set(this.#signing.kid, this.#signing)
    for (const key of config.verificationKeys) {
      const entry = entryOf(key, false)
      this.#byKid.set(entry.kid, entry)
    }
    this.algorithms = [...new Set([...this.#byKid.values()].map((e) => e.alg))]
  }

  /** True when keyward can issue tokens. */
  get canSign(): boolean {
    return this.#signing !== undefined
  }

  /** The signing key, its algorithm and kid. Throws when none is configured. */
  async signer(): Promise<{ key: Material; alg: string; kid: string }> {
    const entry = this.#signing
    if (entry === undefined) throw new TypeError('keyward: issuing tokens needs jwt.signingKey')
    return { key: await entry.sign(), alg: entry.alg, kid: entry.kid }
  }

  /**
   * jose's key resolver for keyward's own tokens: the key named by `kid` and only for its own
   * algorithm, so an HS256 token can never be checked against a public key used as a secret.
   */
  readonly getKey: JWTVerifyGetKey = (header) => {
    refuseEmbeddedKeys(header)
    const entry = typeof header.kid === 'string' ? this.#byKid.get(header.kid) : undefined
    if (entry === undefined || entry.alg !== header.alg) throw new errors.JWKSNoMatchingKey()
    return entry.loaded ?? entry.load().then((key) => (entry.loaded = key))
  }

  /**
   * The loaded key for a token whose protected header (`encoded`, the part before the first dot)
   * names one of these keys as {@link getKey} would accept it, or undefined: then hand jose
   * `getKey`, which loads the key or says why not. Handing jose the key itself spares it an await
   * and a copy of its result per verification. Memoized by the header as sent: keyward's own
   * tokens share a few headers, so this is one map lookup, not a parse. Bounded: a header jose
   * would accept but this has not seen (extra members, another order) only costs a parse.
   *
   * @example
   * ```ts
   * const key = keyring.keyForHeader(token.slice(0, token.indexOf('.'))) ?? keyring.getKey
   * await jwtVerify(token, key, options)
   * ```
   */
  readonly keyForHeader = (encoded: string): Material | undefined => {
    const known = this.#byHeader.get(encoded)
    if (known !== undefined) return known
    let entry: Entry | undefined
    try {
      const header = decodeProtectedHeader({ protected: encoded, payload: '', signature: '' }) as JWTHeaderParameters
      refuseEmbeddedKeys(header)
      entry = typeof header.kid === 'string' ? this.#byKid.get(header.kid) : undefined
      if (entry === undefined || entry.alg !== header.alg) return undefined
    } catch {
      return undefined
    }
    if (entry.loaded === undefined) return undefined
    if (this.#byHeader.size >= HEADER_MEMO_SIZE) this.#byHeader.clear()
    this.#byHeader.set(encoded, entry.loaded)
    return entry.loaded
  }

  /** The public keys, as a JWKS document for other services. HMAC secrets are never published. */
  async jwks(): Promise<{ keys: JWK[] }> {
    const keys: JWK[] = []
    for (const entry of this.#byKid.values()) if (entry.publish !== undefined) keys.push(await entry.publish())
    return { keys }
  }
}
