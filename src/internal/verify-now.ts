import type { VerifyInput, VerifyResult } from '../verify/input.js'

/**
 * Where `kw.verify` carries its synchronous-when-possible twin, for keyward's own adapters: an
 * answer at once for a cached key with a synchronous limiter, so that a framework's `next()` runs
 * in the same turn as the request (a promise first costs Express about 4 µs a request).
 * Registered with `Symbol.for` so that the core and each adapter bundle see the same symbol. Not
 * a public API.
 */
const VERIFY_NOW = Symbol.for('keyward.verifyNow')

type Now = (input: VerifyInput) => VerifyResult | Promise<VerifyResult>

/** What the symbol holds: the twin, and the very function it is the twin of. */
interface Twin {
  owner: unknown
  now: Now
}

/**
 * Gives `verify` its twin, non-enumerable, naming `verify` itself as its owner.
 *
 * @example
 * ```ts
 * const verify = withVerifyNow((input) => verifyRequest(rt, input), (input) => verifyNow(rt, input))
 * ```
 */
export function withVerifyNow<F extends (input: VerifyInput) => Promise<VerifyResult>>(verify: F, now: Now): F {
  Object.defineProperty(verify, VERIFY_NOW, { value: { owner: verify, now } satisfies Twin })
  return verify
}

/**
 * The twin of `verify`, or undefined. Only when the twin names this very function: a spy
 * (`vi.spyOn`, which copies a function's properties), a Proxy around `verify` or a copy of its
 * properties onto a wrapper carries the twin of another function, and calling that twin would
 * skip the wrapper, its refusals included.
 *
 * @example
 * ```ts
 * const now = verifyNowOf(kw.verify)
 * const result = now === undefined ? await kw.verify(input) : now(input)
 * ```
 */
export function verifyNowOf(verify: unknown): Now | undefined {
  if (typeof verify !== 'function') return undefined
  const twin = (verify as { [VERIFY_NOW]?: Twin })[VERIFY_NOW]
  return twin !== undefined && twin.owner === verify ? twin.now : undefined
}
