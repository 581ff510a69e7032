/**
 * Fills `bytes` from the Web Crypto CSPRNG. When the platform refuses (Cloudflare Workers forbid
 * random values while a Worker loads, at module scope), the error says so and what to do, instead
 * of the platform's bare "Disallowed operation".
 *
 * @example
 * ```ts
 * const secret = fillRandom(new Uint8Array(20))
 * ```
 */
export function fillRandom<T extends Uint8Array>(bytes: T): T {
  try {
    return crypto.getRandomValues(bytes)
  } catch (cause) {
    throw new TypeError(
      'keyward: no random values available here. Cloudflare Workers forbid them at module scope (while ' +
        'the Worker loads): create keys, tokens and TOTP secrets inside a request handler (fetch, ' +
        'scheduled, queue), not at the top level of the module',
      { cause },
    )
  }
}
