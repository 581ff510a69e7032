import { KeywardError, type FieldIssue } from '../errors.js'

/**
 * The parsed query of `GET /keys`.
 *
 * @example
 * ```ts
 * const q: ListQuery = { limit: 50, includeRevoked: false }
 * ```
 */
export interface ListQuery {
  limit: number
  after?: string
  includeRevoked: boolean
}

/**
 * Default and largest page size of `GET /keys`.
 *
 * @example
 * ```ts
 * fetch(`/admin/keys?limit=${LIST_PAGE.max}`)
 * ```
 */
export const LIST_PAGE = Object.freeze({ default: 50, max: 100 })

const KNOWN = new Set(['limit', 'after', 'includeRevoked'])

/**
 * Parses `limit`, `after` and `includeRevoked`, or throws one `validation_failed` naming every
 * bad parameter. An unknown parameter is refused too: a misspelt `lmit` must not silently list 50.
 *
 * @example
 * ```ts
 * parseListQuery('limit=10&after=4fTq9ZkA') // { limit: 10, after: '4fTq9ZkA', includeRevoked: false }
 * ```
 */
export function parseListQuery(query: string | URLSearchParams | undefined): ListQuery {
  const params = query instanceof URLSearchParams ? query : new URLSearchParams(query ?? '')
  const issues: FieldIssue[] = []
  const seen = new Set<string>()
  for (const name of params.keys()) {
    if (!KNOWN.has(name)) issues.push({ field: name, message: 'unknown query parameter' })
    else if (seen.has(name)) issues.push({ field: name, message: 'must be given once' })
    seen.add(name)
  }
  const out: ListQuery = { limit: LIST_PAGE.default, includeRevoked: false }
  const limit = params.get('limit')
  if (limit !== null) {
    const n = /^[0-9]{1,4}$/.test(limit) ? Number(limit) : NaN
    if (!(n >= 1 && n <= LIST_PAGE.max)) issues.push({ field: 'limit', message: `must be an integer from 1 to ${LIST_PAGE.max}` })
    else out.limit = n
  }
  const after = params.get('after')
  if (after !== null) {
    if (!/^[0-9A-Za-z]{8}$/.test(after)) issues.push({ field: 'after', message: 'must be a key id (the `next` of the previous page)' })
    else out.after = after
  }
  const revoked = params.get('includeRevoked')
  if (revoked !== null) {
    if (revoked !== 'true' && revoked !== 'false') issues.push({ field: 'includeRevoked', message: "must be 'true' or 'false'" })
    else out.includeRevoked = revoked === 'true'
  }
  if (issues.length > 0)
    throw new KeywardError('validation_failed', { message: `Invalid query: ${issues.map((i) => i.field).join(', ')}`, errors: issues })
  return out
}
