/**
 * A Bklit-style tracking API on Hono, served by `@hono/node-server`, behind keyward. Run it with
 * `PORT=3000 npx tsx examples/hono-server.ts`; it mints a key and prints curl lines to try. On Workers, Deno or Bun
 * only the last lines change (export the app, pass that runtime's `getConnInfo`).
 *
 * Copy it as it is: it imports `keyward` and its adapter by the package's name. In this repository
 * tsconfig.json `paths` maps those names to the source, so it runs without a build.
 */
import type { AddressInfo } from 'node:net'
import { pathToFileURL } from 'node:url'
import { serve, type ServerType } from '@hono/node-server'
import { getConnInfo } from '@hono/node-server/conninfo'
import { Hono, type Context } from 'hono'
import { createKeyward, type Keyward } from 'keyward'
import { authenticate } from 'keyward/hono'

// Hono caches the parsed body, so the handler reads it again for free.
const projectFromBody = async (c: Context): Promise<unknown> =>
  ((await c.req.json().catch(() => null)) as { projectId?: unknown } | null)?.projectId

/**
 * The example's routes: `POST /api/track` (project in the JSON body, `write` scope) and
 * `GET /api/projects/:projectId/stats` (`read` scope).
 *
 * @example
 * ```ts
 * serve({ fetch: createApp(createKeyward({ prefix: 'bsk' })).fetch, port: 3000 })
 * ```
 */
export function createApp(kw: Keyward): Hono {
  const app = new Hono()

  app.post('/api/track', authenticate(kw, { scopes: 'write', project: projectFromBody, getConnInfo }), async (c) => {
    // authenticate() refused any body without a projectId this key may use (403).
    const projectId = await projectFromBody(c)
    return c.json({ accepted: true, projectId, keyId: c.get('auth').keyId })
  })

  app.get(
    '/api/projects/:projectId/stats',
    authenticate(kw, { scopes: 'read', project: (c) => c.req.param('projectId'), getConnInfo }),
    (c) => c.json({ projectId: c.req.param('projectId'), org: c.get('auth').org, pageviews: 1284 }),
  )

  return app
}

/**
 * Starts the example on 127.0.0.1:`port` (0: any free port) with one freshly minted key.
 *
 * @example
 * ```ts
 * const { url, key, close } = await start(3000)
 * ```
 */
export async function start(port: number, kw: Keyward = createKeyward({ prefix: 'bsk' })) {
  const { key } = await kw.keys.create({ name: 'Example website', orgId: 'org_example', projects: ['prod-site'], scopes: ['write'] })
  const server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: createApp(kw).fetch, port, hostname: '127.0.0.1' }, () => resolve(s))
  })
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return { kw, key, url, server, close: () => new Promise<void>((resolve) => server.close(() => resolve())) }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { url, key } = await start(Number(process.env.PORT ?? 3000))
  // Each curl prints the body, then the status on its own last line.
  const show = `-s -w '\\n%{http_code}\\n'`
  const track = `-X POST ${url}/api/track -H 'Content-Type: application/json' -d '{"projectId":"prod-site"}'`
  console.log(`Hono example listening on ${url}
Key (write, project prod-site), minted at start, in memory: ${key}

Paste these:
# expect 200: the key reads its project
curl ${show} ${url}/api/projects/prod-site/stats -H 'Authorization: Bearer ${key}'

# expect 200: the key tracks an event (project in the body)
curl ${show} ${track} -H 'Authorization: Bearer ${key}'

# expect 401: no key
curl ${show} ${track}

# expect 403: a project the key does not list
curl ${show} ${url}/api/projects/other-site/stats -H 'X-API-Key: ${key}'
`)
}
