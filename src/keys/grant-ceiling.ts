import { KeywardError, type FieldIssue } from '../errors.js'
import { callerOf, type ActionContext } from '../events.js'
import type { Environment } from './format.js'
import { validateKeyInput } from './input.js'
import type { Runtime } from '../runtime.js'
import type { AuthContext, KeyRecord } from '../types.js'
import { activeCredits } from '../limiters/credits.js'
import type { RestrictionMode } from '../http/restrictions.js'
import { placeIssues } from './place-ceiling.js'

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
  /** The key's IP allow-list (CIDRs); none given or empty: usable from any address. */
  allowedIps?: readonly string[]
  /** The key's allowed origins (hostnames); none given or empty: any origin. */
  allowedOrigins?: readonly string[]
}

/**
 * Options of {@link grantCeilingIssues} and {@link checkGrantCeiling}.
 *
 * @example
 * ```ts
 * const options: GrantCeilingOptions = { callerProjects: await projectsOfUser(auth.subject) }
 * ```
 */
export interface GrantCeilingOptions {
  /**
   * A JWT caller's projects as the app knows them, in place of the token's claim: a list, or
   * `'*'` for every project of the caller's org. Ignored for an API-key caller. Default: the
   * caller's `projects` (a JWT without a valid claim holds none).
   */
  callerProjects?: readonly string[] | '*' | undefined
  /**
   * Whether an API-key caller held to addresses or origins grants only keys held within them
   * (createKeyward's `grantRestrictions: 'within'`). Default true.
   */
  restrictions?: boolean
  /**
   * How verify() combines a key's two lists (createKeyward's `restrictionMode`): the ceiling judges
   * them the same way. Default `'strict'`.
   */
  restrictionMode?: RestrictionMode
}

const isStringList = (value: unknown): boolean => Array.isArray(value) && value.every((entry) => typeof entry === 'string')

/**
 * `caller`, checked to be an AuthContext the ceiling can judge, as `kw.verify()` returns it. An
 * `api_key` caller must carry its key's record (`key`: the expiry, addresses, origins and credits
 * that bound it): TypeScript forbids building one without, plain JavaScript does not, and without
 * it the caller would be judged unrestricted. Anything else is a TypeError, thrown before any
 * store call. A TypeError rather than a 403: the context is a bug in the app that built it, which
 * a 403 would pass off as a permission the caller lacks; through the management routes it is a
 * 500, and nothing is stored either way.
 *
 * @example
 * ```ts
 * checkCaller(result.auth) // as verify() returned it: fine
 * checkCaller({ type: 'api_key', keyId, org, scopes, projects, environment }) // TypeError: no `key`
 * ```
 */
export function checkCaller(caller: unknown): AuthContext {
  const fail = (what: string): never => {
    throw new TypeError(
      `keyward: the caller (context.auth) ${what}: pass the auth kw.verify() returned, or no auth to act as the app itself`,
    )
  }
  if (caller === null || typeof caller !== 'object') return fail('must be an AuthContext')
  const { type, key } = caller as { type?: unknown; key?: unknown }
  if (type === 'jwt') return caller as AuthContext
  if (type !== 'api_key') return fail(`has an unknown type ${JSON.stringify(type)}`)
  if (key === null || typeof key !== 'object') return fail("is an API key without its key's record (auth.key)")
  const { expiresAt, allowedIps, allowedOrigins, credits } = key as Record<string, unknown>
  if (!(expiresAt === null || (expiresAt instanceof Date && Number.isFinite(expiresAt.getTime()))))
    fail('has an auth.key.expiresAt that is neither a Date nor null')
  if (!isStringList(allowedIps) || !isStringList(allowedOrigins)) fail('has no auth.key.allowedIps or allowedOrigins lists')
  if (credits === undefined || (credits !== null && typeof credits !== 'object')) fail('has no auth.key.credits (null for none)')
  return caller as AuthContext
}

/** The verified caller of a change, checked (see {@link checkCaller}); undefined when the app acts on its own. */
function verifiedCaller(context: ActionContext | undefined): AuthContext | undefined {
  const caller = callerOf(context)
  return caller === undefined ? undefined : checkCaller(caller)
}

/**
 * The projects `caller` may grant: its own, as verify() enforces them, unless the app answers
 * for a JWT caller. Throws a TypeError for an answer that is neither `'*'` nor a list of
 * strings: a bug in the app, never read as "every project".
 *
 * @example
 * ```ts
 * grantableProjects(jwtAuth, '*') // '*'
 * grantableProjects(apiKeyAuth, '*') // apiKeyAuth.projects
 * ```
 */
export function grantableProjects(caller: AuthContext, callerProjects?: readonly string[] | '*'): readonly string[] | '*' {
  if (callerProjects === undefined) return caller.projects
  if (callerProjects !== '*' && !(Array.isArray(callerProjects) && callerProjects.every((p) => typeof p === 'string' && p.length > 0))) {
    throw new TypeError("keyward: callerProjects must be '*' or an array of project ids")
  }
  // An API key's projects are enforced by verify() on every request: no answer widens them.
  return caller.type === 'jwt' ? callerProjects : caller.projects
}

/**
 * Every way `target` exceeds what `caller` holds, as field issues, and the scopes it lacks. Rules:
 * effective scopes (hierarchy applied on both sides) within the caller's; projects within the
 * caller's (a JWT without a valid `projects` claim holds none, as in verify(), unless
 * `options.callerProjects` answers for it); an API-key caller that expires cannot grant a longer
 * life; an API-key caller held to addresses or origins grants only keys held within them (an
 * empty list is no restriction, so it cannot be granted); same org and environment. Rate limits
 * are not a grant: a key's quota bounds its own traffic, not what it may do.
 *
 * @example
 * ```ts
 * grantCeilingIssues(auth, target, expand).missingScopes // ['admin', 'write'] for a read-only caller
 * ```
 */
export function grantCeilingIssues(
  caller: AuthContext,
  target: GrantTarget,
  expand: (granted: readonly string[]) => string[],
  options: GrantCeilingOptions = {},
): { missingScopes: string[]; issues: FieldIssue[] } {
  checkCaller(caller)
  const issues: FieldIssue[] = []
  // Expanded again: an AuthContext built by hand may list only the granted scopes.
  const held = expand(caller.scopes)
  const missingScopes = expand(target.scopes).filter((scope) => !held.includes(scope))
  if (missingScopes.length > 0) issues.push({ field: 'scopes', message: `the caller does not hold: ${missingScopes.join(', ')}` })
  const projects = grantableProjects(caller, options.callerProjects)
  if (projects !== '*') {
    const outside = target.projects.filter((project) => !projects.includes(project))
    if (outside.length > 0) issues.push({ field: 'projects', message: `the caller does not hold: ${outside.join(', ')}` })
  }
  // Only a key's expiry bounds its holder: a JWT's exp is a transport detail, minutes long.
  const callerExpiry = caller.type === 'api_key' ? caller.key.expiresAt : null
  if (callerExpiry !== null) {
    const limit = callerExpiry.getTime()
    if (target.expiresAt === null || !(target.expiresAt <= limit)) {
      issues.push({
        field: 'expiresAt',
        message: "must be set and no later than the caller's own expiry, " + new Date(limit).toISOString(),
      })
    }
  }
  // A key held to an office network or a site's origin must not mint one usable from anywhere:
  // that would undo the restriction as a bound on where a leaked admin key can act from.
  const callerKey = caller.type === 'api_key' && options.restrictions !== false ? caller.key : undefined
  if (callerKey !== undefined) {
    const granted = { allowedIps: target.allowedIps ?? [], allowedOrigins: target.allowedOrigins ?? [] }
    issues.push(...placeIssues(granted, callerKey, options.restrictionMode ?? 'strict'))
  }
  if (target.orgId !== caller.org) issues.push({ field: 'orgId', message: "must be the caller's own organization" })
  if (target.environment !== caller.environment)
    issues.push({ field: 'environment', message: `must be the caller's own environment (${caller.environment})` })
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
export function checkGrantCeiling(
  caller: AuthContext,
  target: GrantTarget,
  expand: (granted: readonly string[]) => string[],
  options: GrantCeilingOptions = {},
): void {
  const { missingScopes, issues } = grantCeilingIssues(caller, target, expand, options)
  refuse(missingScopes, issues)
}

function refuse(missingScopes: readonly string[], issues: FieldIssue[]): void {
  if (issues.length === 0) return
  throw new KeywardError('insufficient_scope', {
    message: `Cannot grant more than the caller holds: ${issues.map((i) => i.field).join(', ')}`,
    errors: issues,
    ...(missingScopes.length === 0 ? {} : { scope: missingScopes.join(' ') }),
  })
}

/**
 * The ceiling on a create, before anything is written. Nothing to do when the context names no
 * verified caller. A caller that spends credits cannot create keys at all: a key without credits
 * would spend none, one with credits a balance of its own (a caller never grants more than it
 * holds). Input errors are thrown as the key manager would throw them.
 *
 * @example
 * ```ts
 * enforceCreateCeiling(rt, input, context)
 * ```
 */
export function enforceCreateCeiling(rt: Runtime, input: unknown, context: ActionContext | undefined): void {
  const caller = verifiedCaller(context)
  if (caller === undefined) return
  const fields = validateKeyInput(input, 'create', { now: rt.now(), prefixes: rt.prefixes, environment: rt.environment })
  // Checked with the rest of the ceiling so a refusal names every field at once.
  // Any new key, with credits or without: its balance would be one of its own, beside the
  // caller's, so a metered caller could multiply what it holds by creating keys.
  const creditIssues = creditCeilingIssues(caller, 'credits', 'create')
  const { missingScopes, issues } = grantCeilingIssues(
    caller,
    {
      orgId: fields.orgId!,
      environment: fields.environment!,
      scopes: fields.scopes!,
      projects: fields.projects!,
      expiresAt: fields.expiresAt ?? null,
      allowedIps: fields.allowedIps ?? [],
      allowedOrigins: fields.allowedOrigins ?? [],
    },
    rt.expandScopes,
    { callerProjects: context?.callerProjects, restrictions: rt.grantRestrictions, restrictionMode: rt.restrictionMode },
  )
  refuse(missingScopes, [...issues, ...creditIssues])
}

/** Whether the caller is a key that spends credits: metered itself, it may not meter others. */
function callerSpendsCredits(caller: AuthContext): boolean {
  return caller.type === 'api_key' && (caller.credits !== undefined || caller.key.credits !== null)
}

function creditCeilingIssues(caller: AuthContext, field: string, what: 'create' | 'unmetered' | 'change'): FieldIssue[] {
  if (!callerSpendsCredits(caller)) return []
  const message =
    what === 'create'
      ? 'the caller spends credits: it cannot create keys (each would hold a balance of its own); an operator key can'
      : what === 'unmetered'
        ? 'the caller spends credits: it cannot make a key that spends none'
        : "the caller spends credits: it cannot set, top up or remove any key's credits"
  return [{ field, message }]
}

/**
 * The credit ceiling on an update that changes credits (a set, top-up or removal: `'change'`) or
 * a rotate (`'rotate'`) or an update of fields that carry power (`'empower'`), after
 * {@link enforceRecordCeiling}: a caller that spends credits cannot change any key's credits, nor
 * rotate a key that spends none into a fresh unmetered key, nor widen or change what such a key may do.
 * 403 `insufficient_scope`. Nothing to do when the context names no verified caller or the
 * caller spends none.
 *
 * @example
 * ```ts
 * if (fields.credits !== undefined || fields.creditsAdd !== undefined) enforceCreditCeiling(context, current, 'change')
 * ```
 */
export function enforceCreditCeiling(context: ActionContext | undefined, record: KeyRecord, action: 'change' | 'rotate' | 'empower'): void {
  const caller = verifiedCaller(context)
  if (caller === undefined) return
  if (action === 'change') refuse([], creditCeilingIssues(caller, 'credits', 'change'))
  else if (activeCredits(record.credits) === null) refuse([], creditCeilingIssues(caller, 'credits', 'unmetered'))
}

/** The fields of a key record that carry power and an update may change. */
type GrantField = 'scopes' | 'projects' | 'expiresAt' | 'allowedIps' | 'allowedOrigins'

/**
 * The ceiling on an update or rotate of `record`, judged on the very record (and version) the
 * write will be conditional on: a concurrent change that makes the key stronger after this check
 * makes the write lose, so a weaker caller never lands a change on a stronger key. Both the key
 * as it is and as it would be must be within the caller's ceiling: a caller cannot touch any
 * field of a key that holds more than it does, even while narrowing it. `patch` is the validated
 * update (none for a rotation, which copies the key). Another org's key is `not_found`, as
 * through the routes.
 *
 * @example
 * ```ts
 * const current = await live(id)
 * enforceRecordCeiling(rt, context, current, fields)
 * await store.update(id, patch, { ifVersion: current.version })
 * ```
 */
export function enforceRecordCeiling(
  rt: Runtime,
  context: ActionContext | undefined,
  record: KeyRecord,
  patch?: Partial<Pick<KeyRecord, GrantField>>,
): void {
  const caller = verifiedCaller(context)
  if (caller === undefined) return
  if (record.orgId !== caller.org) throw new KeywardError('not_found')
  const options: GrantCeilingOptions = {
    callerProjects: context?.callerProjects,
    restrictions: rt.grantRestrictions,
    restrictionMode: rt.restrictionMode,
  }
  const target = (fields: Partial<Pick<KeyRecord, GrantField>>): GrantTarget => ({
    orgId: record.orgId,
    environment: record.environment,
    scopes: fields.scopes ?? record.scopes,
    projects: fields.projects ?? record.projects,
    expiresAt: fields.expiresAt !== undefined ? fields.expiresAt : record.expiresAt,
    allowedIps: fields.allowedIps ?? record.allowedIps,
    allowedOrigins: fields.allowedOrigins ?? record.allowedOrigins,
  })
  // The key as it is: narrowing a stronger key is still acting on it with power the caller lacks.
  const held = grantCeilingIssues(caller, target({}), rt.expandScopes, options)
  const after =
    patch === undefined ? { missingScopes: [], issues: [] } : grantCeilingIssues(caller, target(patch), rt.expandScopes, options)
  const named = new Set(after.issues.map((issue) => issue.field))
  const issues = [...after.issues, ...held.issues.filter((issue) => !named.has(issue.field)).map(asHeld)]
  refuse([...new Set([...after.missingScopes, ...held.missingScopes])], issues)
}

/** A ceiling issue of the key as it stands, worded so the caller sees it is not about its input. */
function asHeld(issue: FieldIssue): FieldIssue {
  const message = issue.message.startsWith('the caller does not hold: ')
    ? `the key holds what the caller does not: ${issue.message.slice('the caller does not hold: '.length)}`
    : `the key as it is exceeds the caller: ${issue.message}`
  return { field: issue.field, message }
}
