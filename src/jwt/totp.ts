import { hmac } from '@noble/hashes/hmac.js'
import { sha1 } from '@noble/hashes/legacy.js'
import { decodeBase32, encodeBase32 } from '../internal/base32.js'
import { fillRandom } from '../internal/random.js'

// RFC 6238 with the parameters every authenticator app supports: HMAC-SHA-1, 6 digits, 30 s.
const DIGITS = 6
const PERIOD_MS = 30_000
const MODULUS = 10 ** DIGITS
const CODE_PATTERN = /^[0-9]{6}$/
const SECRET_BYTES = 20
// RFC 4226 R6: the shared secret MUST be at least 128 bits. The upper bound only keeps a
// hostile "secret" from costing more than a real one.
const MIN_SECRET_BYTES = 16
const MAX_SECRET_BYTES = 128
const MAX_WINDOW = 10
const MAX_LABEL_LENGTH = 256

/**
 * A new TOTP secret: 20 random bytes (160 bits, RFC 4226's recommendation) from the Web Crypto
 * CSPRNG, as RFC 4648 base32 without padding. Store it with the user (it is a secret: keep it
 * encrypted at rest if you can) and show it once through {@link totpUri}.
 *
 * @example
 * ```ts
 * const secret = generateTotpSecret() // e.g. 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP'
 * ```
 */
export function generateTotpSecret(): string {
  return encodeBase32(fillRandom(new Uint8Array(SECRET_BYTES)))
}

/**
 * Who the authenticator app shows the code for: {@link totpUri}'s input.
 *
 * @example
 * ```ts
 * const input: TotpUriInput = { secret, account: 'ada@example.com', issuer: 'ByteStack' }
 * ```
 */
export interface TotpUriInput {
  /** A base32 secret, as {@link generateTotpSecret} makes. */
  secret: string
  /** The user's name or email, shown in the app. No `:`. */
  account: string
  /** Your product's name, shown in the app. No `:`. */
  issuer: string
}

/**
 * The `otpauth://totp/...` URI authenticator apps enrol from (Google Authenticator Key Uri
 * Format), usually shown as a QR code. Throws a TypeError on an invalid secret or on an empty,
 * over-long or `:`-containing issuer or account.
 *
 * @example
 * ```ts
 * totpUri({ secret, account: 'ada@example.com', issuer: 'ByteStack' })
 * // 'otpauth://totp/ByteStack:ada%40example.com?secret=...&issuer=ByteStack&algorithm=SHA1&digits=6&period=30'
 * ```
 */
export function totpUri(input: TotpUriInput): string {
  if (typeof input !== 'object' || input === null) throw new TypeError('keyward: totpUri needs { secret, account, issuer }')
  const { secret, account, issuer } = input
  const canonicalSecret = encodeBase32(decodeSecret(secret))
  const encodedIssuer = encodeLabelPart(issuer, 'issuer')
  const label = `${encodedIssuer}:${encodeLabelPart(account, 'account')}`
  return (
    `otpauth://totp/${label}?secret=${canonicalSecret}&issuer=${encodedIssuer}` +
    `&algorithm=SHA1&digits=${DIGITS}&period=${PERIOD_MS / 1000}`
  )
}

/**
 * The 6-digit code for the 30-second step containing `atMs` (epoch milliseconds). For tests,
 * examples and enrolment checks; verify codes with {@link matchTotpCode}.
 *
 * @example
 * ```ts
 * totpCode(secret, Date.now()) // e.g. '287082'
 * ```
 */
export function totpCode(secret: string, atMs: number): string {
  const keyed = keyedHmac(secret)
  return stepCode(keyed, stepAt(atMs))
}

/**
 * The time step (RFC 6238 counter) whose code equals `code`, looking `window` steps either
 * side of the one containing `nowMs`, or null. Every candidate is computed and compared in
 * full, in time that does not depend on how many digits were right. Anything but exactly 6 ASCII
 * digits returns null without a comparison. Throws a TypeError on an invalid secret, time or
 * window. Replay protection (refusing a step already used) is the caller's job: keep the
 * returned step and refuse steps at or below it.
 *
 * @example
 * ```ts
 * const step = matchTotpCode(user.totpSecret, body.code, Date.now())
 * if (step === null || step <= user.lastTotpStep) refuse()
 * ```
 */
export function matchTotpCode(secret: string, code: unknown, nowMs: number, window = 1): number | null {
  const keyed = keyedHmac(secret)
  const now = stepAt(nowMs)
  if (!Number.isSafeInteger(window) || window < 0 || window > MAX_WINDOW) {
    throw new TypeError(`keyward: window must be an integer from 0 to ${MAX_WINDOW}`)
  }
  if (typeof code !== 'string' || !CODE_PATTERN.test(code)) return null
  let matched: number | null = null
  for (let step = now - window; step <= now + window; step++) {
    if (step < 0) continue
    const candidate = stepCode(keyed, step)
    // Every candidate is computed and compared in full, with no early exit: how long this
    // takes says nothing about how many digits were right. Which step matched is not secret.
    let diff = 0
    for (let i = 0; i < DIGITS; i++) diff |= candidate.charCodeAt(i) ^ code.charCodeAt(i)
    if (diff === 0 && matched === null) matched = step
  }
  return matched
}

/**
 * The TOTP helpers under one name, as `totp.generateSecret()` and friends.
 *
 * @example
 * ```ts
 * const secret = totp.generateSecret()
 * const uri = totp.uri({ secret, account: 'ada@example.com', issuer: 'ByteStack' })
 * const step = totp.match(secret, '287082', Date.now())
 * ```
 */
export const totp = Object.freeze({
  generateSecret: generateTotpSecret,
  uri: totpUri,
  code: totpCode,
  match: matchTotpCode,
})

type KeyedHmac = ReturnType<typeof hmac.create>

// The secret is decoded and the HMAC keyed once per call; each step clones the keyed state.
function keyedHmac(secret: string): KeyedHmac {
  return hmac.create(sha1, decodeSecret(secret))
}

function decodeSecret(secret: unknown): Uint8Array {
  const bytes = typeof secret === 'string' ? decodeBase32(secret) : null
  if (bytes === null) throw new TypeError('keyward: TOTP secret must be RFC 4648 base32')
  if (bytes.length < MIN_SECRET_BYTES || bytes.length > MAX_SECRET_BYTES) {
    throw new TypeError(`keyward: TOTP secret must be ${MIN_SECRET_BYTES} to ${MAX_SECRET_BYTES} bytes`)
  }
  return bytes
}

function stepAt(ms: number): number {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0 || ms > Number.MAX_SAFE_INTEGER) {
    throw new TypeError('keyward: TOTP time must be a non-negative finite number of epoch milliseconds')
  }
  return Math.floor(ms / PERIOD_MS)
}

// RFC 4226 section 5.3: HMAC of the 8-byte big-endian counter, dynamic truncation, mod 10^6.
function stepCode(keyed: KeyedHmac, step: number): string {
  const counter = new Uint8Array(8)
  const view = new DataView(counter.buffer)
  view.setUint32(0, Math.floor(step / 2 ** 32))
  view.setUint32(4, step >>> 0)
  const mac = keyed.clone().update(counter).digest()
  const offset = mac[mac.length - 1]! & 0x0f
  const binary = ((mac[offset]! & 0x7f) << 24) | (mac[offset + 1]! << 16) | (mac[offset + 2]! << 8) | mac[offset + 3]!
  return String(binary % MODULUS).padStart(DIGITS, '0')
}

function encodeLabelPart(value: unknown, name: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_LABEL_LENGTH) {
    throw new TypeError(`keyward: ${name} must be a non-empty string of at most ${MAX_LABEL_LENGTH} characters`)
  }
  // The label's ':' separates issuer from account, so neither may hold one (even encoded:
  // apps decode before splitting). Control characters have no place in a name an app shows.
  if (value.includes(':') || hasControlCharacter(value)) {
    throw new TypeError(`keyward: ${name} must not contain ':' or control characters`)
  }
  try {
    return encodeURIComponent(value)
  } catch {
    throw new TypeError(`keyward: ${name} must be well-formed Unicode`)
  }
}

function hasControlCharacter(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i)
    if (code < 0x20 || code === 0x7f) return true
  }
  return false
}
