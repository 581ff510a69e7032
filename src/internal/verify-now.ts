import type { VerifyInput, VerifyResult } from '../verify/input.js'

/**
 * Where `kw.verify` carries its synchronous-when-possible twin, for keyward's own adapters: an
 * answer at once for a cached key with a synchronous limiter, so that a framework's `next()` runs
 * in the same turn as the request (a promise costs Express about 4 µs a request). Registered with
 * `Symbol.for` so that the core and each adapter bundle see the same symbol. On the function
 * itself, not on `kw`: a wrapper that replaces `verify` (telemetry, an audit hook) drops it, and
 * the adapters then take the promise as before. Not a public API.
 *
 * @example
 * ```ts
 * const now = (kw.verify as VerifyWithNow)[VERIFY_NOW]
 * const result = now === undefined ? await kw.verify(input) : now(input)
 * ```
 */
export const VERIFY_NOW: unique symbol = Symbol.for('keyward.verifyNow') as never

/** `kw.verify`, as createKeyward builds it without an `onEvent` hook. */
export type VerifyWithNow = ((input: VerifyInput) => Promise<VerifyResult>) & {
  [VERIFY_NOW]?: (input: VerifyInput) => VerifyResult | Promise<VerifyResult>
}
