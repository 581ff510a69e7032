import { KeywardError, type FieldIssue } from '../errors.js'
import type { RevokeOptions } from '../keys/manager.js'

/**
 * Parses the query of `DELETE /keys/{id}`: `successors=true` also revokes every key rotated from
 * this one (compromise recovery); `false` or nothing revokes only the key. Anything else, an
 * unknown parameter or a repeated one, is a `validation_failed` naming it: a misspelt
 * `sucessors=true` must not quietly leave a thief's successor working.
 *
 * @example
 * ```ts
 * parseRevokeQuery('successors=true') // { successors: true }
 * parseRevokeQuery(undefined) // { successors: false }
 * ```
 */
export function parseRevokeQuery(query: string | URLSearchParams | undefined): RevokeOptions {
  const params = query instanceof URLSearchParams ? query : new URLSearchParams(query ?? '')
  const issues: FieldIssue[] = []
  for (const name of new Set(params.keys())) {
    if (name !== 'successors') issues.push({ field: name, message: 'unknown query parameter' })
  }
  const values = params.getAll('successors')
  if (values.length > 1) issues.push({ field: 'successors', message: 'must be given once' })
  else if (values.length === 1 && values[0] !== 'true' && values[0] !== 'false')
    issues.push({ field: 'successors', message: "must be 'true' or 'false'" })
  if (issues.length > 0)
    throw new KeywardError('validation_failed', { message: `Invalid query: ${issues.map((i) => i.field).join(', ')}`, errors: issues })
  return { successors: values[0] === 'true' }
}
