import { KeywardError, type FieldIssue } from '../errors.js'
import { callerOf, type ActionContext } from '../events.js'
import type { Environment } from './format.js'
import { validateKeyInput } from './input.js'
import type { Runtime } from '../runtime.js'
import type { AuthContext, KeyRecord } from '../types.js'

/**
 * What a key would hold after a create, update or rotate: the fields that carry power.
 *
 * @example
 * ```ts
 * const target: GrantTarget = { orgId: 'org_1', environment: 'live', scopes: ['write'], projects: ['site-a'], expiresAt: null }
 * ```
 */
export interface GrantTarget {
  orgId: string
  environment: Environment
  scopes: readonly string[]
  projects: readonly string[]
  /** Epoch ms, or null for a key that never expires. */
  expiresAt: number | null
}

/**
 * Every way `target` exceeds what `caller` holds, as field issues, and the scopes it lacks. Rules:
 * effective scopes (hierarchy applied on both sides) within the caller's; projects within the
 * caller's when it lists any (a JWT listing none is org-wide: the app's policy decides projects);
 * an API-key caller that expires cannot grant a longer life; same org and environment.
 *
 * @example
 * ```ts
 * grantCeilingIssues(auth, target, expand).missingScopes // ['admin', 'write'] for a read-only caller
 * ```
 */
export function grantCeilingIssues(caller: AuthContext, target: GrantTarget, expand: (granted: readonly string[]) => string[]): { missingScopes: string[]; issues: FieldIssue[] } {
  const issues: FieldIssue[] = []
  // Expanded again: an AuthContext built by hand may list only the granted scopes.
  const held = expand(caller.scopes)
  const missingScopes = expand(target.scopes).filter((scope) => !held.includes(scope))
  if (missingScopes.length > 0) issues.push({ field: 'scopes', message: `the caller does not hold: ${missingScopes.join(', ')}` })
  if (caller.projects.length > 0) {
    const outside = target.projects.filter((project) => !caller.projects.includes(project))
    if (outside.length > 0) issues.push({ field: 'projects', message: `the caller does not hold: ${outside.join(', ')}` })
  }
  // Only a key's expiry bounds its holder: a JWT's exp is a transport detail, minutes long.
  const callerExpiry = caller.type === 'api_key' ? caller.key?.expiresAt : undefined
  if (callerExpiry !== undefined && callerExpiry !== null) {
    const limit = new Date(callerExpiry).getTime()
    if (target.expiresAt === null || !(target.expiresAt <= limit)) {
      issues.push({ field: 'expiresAt', message: `must be set and no later than the caller's own expiry, ${Number.isFinite(limit) ? new Date(limit).toISOString() : 'unknown'}` })
    }
  }
  if (target.orgId !== caller.org) issues.push({ field: 'orgId', message: "must be the caller's own organization" })
  if (target.environment !== caller.environment) issues.push({ field: 'environment', message: `must be the caller's own environment (${caller.environment})` })
  return { missingScopes, issues }
}

/**
 * Throws 403 `insufficient_scope` when `target` exceeds what `caller` holds, naming every field
 * (and the missing scopes in the `scope` member and the WWW-Authenticate challenge).
 *
 * @example
 * ```ts
 * checkGrantCeiling(result.auth, { orgId, environment: 'live', scopes: ['admin'], projects, expiresAt: null }, expand)
 * ```
 */
export function checkGrantCeiling(caller: AuthContext, target: GrantTarget, expand: (granted: readonly string[]) => string[]): void {
  const { missingScopes, issues } = grantCeilingIssues(caller, target, expand)
  if (issues.length === 0) return
  throw new KeywardError('insufficient_scope', {
    message: `Cannot grant more than the caller holds: ${issues.map((i) => i.field).join(', ')}`,
    errors: issues,
    ...(missingScopes.length === 0 ? {} : { scope: missingScopes.join(' ') }),
  })
}

/**
 * The ceiling on a create, before anything is written. Nothing to do when the context names no
 * verified caller. Input errors are thrown as the key manager would throw them.
 *
 * @example
 * ```ts
 * enforceCreateCeiling(rt, input, context)
 * ```
 */
export function enforceCreateCeiling(rt: Runtime, input: unknown, context: ActionContext | undefined): void {
  const caller = callerOf(context)
  if (caller === undefined) return
  const fields = validateKeyInput(input, 'create', { now: rt.now(), prefixes: rt.prefixes, environment: rt.environment })
  checkGrantCeiling(caller, { orgId: fields.orgId!, environment: fields.environment!, scopes: fields.scopes!, projects: fields.projects!, expiresAt: fields.expiresAt ?? null }, rt.expandScopes)
}

/**
 * The ceiling on an update or rotate of `record`, judged on the very record (and version) the
 * write will be conditional on: a concurrent change that makes the key stronger after this check
 * makes the write lose, so a weaker caller never lands a change on a stronger key. `patch` is
 * the validated update (none for a rotation). Another org's key is `not_found`, as through the routes.
 *
 * @example
 * ```ts
 * const current = await live(id)
 * enforceRecordCeiling(rt, context, current, fields)
 * await store.update(id, patch, { ifVersion: current.version })
 * ```
 */
export function enforceRecordCeiling(rt: Runtime, context: ActionContext | undefined, record: KeyRecord, patch?: Partial<Pick<KeyRecord, 'scopes' | 'projects' | 'expiresAt'>>): void {
  const caller = callerOf(context)
  if (caller === undefined) return
  if (record.orgId !== caller.org) throw new KeywardError('not_found')
  // An update is judged on the key it leaves behind: changing any field of a key stronger than
  // the caller (lifting its expiry, dropping its IP list) is acting with power it lacks.
  checkGrantCeiling(
    caller,
    {
      orgId: record.orgId,
      environment: record.environment,
      scopes: patch?.scopes ?? record.scopes,
      projects: patch?.projects ?? record.projects,
      expiresAt: patch?.expiresAt !== undefined ? patch.expiresAt : record.expiresAt,
    },
    rt.expandScopes,
  )
}
