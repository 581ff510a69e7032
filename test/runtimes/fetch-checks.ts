/**
 * The fetch adapter (`keyward/fetch`) serving the same contract as the Hono app in http-checks.ts,
 * with no framework: a bare `(request, ...rest) => Response` for `Bun.serve`, `Deno.serve` and a
 * Worker's `fetch(request, env, ctx)`. Mounted under {@link FETCH_BASE}; `httpChecks(base + FETCH_BASE, 'fetch')`
 * checks it. Both `withAuth` and `authenticateRequest` are used.
 */
import type { Keyward } from 'keyward'
import { authenticateRequest, withAuth } from '../../adapters/fetch.js'
import { setupKeys } from './http-checks.js'

/** Where the fetch app is mounted. */
export const FETCH_BASE = '/fetch'

const STATS = /^\/api\/projects\/([^/]+)\/stats$/

/** The fetch app: `/__setup`, the stats route (read scope, project from the path), `/api/admin` (admin scope). */
export function buildFetchApp(kw: Keyward): (request: Request, ...rest: unknown[]) => Promise<Response> {
  const stats = withAuth<unknown[]>(kw, async (_request, auth) => Response.json({ org: auth.org, keyId: auth.keyId }), {
    scopes: 'read',
    project: (request) => STATS.exec(path(request))?.[1],
    // The Hono app's preflight reaches its handler; here the preflight hook answers it.
    preflight: () => new Response(null, { status: 204, headers: { 'x-handler': 'reached' } }),
  })
  return async (request, ...rest) => {
    const at = path(request)
    if (at === '/__setup' && request.method === 'POST') return Response.json(await setupKeys(kw))
    if (STATS.test(at) && (request.method === 'GET' || request.method === 'OPTIONS')) return stats(request, ...rest)
    if (at === '/api/admin' && request.method === 'DELETE') {
      const result = await authenticateRequest(kw, request, { scopes: 'admin' })
      return result.ok ? new Response('deleted', { headers: result.headers }) : result.response
    }
    return new Response('not found', { status: 404 })
  }
}

function path(request: Request): string {
  const { pathname } = new URL(request.url)
  return pathname.startsWith(FETCH_BASE) ? pathname.slice(FETCH_BASE.length) : pathname
}
