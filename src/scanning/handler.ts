/**
 * The secret-scanning partner endpoint (GitHub's protocol): a code host POSTs the tokens it found
 * in public code, signed with its published ECDSA key; keyward checks the signature, refuses
 * replays, revokes (or flags) the keys that are ours and answers one label per token.
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js'
import { isKeywardError } from '../errors.js'
import type { Keyward } from '../keyward.js'
import { boolean, checkOptions, func, integer, oneOf, optionError, type OptionRules } from '../internal/options.js'
import { PublicKeySet } from './public-keys.js'
import { MemoryReplayGuard, type ReplayGuard } from './replay-guard.js'
import { readBoundedBody, scanningProblem } from './responses.js'
import { verifyEcdsaSignature } from './signature.js'

/**
 * GitHub's list of secret-scanning signing keys, the default of `keysUrl`.
 *
 * @example
 * ```ts
 * createSecretScanningHandler(kw, { keysUrl: GITHUB_SECRET_SCANNING_KEYS_URL })
 * ```
 */
export const GITHUB_SECRET_SCANNING_KEYS_URL = 'https://api.github.com/meta/public_keys/secret_scanning'

/**
 * Options of {@link createSecretScanningHandler}; every one has a default.
 *
 * @example
 * ```ts
 * const options: SecretScanningOptions = { revoke: false, keysHeaders: { authorization: `Bearer ${process.env.GITHUB_TOKEN}` } }
 * ```
 */
export interface SecretScanningOptions {
  /**
   * Where the host publishes `{ public_keys: [{ key_identifier, key }] }`. Default GitHub's. Must be
   * `https:` (plain `http:` only for 127.0.0.1, ::1 and localhost, or with `allowInsecureKeysUrl`).
   */
  keysUrl?: string
  /** Accept a plain `http:` `keysUrl` on any host. Default false: anyone on the path could swap the keys and forge deliveries. */
  allowInsecureKeysUrl?: boolean
  /** Extra headers for the key list fetch (a GitHub token lifts its rate limit). Default none. */
  keysHeaders?: Record<string, string>
  /** How long the key list is trusted before it is fetched again, ms. Default 3,600,000. */
  keysTtlMs?: number
  /** The least time between two fetches, also for a payload naming an unknown key id, ms. Default 60,000. */
  keysRefetchMs?: number
  /** How long one key list fetch may take before it fails (503 unless a cached key serves), ms. Default 5,000. */
  keysTimeoutMs?: number
  /** How long past `keysTtlMs` a cached list still serves while every refresh fails, ms. Default 86,400,000 (24 h); then 503. */
  keysMaxStaleMs?: number
  /** The fetch used for the key list. Default the global `fetch`. */
  fetch?: typeof fetch
  /** Revoke the keys found (default true); false only flags them with the `key.leaked` event. */
  revoke?: boolean
  /** Also revoke the keys rotated from a leaked one. Default false (see docs/leaked-keys.md). */
  successors?: boolean
  /** How long a delivery's body digest is remembered to refuse its replay, ms. Default 3,600,000. */
  replayWindowMs?: number
  /** Where digests are remembered. Default: this process's memory, 10,000 at most. */
  replayGuard?: ReplayGuard
  /** The largest body accepted, bytes. Default 1,048,576; larger is 413. */
  maxBodyBytes?: number
  /** The most tokens in one delivery. Default 1,000; more is 413. */
  maxTokens?: number
  /** How each answer names its token: its SHA-256 (`token_hash`, default: no secret travels back) or the token itself (`token_raw`). */
  answerWith?: 'token_hash' | 'token_raw'
  /** Told of key-list fetch failures and store failures (each also answered 503). Never receives a secret. */
  onError?: (error: unknown) => void
  /** The clock, epoch ms. Default `Date.now`. */
  now?: () => number
}

/**
 * A fetch-style request handler.
 *
 * @example
 * ```ts
 * const handle: SecretScanningHandler = createSecretScanningHandler(kw)
 * const response = await handle(request)
 * ```
 */
export type SecretScanningHandler = (request: Request) => Promise<Response>

const SCANNING_OPTIONS: OptionRules = {
  keysUrl: (value, path) => {
    if (typeof value !== 'string' || !URL.canParse(value) || !/^https?:$/.test(new URL(value).protocol))
      optionError(`${path} must be an http(s) URL`)
  },
  allowInsecureKeysUrl: boolean,
  keysHeaders: (value, path) => {
    if (value === null || typeof value !== 'object' || Object.values(value).some((v) => typeof v !== 'string'))
      optionError(`${path} must be an object of header strings`)
  },
  keysTtlMs: integer({ min: 1000 }),
  keysRefetchMs: integer({ min: 0 }),
  keysTimeoutMs: integer({ min: 1, max: 120_000 }),
  keysMaxStaleMs: integer({ min: 0 }),
  fetch: func('the fetch function'),
  revoke: boolean,
  successors: boolean,
  replayWindowMs: integer({ min: 1000 }),
  replayGuard: (value, path) => {
    const guard = value as ReplayGuard | null
    if (guard === null || typeof guard !== 'object' || typeof guard.claim !== 'function' || typeof guard.release !== 'function')
      optionError(`${path} must be { claim(digest, ttlMs), release(digest) }`)
  },
  maxBodyBytes: integer({ min: 1024, max: 16_777_216 }),
  maxTokens: integer({ min: 1, max: 100_000 }),
  answerWith: oneOf(['token_hash', 'token_raw']),
  onError: func('(error) => void'),
  now: func('returning epoch milliseconds'),
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost'])

/** The key list decides which deliveries are genuine: fetched over plain http, anyone on the path could forge them. */
function checkKeysUrlScheme(options: SecretScanningOptions): void {
  if (options.keysUrl === undefined || options.allowInsecureKeysUrl === true) return
  const url = new URL(options.keysUrl)
  if (url.protocol === 'http:' && !LOOPBACK_HOSTS.has(url.hostname))
    optionError(
      'secret scanning option keysUrl must be https: (http: only for 127.0.0.1, ::1, localhost, or with allowInsecureKeysUrl: true)',
    )
}

interface ReportedToken {
  token: string
  type: string
  url?: string
  source?: string
}

/** The delivery as the protocol defines it, or null: an array of `{ token, type, url?, source? }` strings. */
function parseDelivery(bytes: Uint8Array): ReportedToken[] | null {
  let value: unknown
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
  } catch {
    return null
  }
  if (!Array.isArray(value)) return null
  const tokens: ReportedToken[] = []
  for (const item of value as unknown[]) {
    if (item === null || typeof item !== 'object') return null
    const { token, type, url, source } = item as Record<string, unknown>
    if (typeof token !== 'string' || typeof type !== 'string') return null
    if ((url !== undefined && typeof url !== 'string') || (source !== undefined && typeof source !== 'string')) return null
    const entry: ReportedToken = { token, type }
    // The event carries them; an over-long one is dropped rather than refusing the report.
    if (typeof url === 'string' && url.length > 0 && url.length <= 2048) entry.url = url
    if (typeof source === 'string' && source.length > 0 && source.length <= 2048) entry.source = source
    tokens.push(entry)
  }
  return tokens
}

/**
 * The secret-scanning partner endpoint as `(request) => Promise<Response>`. Mount it at the URL
 * registered with the code host (docs/leaked-keys.md shows each framework). In order:
 *
 * - not POST: 405; a declared body over `maxBodyBytes`: 413;
 * - the `Github-Public-Key-Identifier` key from the host's list (cached; fetched again for an
 *   unknown id, at most once per `keysRefetchMs`; each fetch bounded by `keysTimeoutMs`): a list
 *   that cannot be fetched is 503, an id it does not hold is 401, both before the body is read;
 * - a body streamed past `maxBodyBytes`: 413; the `Github-Public-Key-Signature` (base64 DER
 *   ECDSA P-256 / SHA-256 of the raw body) not verifying is 401;
 * - a body that is not the protocol's JSON array is 400, more than `maxTokens` tokens 413;
 * - the same body within `replayWindowMs`: 409, nothing done again;
 * - each token, through `kw.keys.reportLeaked()`: ours is revoked (or flagged) and `key.leaked`
 *   emitted; a store failure is 503 and the delivery may be retried;
 * - 200 `[{ token_hash | token_raw, token_type, label: 'true_positive' | 'false_positive' }]`.
 *
 * @example
 * ```ts
 * import { createKeyward, createSecretScanningHandler } from 'keyward'
 *
 * const kw = createKeyward({ prefix: 'bsk', onEvent: (event) => audit(event) })
 * const scanning = createSecretScanningHandler(kw)
 * // Bun / Deno / workerd / Next.js route handler:
 * export const POST = (request: Request) => scanning(request)
 * ```
 */
export function createSecretScanningHandler(kw: Keyward, options: SecretScanningOptions = {}): SecretScanningHandler {
  if (kw === null || typeof kw !== 'object' || typeof kw.keys?.reportLeaked !== 'function')
    optionError('createSecretScanningHandler(kw, options) needs the instance createKeyward() returned')
  checkOptions(options, SCANNING_OPTIONS, { label: 'secret scanning option', notObject: 'secret scanning options must be an object' })
  checkKeysUrlScheme(options)
  const now = options.now ?? Date.now
  const onError = options.onError ?? (() => {})
  const maxBodyBytes = options.maxBodyBytes ?? 1_048_576
  const maxTokens = options.maxTokens ?? 1000
  const replayWindowMs = options.replayWindowMs ?? 3_600_000
  const guard = options.replayGuard ?? new MemoryReplayGuard(10_000, now)
  const answerWith = options.answerWith ?? 'token_hash'
  const report = { revoke: options.revoke ?? true, successors: options.successors ?? false }
  const keys = new PublicKeySet({
    url: options.keysUrl ?? GITHUB_SECRET_SCANNING_KEYS_URL,
    ttlMs: options.keysTtlMs ?? 3_600_000,
    minRefetchMs: options.keysRefetchMs ?? 60_000,
    timeoutMs: options.keysTimeoutMs ?? 5_000,
    maxStaleMs: options.keysMaxStaleMs ?? 86_400_000,
    fetch: options.fetch ?? ((input, init) => fetch(input, init)),
    headers: { ...options.keysHeaders },
    now,
    onError,
  })
  const actor = Object.freeze({ type: 'secret_scanning' })

  return async (request) => {
    if (request.method !== 'POST') return scanningProblem(405, 'method_not_allowed', 'Use POST', { allow: 'POST' })
    const keyId = request.headers.get('github-public-key-identifier')
    const signature = request.headers.get('github-public-key-signature')
    if (keyId === null || signature === null || keyId.length === 0 || keyId.length > 256)
      return scanningProblem(401, 'invalid_signature', 'The delivery must be signed (Github-Public-Key-Identifier and -Signature)')
    if (Number(request.headers.get('content-length')) > maxBodyBytes) {
      await request.body?.cancel().catch(() => {})
      return scanningProblem(413, 'payload_too_large', `The body must be at most ${maxBodyBytes} bytes`)
    }
    // The key first: a delivery that cannot be checked (no list, an id it lacks) is refused before
    // its body is read, so deliveries waiting on the list do not each hold up to maxBodyBytes.
    const key = await keys.get(keyId)
    if (key === 'unavailable' || key === 'unknown') await request.body?.cancel().catch(() => {})
    if (key === 'unavailable')
      return scanningProblem(503, 'keys_unavailable', 'The signing keys cannot be fetched; retry later', { 'retry-after': '60' })
    if (key === 'unknown') return scanningProblem(401, 'invalid_signature', 'The signature does not verify')
    const body = await readBoundedBody(request, maxBodyBytes)
    if (body === null) return scanningProblem(413, 'payload_too_large', `The body must be at most ${maxBodyBytes} bytes`)
    if (!(await verifyEcdsaSignature(key, signature, body)))
      return scanningProblem(401, 'invalid_signature', 'The signature does not verify')
    const tokens = parseDelivery(body)
    if (tokens === null) return scanningProblem(400, 'invalid_payload', 'The body must be a JSON array of { token, type, url, source }')
    if (tokens.length > maxTokens) return scanningProblem(413, 'payload_too_large', `At most ${maxTokens} tokens per delivery`)

    const digest = bytesToHex(sha256(body))
    let claimed: boolean
    try {
      claimed = await guard.claim(digest, replayWindowMs)
    } catch (error) {
      onError(error)
      return scanningProblem(503, 'store_unavailable', 'Replay protection is unavailable; retry later', { 'retry-after': '1' })
    }
    if (!claimed) return scanningProblem(409, 'replayed', 'This delivery was already received')

    const answers: { label: string; token_type: string; token_hash?: string; token_raw?: string }[] = []
    const labels = new Map<string, string>()
    try {
      for (const { token, type, url, source } of tokens) {
        let label = labels.get(token)
        if (label === undefined) {
          const found = await kw.keys.reportLeaked(
            token,
            { ...report, ...(url === undefined ? {} : { url }), ...(source === undefined ? {} : { source }) },
            { actor },
          )
          label = found.ours ? 'true_positive' : 'false_positive'
          labels.set(token, label)
        }
        answers.push({
          ...(answerWith === 'token_raw' ? { token_raw: token } : { token_hash: bytesToHex(sha256(utf8ToBytes(token))) }),
          token_type: type,
          label,
        })
      }
    } catch (error) {
      // Keys revoked so far stay revoked; the host's retry finds them already revoked.
      onError(isKeywardError(error) && error.cause !== undefined ? error.cause : error)
      await guard.release(digest).catch(onError)
      return scanningProblem(503, 'store_unavailable', 'The key store is unavailable; retry later', { 'retry-after': '1' })
    }
    return new Response(JSON.stringify(answers), {
      status: 200,
      headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
    })
  }
}
