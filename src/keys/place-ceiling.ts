/**
 * The grant ceiling on where a key may be used (`allowedIps`, `allowedOrigins`): every request the
 * granted key would accept, the caller's key must accept too, under the restriction mode verify()
 * applies (src/http/restrictions.ts). The two lists are judged together, as verify() combines them.
 */
import type { FieldIssue } from '../errors.js'
import { ipInNetwork, parseCidr } from '../http/ip.js'
import type { RestrictionMode } from '../http/restrictions.js'

/** A key's two place lists. */
export interface PlaceLists {
  allowedIps: readonly string[]
  allowedOrigins: readonly string[]
}

/**
 * Every way `granted` may be used from a place `held` may not. In `'strict'` mode (verify()'s
 * default) an IP list binds whatever Origin a client claims unless the key also has an origin
 * list, and an origin list alone refuses a request without an Origin:
 * - held to addresses only: the key is held to addresses within them, and to no origin (an origin
 *   list would let in, from any address, whoever claims that Origin);
 * - held to origins only: the key is held to origins within them, and to no address (an IP list
 *   would let in requests without an Origin);
 * - held to both: origins within the caller's (required), addresses within the caller's (optional).
 * In `'origin-or-ip'` mode the lists are independent: each one the caller has, the key needs too,
 * within it.
 *
 * @example
 * ```ts
 * placeIssues({ allowedIps: [], allowedOrigins: ['x.example'] }, { allowedIps: ['10.0.0.0/8'], allowedOrigins: [] }, 'strict')
 * // [{ field: 'allowedIps', ... }, { field: 'allowedOrigins', ... }]
 * ```
 */
export function placeIssues(granted: PlaceLists, held: PlaceLists, mode: RestrictionMode): FieldIssue[] {
  const heldIps = held.allowedIps.length > 0
  const heldOrigins = held.allowedOrigins.length > 0
  if (!heldIps && !heldOrigins) return []
  const issues: FieldIssue[] = []
  const ips = (required: boolean) => listIssue('allowedIps', granted.allowedIps, held.allowedIps, networkWithin, required)
  const origins = (required: boolean) =>
    listIssue('allowedOrigins', granted.allowedOrigins, held.allowedOrigins, (origin, list) => list.includes(origin), required)
  if (mode === 'origin-or-ip') {
    if (heldIps) issues.push(...ips(true))
    if (heldOrigins) issues.push(...origins(true))
  } else if (!heldOrigins) {
    issues.push(...ips(true))
    if (granted.allowedOrigins.length > 0)
      issues.push({
        field: 'allowedOrigins',
        message: 'must be empty: the caller is held to addresses only, and an origin list would admit that Origin from any address',
      })
  } else if (!heldIps) {
    issues.push(...origins(true))
    if (granted.allowedIps.length > 0)
      issues.push({
        field: 'allowedIps',
        message: 'must be empty: the caller is held to origins only, and an IP list would admit requests without an Origin',
      })
  } else {
    issues.push(...ips(false), ...origins(true))
  }
  return issues.sort((a, b) => (a.field < b.field ? -1 : 1))
}

function listIssue(
  field: 'allowedIps' | 'allowedOrigins',
  granted: readonly string[],
  held: readonly string[],
  within: (entry: string, held: readonly string[]) => boolean,
  required: boolean,
): FieldIssue[] {
  const what = field === 'allowedIps' ? 'addresses' : 'origins'
  if (granted.length === 0)
    return required ? [{ field, message: `must be set: the caller is held to certain ${what}, and may grant only those` }] : []
  const outside = granted.filter((entry) => !within(entry, held))
  return outside.length === 0 ? [] : [{ field, message: `outside the ${what} the caller is held to: ${outside.join(', ')}` }]
}

/** True when every address of the network `text` lies in one of the networks `held`. */
function networkWithin(text: string, held: readonly string[]): boolean {
  const network = parseCidr(text)
  if (network === null) return false
  return held.some((entry) => {
    const outer = parseCidr(entry)
    return outer !== null && outer.version === network.version && network.prefixLength >= outer.prefixLength && ipInNetwork(network, outer)
  })
}
