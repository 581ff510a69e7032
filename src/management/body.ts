import { readHeader } from '../http/credentials.js'
import { KeywardError } from '../errors.js'
import { httpProblem, keywardProblem } from './problems.js'
import type { BodySource, ManagementRequest, ManagementResponse } from './types.js'

/**
 * Default bound on a request body: a key's input is a few hundred bytes; 4 KiB of metadata and
 * 100 origins still fit with room to spare.
 *
 * @example
 * ```ts
 * managementRouter(kw, { maxBodyBytes: DEFAULT_MAX_BODY_BYTES * 2 })
 * ```
 */
export const DEFAULT_MAX_BODY_BYTES = 16_384

const TOO_LARGE = Symbol('too large')

/** Reads at most `limit` bytes; stops (without buffering the rest) as soon as there are more. */
async function collect(source: Exclude<BodySource, null | undefined>, limit: number): Promise<Uint8Array | typeof TOO_LARGE> {
  if (typeof source === 'string') {
    const bytes = new TextEncoder().encode(source)
    return bytes.length > limit ? TOO_LARGE : bytes
  }
  if (source instanceof Uint8Array) return source.length > limit ? TOO_LARGE : source
  const chunks: Uint8Array[] = []
  let total = 0
  const take = (chunk: Uint8Array | string): boolean => {
    const bytes = typeof chunk === 'string' ? new TextEncoder().encode(chunk) : chunk
    total += bytes.length
    if (total > limit) return false
    chunks.push(bytes)
    return true
  }
  if (typeof (source as ReadableStream<Uint8Array>).getReader === 'function') {
    const reader = (source as ReadableStream<Uint8Array>).getReader()
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      if (!take(value)) {
        await reader.cancel().catch(() => {})
        return TOO_LARGE
      }
    }
  } else {
    for await (const chunk of source as AsyncIterable<Uint8Array>) if (!take(chunk)) return TOO_LARGE
  }
  const out = new Uint8Array(total)
  let at = 0
  for (const chunk of chunks) {
    out.set(chunk, at)
    at += chunk.length
  }
  return out
}

function isJsonType(value: string | readonly string[] | undefined): boolean {
  if (typeof value !== 'string') return false
  const type = value.split(';', 1)[0]!.trim().toLowerCase()
  return type === 'application/json'
}

function invalidBody(message: string): ManagementResponse {
  return keywardProblem(new KeywardError('validation_failed', { message: 'Invalid request body', errors: [{ field: '(body)', message }] }))
}

/**
 * The request's JSON body: `{ value }` (undefined for an empty body), or the refusal to send:
 * 413 beyond `limit` (declared or actual), 415 for a body that is not `application/json`, 400 for
 * text that is not UTF-8 JSON.
 *
 * @example
 * ```ts
 * const body = await readJsonBody(request, 16_384)
 * if ('response' in body) return body.response
 * ```
 */
export async function readJsonBody(
  request: ManagementRequest,
  limit: number,
): Promise<{ value: unknown } | { response: ManagementResponse }> {
  const tooLarge = () => ({
    response: httpProblem('payload_too_large', 413, 'Content Too Large', `The request body must be at most ${limit} bytes`),
  })
  const contentType = readHeader(request.headers, 'content-type')
  const declared = Number(readHeader(request.headers, 'content-length'))
  if (Number.isFinite(declared) && declared > limit) return tooLarge()
  if (request.parsedBody !== undefined) {
    if (!isJsonType(contentType)) return { response: unsupported() }
    let json: string | undefined
    try {
      json = JSON.stringify(request.parsedBody)
    } catch {
      return { response: invalidBody('must be JSON') }
    }
    if (json !== undefined && new TextEncoder().encode(json).length > limit) return tooLarge()
    return { value: request.parsedBody }
  }
  const bytes = request.body === null || request.body === undefined ? new Uint8Array(0) : await collect(request.body, limit)
  if (bytes === TOO_LARGE) return tooLarge()
  if (bytes.length === 0) return { value: undefined }
  if (!isJsonType(contentType)) return { response: unsupported() }
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch {
    return { response: invalidBody('must be UTF-8 text') }
  }
  try {
    return { value: JSON.parse(text) as unknown }
  } catch {
    return { response: invalidBody('must be valid JSON') }
  }
}

function unsupported(): ManagementResponse {
  return httpProblem('unsupported_media_type', 415, 'Unsupported Media Type', 'The request body must be application/json', {
    'accept-patch': 'application/json',
  })
}
