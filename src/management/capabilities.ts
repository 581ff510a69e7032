import { checkCaller, grantableProjects } from '../keys/grant-ceiling.js'
import type { AuthContext } from '../types.js'
import type { KeyFormField, ManagementAction, ManagementCall, ManagementCapabilities, ManagementOptions } from './types.js'

/** Every field, in the order a form shows them. */
const ALL_FIELDS: readonly KeyFormField[] = [
  'name',
  'description',
  'projects',
  'scopes',
  'allowedOrigins',
  'allowedIps',
  'rateLimit',
  'expiresAt',
]

const ALL_ACTIONS: readonly ManagementAction[] = ['keys.create', 'keys.list', 'keys.read', 'keys.update', 'keys.rotate', 'keys.revoke']

const within = <T>(allowed: readonly T[], asked: unknown, what: string): T[] => {
  if (asked === undefined) return [...allowed]
  if (!Array.isArray(asked)) throw new TypeError(`keyward: the capabilities hook returned ${what} that is not an array`)
  return allowed.filter((item) => asked.includes(item))
}

/** An API-key caller's own address and origin lists, when it has any (see ManagementCapabilities.placeBounds). */
function placeBoundsOf(auth: AuthContext): ManagementCapabilities['placeBounds'] {
  if (auth.type !== 'api_key') return null
  const { allowedIps, allowedOrigins } = auth.key
  return allowedIps.length === 0 && allowedOrigins.length === 0
    ? null
    : { allowedIps: [...allowedIps], allowedOrigins: [...allowedOrigins] }
}

/**
 * Works out what `auth` may do and grant: the actions `authorize` approves (asked once per action,
 * with no input and no key), the caller's own scopes and projects, its expiry and place bounds
 * when it is an API key, then the app's `capabilities` hook, which can only narrow. A hook or
 * `authorize` that throws propagates (the handler answers 500). `grant.restrictions`: whether the
 * ceiling covers addresses and origins (createKeyward's `grantRestrictions`; default true, `'within'`).
 *
 * @example
 * ```ts
 * const caps = await computeCapabilities(auth, options)
 * ```
 */
export async function computeCapabilities(
  auth: AuthContext,
  options: Pick<ManagementOptions, 'authorize' | 'callerProjects' | 'capabilities' | 'csrfHeader'>,
  grant: { restrictions?: boolean } = {},
): Promise<ManagementCapabilities> {
  const { authorize, callerProjects, capabilities, csrfHeader } = options
  // An API-key caller without its key's record would show no expiry bound: a TypeError (500), as the ceiling refuses it.
  checkCaller(auth)
  const actions: ManagementAction[] = []
  for (const action of ALL_ACTIONS) {
    const call: ManagementCall = { action, auth }
    if (authorize === undefined || (await authorize(auth, action, call)) === true) actions.push(action)
  }
  const projects = grantableProjects(auth, callerProjects !== undefined && auth.type === 'jwt' ? await callerProjects(auth) : undefined)
  const expiry = auth.type === 'api_key' ? auth.key.expiresAt : null
  const computed: ManagementCapabilities = {
    actions,
    scopes: [...auth.scopes],
    projects: projects === '*' ? '*' : [...projects],
    environment: auth.environment,
    maxExpiresAt: expiry === null ? null : expiry.toISOString(),
    placeBounds: grant.restrictions === false ? null : placeBoundsOf(auth),
    fields: [...ALL_FIELDS],
    csrfHeader: csrfHeader ?? null,
  }
  const narrowed = capabilities === undefined ? undefined : await capabilities(auth, computed)
  if (narrowed === undefined) return computed
  if (narrowed === null || typeof narrowed !== 'object')
    throw new TypeError('keyward: the capabilities hook must return an object or undefined')
  return {
    ...computed,
    actions: within(computed.actions, narrowed.actions, 'actions'),
    scopes: within(computed.scopes, narrowed.scopes, 'scopes'),
    projects:
      narrowed.projects === undefined
        ? computed.projects
        : narrowed.projects === '*'
          ? computed.projects
          : within(computed.projects === '*' ? narrowed.projects : computed.projects, narrowed.projects, 'projects'),
    fields: within(computed.fields, narrowed.fields, 'fields'),
  }
}
