import { KeywardError, isKeywardError } from '../errors.js'
import { actorOf, type ActionContext } from '../events.js'
import type { Keyward } from '../keyward.js'
import { boolean, checkOptions, func, integer, optionError, type OptionRules } from '../internal/options.js'
import { grantSettingsOf } from '../internal/grant-settings.js'
import { readHeader } from '../http/credentials.js'
import { grantableProjects } from '../keys/grant-ceiling.js'
import { isValidScope } from '../keys/scopes.js'
import type { AuthContext, KeyInfo } from '../types.js'
import { DEFAULT_MAX_BODY_BYTES, readJsonBody } from './body.js'
import { parseListQuery } from './list-query.js'
import { applyWritePolicy } from './policy.js'
import { parseRevokeQuery } from './revoke-query.js'
import { httpProblem, jsonResponse, keywardProblem } from './problems.js'
import { CAPABILITIES_PATH, MANAGEMENT_ROUTES, matchPath, UI_SCRIPT_PATH, type ManagementRoute } from './routes.js'
import { computeCapabilities } from './capabilities.js'
import { serveUiScript } from './ui-asset.js'
import type { ManagementCall, ManagementOptions, ManagementRequest, ManagementResponse, ManagementWrite } from './types.js'

const MAX_BODY_LIMIT = 1_048_576
const MANAGEMENT_OPTIONS: OptionRules = {
  scope: (value, path) => {
    if (!isValidScope(value as string)) optionError(`${path} must be a scope string`)
  },
  authorize: func('(auth, action, call) => boolean'),
  policy: func('({ action, auth, input, current }) => input | undefined'),
  callerProjects: func("(auth) => project ids or '*'"),
  maxBodyBytes: integer({ min: 256, max: MAX_BODY_LIMIT }),
  onError: func('(error) => void'),
  capabilities: func('(auth, computed) => narrowed capabilities | undefined'),
  csrfHeader: (value, path) => {
    if (typeof value !== 'string' || !/^[a-z0-9-]{1,64}$/.test(value))
      optionError(`${path} must be a lowercase header name such as 'x-keyward-csrf'`)
    if (['authorization', 'cookie', 'content-type', 'origin', 'x-api-key'].includes(value))
      optionError(`${path} must be a custom header, not ${value}`)
  },
  ui: boolean,
  credits: boolean,
  cost: integer({ min: 0 }),
}

/**
 * The management API over any framework: one function from a neutral request to a response.
 * `managementRouter()` in each adapter is a thin translation around it.
 *
 * @example
 * ```ts
 * const handle = createManagementHandler(kw, { scope: 'admin' })
 * const { status, headers, body } = await handle({ method: 'GET', path: '/keys', headers: request.headers, ip })
 * ```
 */
export type ManagementHandler = (request: ManagementRequest) => Promise<ManagementResponse>

function checkManagementOptions(
  kw: Keyward,
  options: ManagementOptions,
  extra: readonly string[],
): Required<Pick<ManagementOptions, 'scope' | 'maxBodyBytes'>> {
  if (kw === null || typeof kw !== 'object' || typeof kw.verify !== 'function')
    optionError('managementRouter(kw, options) needs the instance createKeyward() returned')
  checkOptions(options, MANAGEMENT_OPTIONS, { label: 'management option', known: extra, notObject: 'management options must be an object' })
  const { scope = 'admin', maxBodyBytes = DEFAULT_MAX_BODY_BYTES } = options
  return { scope, maxBodyBytes }
}

const hasValue = (value: string | readonly string[] | undefined): boolean =>
  typeof value === 'string' ? value.trim() !== '' : Array.isArray(value) && value.some((v) => v.trim() !== '')

const plain = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value)

function invalid(field: string, message: string): KeywardError {
  return new KeywardError('validation_failed', { message: `Invalid request body: ${field}`, errors: [{ field, message }] })
}

/**
 * Builds the management handler. Options are checked now (a typo is a TypeError at start-up);
 * `extraOptions` are the adapter's own option names, let through.
 *
 * Every route needs a credential `kw.verify()` accepts with `scope` (default `admin`), or one
 * `authorize` approves, and sees only the caller's org: another org's key id and an id that does
 * not exist are the same 404. Writes go through the `policy`, then the grant ceiling: no key
 * holds more than its caller (docs/delegation.md). Secrets appear only in the answers of create
 * and rotate.
 *
 * @example
 * ```ts
 * const handle = createManagementHandler(kw, {
 *   authorize: (auth, action) => auth.scopes.includes('admin') || action === 'keys.list',
 *   policy: ({ action, input }) => (action === 'keys.create' ? { scopes: ['read'], ...input } : undefined),
 * })
 * ```
 */
export function createManagementHandler(
  kw: Keyward,
  options: ManagementOptions = {},
  extraOptions: readonly string[] = [],
): ManagementHandler {
  const { scope, maxBodyBytes } = checkManagementOptions(kw, options, extraOptions)
  const { authorize, policy, callerProjects, onError, csrfHeader, ui = true, credits: creditsWritable = false, cost = 0 } = options
  // How kw's grant ceiling judges a caller's addresses and origins, for GET /capabilities.
  const grant = grantSettingsOf(kw)

  async function run(
    route: ManagementRoute,
    id: string | undefined,
    request: ManagementRequest,
    auth: AuthContext,
  ): Promise<ManagementResponse> {
    // `auth` holds every write to the caller's own grant (the ceiling in kw.keys), after the policy.
    const context: ActionContext = {
      auth,
      actor: actorOf(auth),
      ...(request.ip === undefined ? {} : { ip: request.ip }),
      ...(request.waitUntil === undefined ? {} : { waitUntil: request.waitUntil }),
    }
    // Another org's key and a key that does not exist answer alike: ids cannot be probed across orgs.
    let current: KeyInfo | undefined
    if (id !== undefined) {
      // The live credit balance only where it is shown: a limiter outage must not stop a revocation.
      const found = await kw.keys.get(id, route.action === 'keys.read' ? undefined : { credits: 'configured' })
      if (found !== null && found.orgId === auth.org) current = found
    }
    let input: Record<string, unknown> | undefined
    if (route.body) {
      const read = await readJsonBody(request, maxBodyBytes)
      if ('response' in read) return read.response
      const body = read.value
      if (body === undefined && route.action !== 'keys.rotate') throw invalid('(body)', 'is required: a JSON object')
      if (body !== undefined && !plain(body)) throw invalid('(body)', 'must be a JSON object')
      input = (body ?? {}) as Record<string, unknown>
    }
    if (authorize !== undefined) {
      const call: ManagementCall = {
        action: route.action,
        auth,
        ...(input === undefined ? {} : { input }),
        ...(current === undefined ? {} : { current }),
      }
      // Before the 404: a caller refused here learns nothing about which ids exist.
      if ((await authorize(auth, route.action, call)) !== true)
        throw new KeywardError('insufficient_scope', { message: 'Not allowed to manage keys' })
    }
    if (id !== undefined && current === undefined) throw new KeywardError('not_found')
    // Checked on what the caller sent, before the write policy: the app's policy may still add credits.
    if (input !== undefined && !creditsWritable && Object.hasOwn(input, 'credits')) {
      throw new KeywardError('insufficient_scope', {
        message: 'Credits cannot be changed through these routes',
        errors: [{ field: 'credits', message: 'is set by the application (the management option credits is off)' }],
      })
    }
    if (input !== undefined) {
      const write = { action: route.action, auth, input, ...(current === undefined ? {} : { current }) } as ManagementWrite
      input = await applyWritePolicy(policy, write)
      // Asked only now, for a write that got this far; checked here so a bad answer is a 500 before any store call.
      if (callerProjects !== undefined && auth.type === 'jwt') context.callerProjects = grantableProjects(auth, await callerProjects(auth))
    }
    switch (route.action) {
      case 'keys.list': {
        const query = parseListQuery(request.query)
        // One more than the page: whether there is a next page, without a count query.
        const rows = await kw.keys.list({
          orgId: auth.org,
          limit: query.limit + 1,
          includeRevoked: query.includeRevoked,
          ...(query.after === undefined ? {} : { after: query.after }),
        })
        const data = rows.slice(0, query.limit)
        return jsonResponse(200, { data, next: rows.length > query.limit ? data[data.length - 1]!.id : null })
      }
      case 'keys.create': {
        if (Object.hasOwn(input!, 'orgId') && input!.orgId !== auth.org)
          throw invalid('orgId', "must be omitted or the caller's own organization")
        return jsonResponse(201, await kw.keys.create({ ...input!, orgId: auth.org } as never, context))
      }
      case 'keys.read':
        return jsonResponse(200, current)
      case 'keys.update':
        return jsonResponse(200, await kw.keys.update(id!, input as never, context))
      case 'keys.revoke':
        return jsonResponse(200, await kw.keys.revoke(id!, parseRevokeQuery(request.query), context))
      case 'keys.rotate': {
        const unknown = Object.keys(input!).filter((k) => k !== 'gracePeriodMs')
        if (unknown.length > 0) throw invalid(unknown[0]!, 'unknown field')
        return jsonResponse(200, await kw.keys.rotate(id!, input as { gracePeriodMs?: number }, context))
      }
    }
  }

  async function answerCapabilities(auth: AuthContext): Promise<ManagementResponse> {
    const answer = await computeCapabilities(auth, options, grant)
    // A caller that may do nothing here is refused like any other route would refuse it.
    if (answer.actions.length === 0) throw new KeywardError('insufficient_scope', { message: 'Not allowed to manage keys' })
    return jsonResponse(200, answer)
  }

  return async (request) => {
    if (request.path === UI_SCRIPT_PATH) {
      return ui ? serveUiScript(request) : httpProblem('route_not_found', 404, 'Not Found', 'No such management route')
    }
    const capabilities = request.path === CAPABILITIES_PATH
    const match = capabilities ? null : matchPath(request.path)
    if (match === null && !capabilities) return httpProblem('route_not_found', 404, 'Not Found', 'No such management route')
    const routes = match === null ? [] : MANAGEMENT_ROUTES.filter((r) => r.pattern === match.pattern)
    const allow = capabilities ? 'GET' : routes.map((r) => r.method).join(', ')
    const method = request.method.toUpperCase()
    if (method === 'OPTIONS') return { status: 204, headers: { allow, 'cache-control': 'no-store' }, body: '' }
    const route = routes.find((r) => r.method === method)
    if (route === undefined && !(capabilities && method === 'GET'))
      return httpProblem('method_not_allowed', 405, 'Method Not Allowed', `Use ${allow}`, { allow })
    // Before the credential is read: a forged cross-site request is refused without touching the store or lockout.
    if (csrfHeader !== undefined && !hasValue(readHeader(request.headers, csrfHeader)))
      return httpProblem('csrf_header_missing', 403, 'Forbidden', `The ${csrfHeader} request header is required`)
    try {
      const verified = await kw.verify({
        headers: request.headers,
        ip: request.ip,
        url: request.url,
        scopes: authorize === undefined ? scope : undefined,
        waitUntil: request.waitUntil,
        cost,
      })
      if (!verified.ok) return keywardProblem(verified.error)
      try {
        const response = route === undefined ? await answerCapabilities(verified.auth) : await run(route, match!.id, request, verified.auth)
        return { ...response, headers: { ...verified.headers, ...response.headers } }
      } catch (error) {
        if (isKeywardError(error)) return keywardProblem(error, verified.headers)
        throw error
      }
    } catch (error) {
      if (isKeywardError(error)) return keywardProblem(error)
      // A bug, or an authorize() or policy that threw: refused, never half-done, and the cause stays inside.
      onError?.(error)
      return httpProblem('internal_error', 500, 'Internal Server Error', 'The request could not be completed')
    }
  }
}
