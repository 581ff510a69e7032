/**
 * The response header with a key's credit balance after the request, on every answer to a key
 * with credits (success, `rate_limited`, `credits_exhausted`): lowercase, as `result.headers`
 * holds every name. The adapters copy it with the rest.
 *
 * @example
 * ```ts
 * const left = Number(response.headers.get(CREDITS_HEADER))
 * ```
 */
export const CREDITS_HEADER = 'credits-remaining'
