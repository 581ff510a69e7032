/**
 * The scanning endpoint's body reader and refusals: RFC 9457 problem documents like the rest of
 * keyward's, with codes of their own (they are about the delivery, not about a key).
 */

/**
 * Codes of the scanning endpoint's refusals.
 *
 * @example
 * ```ts
 * const code: ScanningProblemCode = 'replayed'
 * ```
 */
export type ScanningProblemCode =
  | 'method_not_allowed'
  | 'payload_too_large'
  | 'invalid_signature'
  | 'invalid_payload'
  | 'replayed'
  | 'keys_unavailable'
  | 'store_unavailable'

/**
 * A problem response, never cached.
 *
 * @example
 * ```ts
 * return scanningProblem(409, 'replayed', 'This delivery was already received')
 * ```
 */
export function scanningProblem(status: number, code: ScanningProblemCode, detail: string, headers: Record<string, string> = {}): Response {
  const body = JSON.stringify({ type: `https://keyward.dev/errors/${code}`, title: detail, status, detail, code })
  return new Response(body, { status, headers: { ...headers, 'content-type': 'application/problem+json', 'cache-control': 'no-store' } })
}

/**
 * The raw body of a request or a response, or null when it is (declared or actually) longer than `limit`: reading stops at
 * the first byte too many, so an endless body costs at most `limit` bytes of memory.
 *
 * @example
 * ```ts
 * const body = await readBoundedBody(request, 1_048_576)
 * ```
 */
export async function readBoundedBody(
  request: Pick<Request | Response, 'headers' | 'body'>,
  limit: number,
): Promise<Uint8Array<ArrayBuffer> | null> {
  const declared = Number(request.headers.get('content-length'))
  if (Number.isFinite(declared) && declared > limit) {
    await request.body?.cancel().catch(() => {})
    return null
  }
  if (request.body === null) return new Uint8Array(0)
  const reader = request.body.getReader()
  const chunks: Uint8Array[] = []
  let total = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    total += value.length
    if (total > limit) {
      await reader.cancel().catch(() => {})
      return null
    }
    chunks.push(value)
  }
  const out = new Uint8Array(total)
  let at = 0
  for (const chunk of chunks) {
    out.set(chunk, at)
    at += chunk.length
  }
  return out
}
