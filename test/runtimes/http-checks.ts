/**
 * The adapters' contract over real HTTP: `buildApp()` (Hono) and `buildFetchApp()` (fetch-checks.ts)
 * run inside the runtime under test (Bun.serve, Deno.serve, workerd), `httpChecks()` talks to
 * either with `fetch` from wherever.
 */
import { Hono } from 'hono'
import type { Keyward } from 'keyward'
import { authenticate, requireScopes, type KeywardVariables } from '../../adapters/hono.js'
import { assert, type Check } from './checks.js'

/** The keys `POST /__setup` creates inside the runtime, for the client to use. */
export interface SetupKeys {
  read: string
  origin: string
  limited: string
}

/**
 * The app under test. `POST /__setup` creates keys inside a request (a Worker may not draw random
 * values at module scope).
 */
export function buildApp(kw: Keyward): Hono<{ Variables: KeywardVariables }> {
  const app = new Hono<{ Variables: KeywardVariables }>()
  app.post('/__setup', async (c) => c.json(await setupKeys(kw)))
  const stats = authenticate(kw, { scopes: 'read', project: (c) => c.req.param('projectId') })
  app.get('/api/projects/:projectId/stats', stats, (c) => c.json({ org: c.get('auth').org, keyId: c.get('auth').keyId }))
  app.options('/api/projects/:projectId/stats', stats, (c) => c.body(null, 204, { 'x-handler': 'reached' }))
  app.delete('/api/admin', authenticate(kw), requireScopes('admin'), (c) => c.text('deleted'))
  return app
}

/** Creates the keys the checks use (inside a request: a Worker may not draw random values at module scope). */
export async function setupKeys(kw: Keyward): Promise<SetupKeys> {
  const create = async (extra: object) => (await kw.keys.create({ name: 'http check', orgId: 'org_1', projects: ['p1'], ...extra })).key
  return {
    read: await create({ scopes: ['read'] }),
    origin: await create({ allowedOrigins: ['app.example'] }),
    limited: await create({ rateLimit: { limit: 2, windowMs: 60_000 } }),
  }
}

async function problem(response: Response): Promise<{ status: number; code: string | undefined }> {
  const type = response.headers.get('content-type') ?? ''
  assert(type.startsWith('application/problem+json'), `a ${response.status} refusal came as ${type || 'no content type'}`)
  const body = (await response.json()) as { code?: string }
  return { status: response.status, code: body.code }
}

/** The checks, against the app served at `base` (no trailing slash), named `<label>: ...`. */
export function httpChecks(base: string, label = 'http'): Check[] {
  let keys: SetupKeys | undefined
  const get = (path: string, headers: Record<string, string> = {}) => fetch(`${base}${path}`, { headers })
  const need = () => {
    assert(keys !== undefined, 'set-up did not run')
    return keys
  }
  const checks: Check[] = [
    {
      name: 'http: set-up creates keys inside a request',
      async run() {
        const response = await fetch(`${base}/__setup`, { method: 'POST' })
        if (response.status !== 200) assert(false, `set-up answered ${response.status}: ${await response.text()}`)
        keys = (await response.json()) as SetupKeys
      },
    },
    {
      name: 'http: no credential is 401 with a Bearer challenge and a problem body',
      async run() {
        const response = await get('/api/projects/p1/stats')
        assert(
          (response.headers.get('www-authenticate') ?? '').startsWith('Bearer realm='),
          `challenge: ${response.headers.get('www-authenticate')}`,
        )
        const p = await problem(response)
        assert(p.status === 401 && p.code === 'missing_credentials', `got ${p.status} ${p.code}`)
      },
    },
    {
      name: 'http: a valid key reaches the handler with auth set',
      async run() {
        const response = await get('/api/projects/p1/stats', { authorization: `Bearer ${need().read}` })
        assert(response.status === 200, `got ${response.status}`)
        const body = (await response.json()) as { org?: string }
        assert(body.org === 'org_1', `auth.org was ${body.org}`)
      },
    },
    {
      name: 'http: invalid key 401, wrong project 403, missing scope 403',
      async run() {
        const key = need().read
        const typo = key.slice(0, -1) + (key.endsWith('a') ? 'b' : 'a')
        const invalid = await problem(await get('/api/projects/p1/stats', { 'x-api-key': typo }))
        assert(invalid.status === 401 && invalid.code === 'invalid_token', `invalid key: ${invalid.status} ${invalid.code}`)
        const project = await problem(await get('/api/projects/p2/stats', { 'x-api-key': key }))
        assert(project.status === 403 && project.code === 'project_forbidden', `wrong project: ${project.status} ${project.code}`)
        const response = await fetch(`${base}/api/admin`, { method: 'DELETE', headers: { 'x-api-key': key } })
        assert((response.headers.get('www-authenticate') ?? '').includes('error="insufficient_scope"'), 'no insufficient_scope challenge')
        const scope = await problem(response)
        assert(scope.status === 403 && scope.code === 'insufficient_scope', `missing scope: ${scope.status} ${scope.code}`)
      },
    },
    {
      name: 'http: origin-bound key refused from another origin',
      async run() {
        const key = need().origin
        assert(
          (await get('/api/projects/p1/stats', { 'x-api-key': key, origin: 'https://app.example' })).status === 200,
          'the allowed origin was refused',
        )
        const p = await problem(await get('/api/projects/p1/stats', { 'x-api-key': key, origin: 'https://evil.example' }))
        assert(p.status === 403 && p.code === 'origin_forbidden', `foreign origin: ${p.status} ${p.code}`)
      },
    },
    {
      name: 'http: 429 past the quota, with Retry-After and RateLimit headers',
      async run() {
        const key = need().limited
        for (let i = 0; i < 2; i++) {
          const ok = await get('/api/projects/p1/stats', { 'x-api-key': key })
          assert(ok.status === 200, `call ${i + 1} of 2 got ${ok.status}`)
          assert(ok.headers.get('ratelimit-policy') !== null && ok.headers.get('ratelimit') !== null, 'no RateLimit headers on a success')
        }
        const response = await get('/api/projects/p1/stats', { 'x-api-key': key })
        assert(Number(response.headers.get('retry-after')) > 0, `Retry-After: ${response.headers.get('retry-after')}`)
        const p = await problem(response)
        assert(p.status === 429 && p.code === 'rate_limited', `call 3: ${p.status} ${p.code}`)
      },
    },
    {
      name: 'http: CORS preflight passes unauthenticated',
      async run() {
        const response = await fetch(`${base}/api/projects/p1/stats`, {
          method: 'OPTIONS',
          headers: { origin: 'https://app.example', 'access-control-request-method': 'GET' },
        })
        assert(response.status === 204 && response.headers.get('x-handler') === 'reached', `preflight got ${response.status}`)
      },
    },
    {
      name: 'http: two different credentials, or one in the URL, are 400',
      async run() {
        const k = need()
        const two = await problem(await get('/api/projects/p1/stats', { authorization: `Bearer ${k.read}`, 'x-api-key': k.origin }))
        assert(two.status === 400 && two.code === 'invalid_request', `two credentials: ${two.status} ${two.code}`)
        const inUrl = await problem(await get(`/api/projects/p1/stats?api_key=${k.read}`, { 'x-api-key': k.read }))
        assert(inUrl.status === 400 && inUrl.code === 'invalid_request', `credential in the URL: ${inUrl.status} ${inUrl.code}`)
      },
    },
  ]
  return checks.map((check) => ({ ...check, name: check.name.replace(/^http:/, `${label}:`) }))
}
