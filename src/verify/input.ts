import type { HeaderSource } from '../http/credentials.js'
import type { KeywardError } from '../errors.js'
import type { AuthContext } from '../types.js'
import type { WaitUntil } from './usage-recorder.js'

/**
 * What `kw.verify()` looks at. Adapters build it from the framework's request.
 *
 * @example
 * ```ts
 * await kw.verify({ headers: request.headers, ip: '203.0.113.10', project: 'prod-site', scopes: ['write'] })
 * ```
 */
export interface VerifyInput {
  /** The request headers (Web `Headers` or a Node-style record with lowercase names). */
  headers: HeaderSource
  /** The client address as the adapter resolved it (socket address, or per trusted proxies). */
  ip?: string | undefined
  /** The project the request targets; checked against the key's projects when given. */
  project?: string | undefined
  /** Scopes the request needs; all must be granted. */
  scopes?: string | readonly string[] | undefined
  /**
   * The headers this call reads the credential from, lowercase, instead of createKeyward's
   * `credentialHeaders`: an API that takes an app key in one header and a user session in
   * `Authorization` verifies each from its own header, and neither sees the other as a second credential.
   */
  credentialHeaders?: readonly string[] | undefined
  /** Accept only this kind of credential: a JWT where a user session is expected, an API key where an app key is. Default: both. */
  accept?: 'api_key' | 'jwt' | undefined
  /**
   * The credits this request spends, for a key with credits (see docs/credits.md): a non-negative
   * safe integer, default 1; 0 spends nothing and reports the balance. Keys without credits ignore it.
   */
  cost?: number | undefined
  /** The request URL (path and query). Only looked at to refuse credentials sent in it. */
  url?: string | undefined
  /**
   * The platform's way to keep background work (the batched last-used write) alive after the
   * response: on Workers `(p) => ctx.waitUntil(p)`; the Hono adapter passes it. Without it a timer
   * is used, and a batch found overdue is written at the next request.
   */
  waitUntil?: WaitUntil | undefined
}

/**
 * The answer of `kw.verify()`: it never throws.
 *
 * @example
 * ```ts
 * const r: VerifyResult = await kw.verify({ headers })
 * if (!r.ok) return respond(r.error.status, r.error.toJSON())
 * ```
 */
export type VerifyResult = { ok: true; auth: AuthContext; headers: Readonly<Record<string, string>> } | { ok: false; error: KeywardError }
